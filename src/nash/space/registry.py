"""The strategy registry: a dict of ``Strategy`` classes plus register / get / create / list."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, TypeVar

from nash.errors import GenotypeError

if TYPE_CHECKING:  # for annotations only: at run time the registry imports nothing of nash.space
    from nash.space.strategy import Strategy

__all__ = ["register_strategy", "get_strategy", "create_strategy", "list_strategies"]

_STRATEGIES: dict[str, type[Strategy]] = {}
S = TypeVar("S", bound="type[Strategy]")


def register_strategy(cls: S) -> S:
    """Register a ``Strategy`` subclass under its ``name`` (class decorator); a repeat warns."""
    if cls.name in _STRATEGIES:
        warnings.warn(f"strategy {cls.name!r} registered twice; the later one wins", stacklevel=2)
    _STRATEGIES[cls.name] = cls
    return cls


def _lookup(name: str) -> type[Strategy]:
    if not isinstance(name, str) or name not in _STRATEGIES:
        raise GenotypeError(f"unknown strategy {name!r}; valid strategies: {', '.join(list_strategies())}")
    return _STRATEGIES[name]


def get_strategy(name: str) -> Strategy:
    """The strategy ``name`` with default settings (``unfriendly`` = max-pool and identity).

    Example:
        >>> from nash.space import Edge
        >>> get_strategy("v4").candidates(Edge(cell=0, src=0, dst=1, size_changing=False))
        ('zero', 'conv_1x1', 'conv_3x3', 'conv_5x5')
    """
    return _lookup(name)()


def create_strategy(name: str, **kwargs: Any) -> Strategy:
    """A new strategy ``name`` built with ``kwargs`` (e.g. ``unfriendly={"max_pool_3x3"}``)."""
    return _lookup(name)(**kwargs)


def list_strategies(filter: str | None = None) -> list[str]:
    """Sorted registered strategy names, optionally only those containing ``filter``."""
    return sorted(n for n in _STRATEGIES if filter is None or filter in n)
