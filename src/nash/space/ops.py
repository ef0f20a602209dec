"""The NASH operation vocabulary (paper Table I) and the names the reference code uses for it.

Every alpha matrix has one column per entry of ``OPS``, in this order (op0..op5 of the paper).
"""

from __future__ import annotations

from collections.abc import Iterable

from nash.errors import GenotypeError

__all__ = ["OPS", "OP_ALIASES", "DEFAULT_UNFRIENDLY", "canonical_op", "op_index", "check_ops"]

OPS: tuple[str, ...] = ("zero", "max_pool_3x3", "identity", "conv_1x1", "conv_3x3", "conv_5x5")

# Names used by the published reference code (DARTS vocabulary) -> this project's names.
OP_ALIASES: dict[str, str] = {"none": "zero", "skip_connect": "identity"}

# Ops that cannot sit on a size-changing edge (stride 2, channels x2) without an extra concat layer.
# The paper text names only max-pool; the reference code also treats identity (skip_connect) so.
DEFAULT_UNFRIENDLY: frozenset[str] = frozenset({"max_pool_3x3", "identity"})


def canonical_op(name: str) -> str:
    """Return the project name of ``name`` (accepting reference aliases such as ``skip_connect``).

    Raises:
        GenotypeError: the name is neither an op nor an alias; the message lists the valid ops.

    Example:
        >>> canonical_op("skip_connect")
        'identity'
    """
    if not isinstance(name, str):
        raise GenotypeError(f"op name must be a string, got {name!r}; valid ops: {', '.join(OPS)}")
    op = OP_ALIASES.get(name, name)
    if op not in OPS:
        aliases = ", ".join(f"{k}->{v}" for k, v in OP_ALIASES.items())
        raise GenotypeError(f"unknown op {name!r}; valid ops: {', '.join(OPS)} (aliases: {aliases})")
    return op


def op_index(name: str) -> int:
    """Column of ``name`` in every alpha matrix (its position in ``OPS``)."""
    return OPS.index(canonical_op(name))


def check_ops(names: Iterable[str]) -> frozenset[str]:
    """Canonicalise a set of op names (e.g. an ``unfriendly`` set); raises on an unknown name."""
    return frozenset(canonical_op(n) for n in names)
