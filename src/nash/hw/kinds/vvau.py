"""VVAU (vector-vector-activation unit): depthwise convolution, finn-cost-model.md §4.2, §5 and §7.

Fields: C channels, each with its own kh x kw kernel over an (OH, OW) output map (plus the
weight/accumulator datatypes, fused thresholds and memory choices shared with MVAU in
``mac.py``). Folding: PE | C, SIMD | kh*kw; SetFolding raises PE first, then SIMD, and sets the
SIMD (and RTL parallel_window) of the depthwise SWG feeding it. FINN v0.9 is costed with the
current formulas (the spec has no older VVAU model).
"""

from __future__ import annotations

import dataclasses
import math

from nash.hw.costs import CostContext, LayerCost
from nash.hw.enums import Backend, Generation, MemMode, RamStyle
from nash.hw.kinds.mac import MacLayer, acc_bound, dsp_hls, lut_hls_core
from nash.hw.kinds.mvau import bram_ladder
from nash.hw.layers import HwLayer, meets

__all__ = ["VVAU"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class VVAU(MacLayer):
    """Depthwise convolution of ``channels`` maps with ``kernel`` (kh, kw) to ``ofm_dim`` (OH, OW)."""

    kind = "VVAU"
    v09_name = "VectorVectorActivation"
    fold_attrs = ("PE", "SIMD")

    kernel: tuple[int, int] = (1, 1)
    ofm_dim: tuple[int, int] = (1, 1)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive(Channels=self.channels)

    @property
    def taps(self) -> int:
        """kh * kw: products per output."""
        return self.kernel[0] * self.kernel[1]

    def fold_bounds(self) -> dict[str, int]:
        """PE | C, SIMD | kh*kw."""
        return {"PE": self.channels, "SIMD": self.taps}

    def pick_backend(self, generation: str, dsp_block: str) -> Backend:
        """§5: RTL only on Versal (DSP58) with the RTL operand rule, else HLS."""
        rtl = generation != Generation.FINN_09 and dsp_block == "DSP58" and self.rtl_operands_ok()
        return Backend.RTL if rtl else Backend.HLS

    def fold(self, target: float, ctx: CostContext, wwidth_max: int) -> VVAU:
        """§7: SIMD 1, least PE up to C; at PE = C still missing the target, least SIMD up to kh*kw."""
        layer = dataclasses.replace(self, simd=1).least_parallel("pe", self.channels, target, ctx)
        if layer.pe == self.channels and not meets(layer.cost(ctx).cycles, target, ctx):
            layer = layer.least_parallel("simd", self.taps, target, ctx)
        return layer

    def fold_producer(self, producer: HwLayer) -> HwLayer:
        """§7: the SWG feeding a VVAU gets SIMD = PE; an RTL one parallel_window = (SIMD > 1)."""
        if producer.kind != "ConvolutionInputGenerator":
            return producer
        window = self.simd > 1 if producer.backend == Backend.RTL else producer.parallel_window
        return dataclasses.replace(producer, simd=self.pe, parallel_window=window)

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.2 VVAU_hls: cycles, BRAM (VVAU ladder), URAM, LUT (no threshold gate), DSP P*ceil((W+A)/48)."""
        return LayerCost(
            cycles=self._cycles(),
            lut=self._lut_hls(),
            bram18=self._bram18(),
            uram=self._uram(),
            dsp=dsp_hls(self, 1),
        )

    def cost_rtl(self, ctx: CostContext) -> LayerCost:
        """§4.2 VVAU_rtl (Versal): LUT 0, DSP P*ceil(SIMD/3); memory as HLS."""
        dsp = self.pe * math.ceil(self.simd / 3)
        return LayerCost(cycles=self._cycles(), lut=0, bram18=self._bram18(), uram=self._uram(), dsp=dsp)

    def _cycles(self) -> int:
        # int((C * kh * kw / PE / SIMD) * OH * OW)
        return int((self.channels * self.taps / self.pe / self.simd) * self.ofm_dim[0] * self.ofm_dim[1])

    def _wmem(self) -> float:
        return self.taps * self.channels / self.pe / self.simd

    def _bram18(self) -> int:
        wmem, mode, style = self._wmem(), self.mem_mode, self.ram_style
        if mode == MemMode.EXTERNAL or (
            mode == MemMode.INTERNAL_DECOUPLED and style in (RamStyle.DISTRIBUTED, RamStyle.ULTRA)
        ):
            return 0
        if wmem <= 128 and (style == RamStyle.AUTO or mode == MemMode.INTERNAL_EMBEDDED):
            return 0
        return bram_ladder(wmem, self.simd * self.weight_bits * self.pe, divisors=(8, 16, 32))

    def _uram(self) -> int:
        if self.mem_mode != MemMode.INTERNAL_DECOUPLED or self.ram_style != RamStyle.ULTRA:
            return 0
        return math.ceil(self.simd * self.weight_bits * self.pe / 72) * math.ceil(self._wmem() / 4096)

    def _lut_hls(self) -> int:
        # as MVAU_hls with log2(kh*kw) in the accumulator bound; thresholds whenever fused, TMEM/64 unrounded
        p, wmem = self.pe, self._wmem()
        c2 = p * self.simd * self.weight_bits * math.ceil(wmem / 64) if self.weight_lutram(wmem) else 0
        acc = acc_bound(self, self.taps)
        thr = cmp = 0
        if not self.no_activation:
            levels = 2**self.output_bits - 1
            thr, cmp = levels * acc * (self.channels / p) / 64, levels * acc
        return int(300 + 1.1 * p * (lut_hls_core(self) + acc + thr + cmp) + c2)
