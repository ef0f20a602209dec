"""Per-layer cost models: a registry from FINN op type (with back-end) to an estimator.

How to add a cost model:
    Write ``def my_op(layer: HwLayer, ctx: CostContext) -> LayerCost`` in a ``cost_*.py`` module,
    decorate it with ``@register_estimator("MyOp_hls")`` and cite in its docstring the section of
    ``finn-cost-model.md`` it implements. Add the module to ``_BUILTIN_MODULES``. A layer whose
    op type has no estimator is reported as unsupported by ``nash.hw.estimate``, never costed as 0.

Units: ``cycles`` are clock cycles per frame (batch 1); ``lut`` LUTs; ``bram18`` RAMB18 tiles;
``uram`` UltraRAM blocks; ``dsp`` DSP slices.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from nash.hw.layers import HwLayer

__all__ = [
    "LayerCost",
    "CostContext",
    "Estimator",
    "register_estimator",
    "get_estimator",
    "create_cost",
    "list_estimators",
    "RESOURCES",
]

RESOURCES: tuple[str, ...] = ("lut", "bram18", "uram", "dsp")


@dataclass(frozen=True)
class LayerCost:
    """Cycles per frame and resource estimate of one layer."""

    cycles: int
    lut: float = 0.0
    bram18: float = 0.0
    uram: float = 0.0
    dsp: float = 0.0


@dataclass(frozen=True)
class CostContext:
    """Settings every estimator may read: formula generation and the DSP primitive of the part."""

    generation: str = "current"  # "current" (§4) | "finn-0.9" (§11)
    dsp_block: str = "DSP48E2"  # "DSP48E1" (7-series) | "DSP48E2" | "DSP58" (Versal)


Estimator = Callable[[HwLayer, CostContext], LayerCost]
_ESTIMATORS: dict[str, Estimator] = {}
_BUILTIN_MODULES = ("nash.hw.cost_mvau", "nash.hw.cost_swg", "nash.hw.cost_stream")


def register_estimator(key: str) -> Callable[[Estimator], Estimator]:
    """Decorator registering an estimator under ``<OpType>_<backend>`` (e.g. ``MVAU_hls``)."""

    def deco(fn: Estimator) -> Estimator:
        if key in _ESTIMATORS and _ESTIMATORS[key] is not fn:
            warnings.warn(f"cost estimator {key!r} registered twice; the last one wins", stacklevel=2)
        _ESTIMATORS[key] = fn
        return fn

    return deco


def _load_builtins() -> None:
    for mod in _BUILTIN_MODULES:
        importlib.import_module(mod)


def list_estimators() -> list[str]:
    """Registered keys, sorted."""
    _load_builtins()
    return sorted(_ESTIMATORS)


def get_estimator(key: str) -> Estimator:
    """The estimator for ``<OpType>_<backend>``; unknown keys raise ``ValueError`` naming the choices."""
    _load_builtins()
    if key not in _ESTIMATORS:
        raise ValueError(f"no cost model for {key!r}; registered: {', '.join(sorted(_ESTIMATORS))}")
    return _ESTIMATORS[key]


def create_cost(layer: HwLayer, ctx: CostContext | None = None) -> LayerCost:
    """Cost of one layer with the registered estimator for its op type and back-end."""
    return get_estimator(f"{layer.op_type}_{layer.backend}")(layer, ctx or CostContext())
