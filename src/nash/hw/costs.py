"""Cost records: what one layer costs (``LayerCost``) and the settings every cost model reads.

The cost models themselves live with their layer kinds (``nash.hw.kinds``): ``layer.cost(ctx)``
dispatches on the layer's back-end. A kind without a model for a back-end raises
``NoCostModelError``; ``nash.hw.estimate`` reports such layers as unsupported, never as 0. Any
other exception is a bug or a malformed layer and propagates.

Units: ``cycles`` are clock cycles per frame (batch 1); ``lut`` LUTs; ``bram18`` RAMB18 tiles;
``uram`` UltraRAM blocks; ``dsp`` DSP slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nash.errors import HardwareError

__all__ = ["LayerCost", "CostContext", "NoCostModelError", "create_cost", "RESOURCES"]

RESOURCES: tuple[str, ...] = ("lut", "bram18", "uram", "dsp")


class NoCostModelError(HardwareError):
    """A layer kind has no cost model for the requested back-end."""


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
    """Settings every cost model may read: formula generation and the DSP primitive of the part."""

    generation: str = "current"  # "current" (§4) | "finn-0.9" (§11) | "finn-plus"; or a Generation
    dsp_block: str = "DSP48E2"  # "DSP48E1" (7-series) | "DSP48E2" | "DSP58" (Versal)


def create_cost(layer: Any, ctx: CostContext | None = None) -> LayerCost:
    """Cost of one layer (``layer.cost``) under ``ctx`` (default: current formulas, DSP48E2)."""
    return layer.cost(ctx or CostContext())
