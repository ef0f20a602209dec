"""MVAU (matrix-vector-activation unit): conv/FC layers, finn-cost-model.md §4.1, §5, §7 and §11.

Fields: the MW x MH weight matrix (plus the weight/accumulator datatypes, fused thresholds and
memory/multiplier choices shared with VVAU in ``mac.py``). Folding: PE | MH, SIMD | MW; SetFolding raises SIMD
first, capped by the weight-stream width ``W_quant * SIMD <= mvau_wwidth_max``, then PE.
"""

from __future__ import annotations

import dataclasses
import math

from nash.hw.costs import CostContext, LayerCost
from nash.hw.enums import Backend, Generation, MemMode, RamStyle
from nash.hw.kinds.mac import MacLayer, acc_bound, dsp_hls, lut_hls_core
from nash.hw.layers import divisors, meets

_AP_INT_MAX = 8191  # widest HLS ap_int (FINN+ MAX_ALLOWED_AP_INT_W)

__all__ = ["MVAU", "bram_ladder", "mvau_cycles", "mvau_bram18", "mvau_uram", "mvau_lut_hls"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class MVAU(MacLayer):
    """Matrix-vector-activation unit: an MW x MH weight matrix applied to prod(NIV) input vectors."""

    kind = "MVAU"
    v09_name = "MatrixVectorActivation"
    fold_attrs = ("PE", "SIMD")

    mw: int  # matrix width: inputs per output
    mh: int  # matrix height: outputs
    binary: bool = False  # binaryXnorMode

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive(MW=self.mw, MH=self.mh)

    def fold_bounds(self) -> dict[str, int]:
        """PE | MH, SIMD | MW."""
        return {"PE": self.mh, "SIMD": self.mw}

    def pick_backend(self, generation: str, dsp_block: str) -> Backend:
        """§5: RTL MVU needs the RTL operand rule, no XNOR, and narrow weights on DSP48E1."""
        if generation == Generation.FINN_09:
            return Backend.HLS
        rtl = self.rtl_operands_ok() and not self.binary and (dsp_block != "DSP48E1" or self.weight_narrow)
        return Backend.RTL if rtl else Backend.HLS

    def fold(self, target: float, ctx: CostContext, wwidth_max: int) -> MVAU:
        """SIMD first (the target check comes before the width cap, as in FINN), then PE."""
        layer = prev = dataclasses.replace(self, pe=1, simd=1)
        for d in divisors(layer.mw):
            cand = dataclasses.replace(layer, simd=d)
            if meets(cand.cost(ctx).cycles, target, ctx):
                prev = cand
                break
            if layer._fold_wbits(ctx) * d > wwidth_max:
                break  # keep the previous SIMD
            prev = cand
        if ctx.generation == Generation.FINN_PLUS and prev.mem_mode == MemMode.INTERNAL_DECOUPLED:
            return prev._plus_pe(target, ctx)
        return prev.least_parallel("pe", layer.mh, target, ctx)

    def _fold_wbits(self, ctx: CostContext) -> int:
        """Weight width SetFolding caps: the quantiser's (FINN minimises after folding); under
        finn-plus the minimised one (nash.finn minimises before specialisation and folding)."""
        return self.weight_bits if ctx.generation == Generation.FINN_PLUS else self.weight_bits_quant

    def _plus_pe(self, target: float, ctx: CostContext) -> MVAU:
        """FINN+ SetFolding: PE up to MH, but an HLS MVAU keeps its weight stream (PE*SIMD*W_quant)
        within ap_int's 8191 bits (the last PE below that is kept)."""
        layer = prev = dataclasses.replace(self, pe=1)
        for d in divisors(self.mh):
            layer = dataclasses.replace(self, pe=d)
            if self.backend == Backend.HLS and d * self.simd * self._fold_wbits(ctx) > _AP_INT_MAX:
                return prev
            if meets(layer.cost(ctx).cycles, target, ctx):
                return layer
            prev = layer
        return layer

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.1 MVAU_hls (current) / §11 MatrixVectorActivation (finn-0.9)."""
        return LayerCost(
            cycles=mvau_cycles(self),
            lut=mvau_lut_hls(self, ctx.generation),
            bram18=mvau_bram18(self),
            uram=mvau_uram(self),
            dsp=dsp_hls(self, self.simd),
        )

    def cost_rtl(self, ctx: CostContext) -> LayerCost:
        """§4.1 MVAU_rtl: LUT 0, DSP58 -> P*ceil(Q/3), DSP48E1/E2 -> ceil(P/4)*Q; memory as HLS."""
        if ctx.dsp_block == "DSP58":
            dsp = self.pe * math.ceil(self.simd / 3)
        else:
            dsp = math.ceil(self.pe / 4) * self.simd
        return LayerCost(
            cycles=mvau_cycles(self), lut=0, bram18=mvau_bram18(self), uram=mvau_uram(self), dsp=dsp
        )


def mvau_cycles(layer: MVAU) -> int:
    """§4.1: int((MH/PE) * (MW/SIMD) * prod(NIV))."""
    return int((layer.mh / layer.pe) * (layer.mw / layer.simd) * layer.niv_prod)


def bram_ladder(depth: float, width: int, divisors: tuple[int, int, int] = (9, 18, 36)) -> int:
    """§4.1 RAMB18 aspect-ratio table: RAMB18 count for a ``depth`` x ``width`` memory."""
    d9, d18, d36 = divisors
    if width == 1:
        return math.ceil(depth / 16384)
    if width == 2:
        return math.ceil(depth / 8192)
    if width <= 4:
        return math.ceil(depth / 4096) * math.ceil(width / 4)
    if width <= 9:
        return math.ceil(depth / 2048) * math.ceil(width / d9)
    if width <= 18 or depth > 512:
        return math.ceil(depth / 1024) * math.ceil(width / d18)
    return math.ceil(depth / 512) * math.ceil(width / d36)


def _wmem(layer: MVAU) -> float:
    return layer.mw * layer.mh / (layer.pe * layer.simd)


def mvau_bram18(layer: MVAU) -> int:
    """§4.1 BRAM_18K: zero for distributed/ultra decoupled, small embedded, external; else the ladder."""
    wmem, mode, style = _wmem(layer), layer.mem_mode, layer.ram_style
    if mode == MemMode.EXTERNAL or (
        mode == MemMode.INTERNAL_DECOUPLED and style in (RamStyle.DISTRIBUTED, RamStyle.ULTRA)
    ):
        return 0
    if mode == MemMode.INTERNAL_EMBEDDED and wmem <= 128:
        return 0
    return bram_ladder(wmem, layer.simd * layer.weight_bits * layer.pe)


def mvau_uram(layer: MVAU) -> int:
    """§4.1 URAM: decoupled+ultra, or embedded with WMEM > 128 (FINN quirk): ceil(m/72)*ceil(WMEM/4096)."""
    wmem, mode = _wmem(layer), layer.mem_mode
    if mode == MemMode.EXTERNAL or (mode == MemMode.INTERNAL_DECOUPLED and layer.ram_style != RamStyle.ULTRA):
        return 0
    if mode == MemMode.INTERNAL_EMBEDDED and wmem <= 128:
        return 0
    return math.ceil(layer.simd * layer.weight_bits * layer.pe / 72) * math.ceil(wmem / 4096)


def mvau_lut_hls(layer: MVAU, generation: str = "current") -> int:
    """§4.1 HLS LUT (FINN-R model); ``generation="finn-0.9"`` uses the §11 accumulator and thresholds.

    LUT = int(300 + 1.1*P*(mult + addertree + acc + thr + cmp) + c2).
    """
    p, q, w = layer.pe, layer.simd, layer.weight_bits
    wmem = _wmem(layer)
    c2 = p * q * w * math.ceil(wmem / 64) if layer.weight_lutram(wmem) else 0
    if generation == Generation.FINN_09:
        acc = w + layer.input_bits + math.ceil(math.log2(layer.mw))
        count_thr = not layer.no_activation
    else:
        acc = acc_bound(layer, layer.mw)
        count_thr = not layer.no_activation and layer.ram_style_thresholds == RamStyle.DISTRIBUTED
    thr = cmp = 0
    if count_thr:
        levels = 2**layer.output_bits - 1
        thr = levels * acc * math.ceil((layer.mh / p) / 64)
        cmp = levels * acc
    return int(300 + 1.1 * p * (lut_hls_core(layer) + acc + thr + cmp) + c2)
