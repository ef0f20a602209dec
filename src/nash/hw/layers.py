"""The dataflow-layer base class: what every FINN layer kind has, and the hooks a kind overrides.

A layer is a frozen record of one FINN node: the fields every kind shares live here (name, graph
links, stream datatypes, PE/SIMD); each kind in ``nash.hw.kinds`` subclasses ``HwLayer`` with its
own fields (an MVAU's matrix and memory mode, a sliding window's kernel ...) and overrides the hooks
below. A folded design is a tuple of layers; change one with ``dataclasses.replace``.

Field names follow FINN's node attributes (finn-cost-model.md §4) in snake case: ``niv`` is
numInputVectors, ``channels`` is NumChannels/IFMChannels/Channels/Labels.

Hooks of a kind (class attributes and methods):
    ``kind`` FINN op type without back-end; ``v09_name`` its FINN v0.9 node-name stem;
    ``fold_attrs`` its folding attributes (``PE``, ``SIMD``); ``rtl`` whether the current FINN
    specialises it to RTL; ``fold_bounds`` (legal values = divisors), ``check_folding``,
    ``fold`` (its SetFolding policy), ``cost_hls``/``cost_rtl`` (cycles and resources),
    ``folding_entry`` (folding-config JSON) and ``record`` (estimate.json fields).
"""

from __future__ import annotations

import dataclasses
import math
from enum import StrEnum
from typing import Any, ClassVar

from nash.errors import FoldingError, HardwareError
from nash.hw.costs import CostContext, LayerCost, NoCostModelError
from nash.hw.enums import Backend, Generation, parse_choice

__all__ = ["HwLayer", "divisors", "meets", "stream_cycles"]


def divisors(n: int) -> list[int]:
    """Divisors of ``n`` in increasing order."""
    return [d for d in range(1, n + 1) if n % d == 0]


def meets(cycles: float, target: float, ctx: CostContext) -> bool:
    """SetFolding's stop test: ``cycles < target`` in FINN (§7), ``cycles <= target`` in FINN+ 1.6.1."""
    return cycles <= target if ctx.generation == Generation.FINN_PLUS else cycles < target


@dataclasses.dataclass(frozen=True, kw_only=True)
class HwLayer:
    """One dataflow layer: graph links, stream datatypes and folding shared by every kind."""

    kind: ClassVar[str] = ""  # FINN op type without the back-end suffix, e.g. "MVAU"
    v09_name: ClassVar[str] = ""  # node-name stem in FINN v0.9 (§7.1), e.g. "MatrixVectorActivation"
    plus_kind: ClassVar[str] = (
        ""  # FINN+ op type when it differs from ``kind`` (AddStreams -> ElementwiseAdd)
    )
    fold_attrs: ClassVar[tuple[str, ...]] = ()  # folding attributes: "PE", "SIMD"
    rtl: ClassVar[bool] = False  # current FINN specialises this kind to RTL (§5)
    set_folds: ClassVar[bool] = False  # SetFolding picks the least parallel fold_attrs[0] (§7)

    name: str  # FINN-style unique node name, e.g. "MVAU_hls_0"
    backend: Backend = Backend.HLS
    preds: tuple[str, ...] = ()  # names of producer layers (stream inputs), graph order
    source: tuple[str, ...] = ()  # ONNX node names this layer was lowered from
    channels: int = 0  # NumChannels / IFMChannels / Channels / Labels (0 for an MVAU)
    niv: tuple[int, ...] = (1,)  # numInputVectors (e.g. [1, OH, OW] for a conv)
    input_bits: int = 8
    input_signed: bool = False
    output_bits: int = 8
    output_signed: bool = False
    pe: int = 1
    simd: int = 1
    out_channels: int = 0  # channels of the output stream (for layers added after this one)
    out_niv: tuple[int, ...] = (1,)  # its numInputVectors

    def __post_init__(self) -> None:
        self.coerce_choices(backend=Backend)
        if self.pe < 1 or self.simd < 1:
            raise FoldingError(
                f"{self.name}: PE={self.pe}, SIMD={self.simd} is illegal; legal values: {self.legal_values()}"
            )

    @property
    def op_type(self) -> str:
        """FINN op type without back-end (the kind)."""
        return self.kind

    @property
    def niv_prod(self) -> int:
        """prod(numInputVectors)."""
        return math.prod(self.niv)

    @property
    def fold_dim(self) -> tuple[str, ...]:
        """Names of the folding attributes this kind has (``PE``, ``SIMD``)."""
        return self.fold_attrs

    def require_positive(self, **values: int) -> None:
        """Raise ``HardwareError`` naming the first field that is not >= 1 (a malformed layer)."""
        for key, value in values.items():
            if value < 1:
                raise HardwareError(f"{self.name} ({self.kind}): {key} must be >= 1, got {value}")

    def coerce_choices(self, **choices: type[StrEnum]) -> None:
        """Turn string fields into enum members; a bad value raises ``HardwareError`` with the choices."""
        for key, enum_cls in choices.items():
            value = parse_choice(enum_cls, getattr(self, key), f"{self.name}: {key}", HardwareError)
            object.__setattr__(self, key, value)

    # --- naming and back-end ---------------------------------------------------------------------
    def finn_prefix(self, generation: str) -> str:
        """Op-type part of the FINN node name: ``MVAU_hls`` (current), ``MatrixVectorActivation`` (v0.9),
        ``ElementwiseAdd_hls`` for an AddStreams under finn-plus."""
        if generation == Generation.FINN_09:
            return self.v09_name
        if generation == Generation.FINN_PLUS and self.plus_kind:
            return f"{self.plus_kind}_{self.backend}"
        return f"{self.kind}_{self.backend}"

    def pick_backend(self, generation: str, dsp_block: str) -> Backend:
        """Back-end SpecializeLayers would choose (§5); FINN v0.9 had only HLS layers."""
        if generation == Generation.FINN_09:
            return Backend.HLS
        return Backend.RTL if self.rtl else Backend.HLS

    # --- folding ---------------------------------------------------------------------------------
    def fold_bounds(self) -> dict[str, int]:
        """Each folding attribute's bound: its legal values are the divisors of the bound."""
        return {attr: self.channels for attr in self.fold_attrs}

    def legal_values(self) -> dict[str, list[int]]:
        """Legal values of each folding attribute (empty for unfoldable kinds)."""
        return {attr: divisors(bound) for attr, bound in self.fold_bounds().items()}

    def check_folding(self) -> None:
        """Raise ``FoldingError`` naming the layer and the legal values when PE/SIMD break FINN's rules."""
        for key, legal in self.legal_values().items():
            value = getattr(self, key.lower())
            if value not in legal:
                raise FoldingError(f"{self.name}: {key}={value} is illegal; legal values: {legal}")

    def fold(self, target: float, ctx: CostContext, wwidth_max: int) -> HwLayer:
        """SetFolding policy (§7): the least parallelism with cycles < ``target``.

        Default: with ``set_folds``, the smallest legal value of the first folding attribute that
        reaches the target (else its maximum); otherwise the layer is left as it is.
        """
        if not self.set_folds:
            return self
        attr = self.fold_attrs[0]
        return self.least_parallel(attr.lower(), self.fold_bounds()[attr], target, ctx)

    def fold_producer(self, producer: HwLayer) -> HwLayer:
        """Adjust a producer's folding after this layer was folded (a Pool sets its SWG's SIMD)."""
        return producer

    def least_parallel(self, attr: str, bound: int, target: float, ctx: CostContext) -> HwLayer:
        """§7 helper: smallest divisor of ``bound`` for ``attr`` with cycles < target, else the full unfold."""
        layer = self
        for d in divisors(bound):
            layer = dataclasses.replace(layer, **{attr: d})
            if meets(layer.cost(ctx).cycles, target, ctx):
                break
        return layer

    # --- cost ------------------------------------------------------------------------------------
    def cost(self, ctx: CostContext) -> LayerCost:
        """Cycles and resources with the cost model of this layer's back-end."""
        return self.cost_rtl(ctx) if self.backend == Backend.RTL else self.cost_hls(ctx)

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """HLS back-end cost; kinds without one raise ``NoCostModelError``."""
        raise NoCostModelError(f"{self.name}: no cost model for {self.kind}_hls")

    def cost_rtl(self, ctx: CostContext) -> LayerCost:
        """RTL back-end cost; kinds without one raise ``NoCostModelError``."""
        raise NoCostModelError(f"{self.name}: no cost model for {self.kind}_rtl")

    # --- records ---------------------------------------------------------------------------------
    def folding_entry(self) -> dict[str, Any]:
        """This layer's entry of a FINN folding-config JSON (§7.2)."""
        return {attr: getattr(self, attr.lower()) for attr in self.fold_attrs}

    def record(self) -> dict[str, Any]:
        """Kind-specific fields for estimate.json (tuples as lists, FINN's MW/MH/NIV spelling)."""
        base = {f.name for f in dataclasses.fields(HwLayer)}
        out = {}
        for f in dataclasses.fields(self):
            if f.name not in base:
                value = getattr(self, f.name)
                out[_JSON_KEYS.get(f.name, f.name)] = list(value) if isinstance(value, tuple) else value
        return out


_JSON_KEYS = {"mw": "MW", "mh": "MH"}


def stream_cycles(layer: HwLayer) -> int:
    """prod(NIV) * C / PE: cycles of the element-wise stream kinds (§4.7-§4.10)."""
    return int(layer.niv_prod * layer.channels / layer.pe)
