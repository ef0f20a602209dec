"""ConvolutionInputGenerator (sliding-window generator, SWG), finn-cost-model.md §4.3 and §7.

The RTL back-end is FINN's current default; the HLS back-end is what FINN v0.9 generated. Folding:
SIMD | C; SetFolding raises SIMD, then (RTL, SIMD = C, target still missed) sets parallel_window.
A depthwise SWG (in front of a Pool) is folded by that Pool. Dimensions are (H, W); 1-D maps are
normalised so the long axis is W.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from nash.errors import FoldingError
from nash.hw.costs import CostContext, LayerCost
from nash.hw.enums import Backend, Generation, RamStyle
from nash.hw.kinds.window import WindowLayer
from nash.hw.layers import meets

__all__ = ["ConvolutionInputGenerator", "ram_width_for_depth", "swg_rtl_buffer_depth"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConvolutionInputGenerator(WindowLayer):
    """Sliding-window generator feeding an MVAU (or, depthwise, a Pool)."""

    kind = "ConvolutionInputGenerator"
    v09_name = "ConvolutionInputGenerator"
    fold_attrs = ("SIMD",)
    rtl = True

    dilation: tuple[int, int] = (1, 1)
    depthwise: bool = False
    parallel_window: bool = False
    ram_style: RamStyle = RamStyle.AUTO

    def __post_init__(self) -> None:
        super().__post_init__()
        self.coerce_choices(ram_style=RamStyle)

    def check_folding(self) -> None:
        """SIMD | C; parallel_window=1 needs SIMD = C for a non-depthwise window."""
        super().check_folding()
        if (
            self.parallel_window
            and not self.depthwise
            and self.kernel != (1, 1)
            and self.simd != self.channels
        ):
            raise FoldingError(f"{self.name}: parallel_window=1 needs SIMD={self.channels} (= IFMChannels)")

    def fold(self, target: float, ctx: CostContext, wwidth_max: int) -> ConvolutionInputGenerator:
        """§7: least SIMD reaching the target; RTL at SIMD = C that still misses -> parallel_window."""
        if self.depthwise:
            return self
        layer = dataclasses.replace(self, parallel_window=False).least_parallel(
            "simd", self.channels, target, ctx
        )
        if (
            layer.backend == Backend.RTL
            and layer.simd == layer.channels
            and not meets(layer.cost(ctx).cycles, target, ctx)
        ):
            layer = dataclasses.replace(layer, parallel_window=True)
        return layer

    def folding_entry(self) -> dict[str, Any]:
        """SIMD, ram_style, parallel_window."""
        return super().folding_entry() | {
            "ram_style": self.ram_style,
            "parallel_window": int(self.parallel_window),
        }

    def cost_rtl(self, ctx: CostContext) -> LayerCost:
        """§4.3 ConvolutionInputGenerator_rtl: cycles, BRAM (block/auto), URAM (ultra), LUT (distributed)."""
        ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(self)
        width, depth = self.simd * self.input_bits, swg_rtl_buffer_depth(self)
        mem_depth, n = depth, 1
        if _is_parallel(self):
            mem_depth, n = (iw - ((kw - 1) * dw + 1)) + iw * (dh - 1), kh - 1
            if ih == 1:
                n = 0
        block = self.ram_style in (RamStyle.BLOCK, RamStyle.AUTO)
        bram = int(_bram_count(mem_depth, width) * n) if block and n else 0
        uram = (
            math.ceil(mem_depth / 4096) * math.ceil(width / 72) * n if self.ram_style == RamStyle.ULTRA else 0
        )
        lut = 300 + (width * math.ceil(depth / 38) if self.ram_style == RamStyle.DISTRIBUTED else 0)
        plus = ctx.generation == Generation.FINN_PLUS
        return LayerCost(cycles=_swg_rtl_cycles(self, plus), lut=lut, bram18=bram, uram=uram, dsp=0)

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.3 ConvolutionInputGenerator_hls (FINN v0.9 generation): cycles, BRAM, URAM, LUT."""
        ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(self)
        variant = _hls_variant(self)
        depth, width = _hls_ram_depth(self, variant), self.simd * self.input_bits
        bram = uram = 0
        if variant != "1d_parallel" and self.ram_style in (RamStyle.BLOCK, RamStyle.AUTO):
            width_mul = math.ceil(width / ram_width_for_depth(depth))
            bram = (kh + sh) * width_mul if variant == "2d" else width_mul * math.ceil(depth / 18432)
        if self.ram_style == RamStyle.ULTRA and variant != "1d_parallel":
            if variant == "2d":
                uram = (kh + sh) * math.ceil(width / 64) * math.ceil(depth / 4096)
            else:
                uram = math.ceil(width / 72) * math.ceil(depth / 4096)
        return LayerCost(
            cycles=_swg_hls_cycles(self, variant), lut=_swg_hls_lut(self, variant), bram18=bram, uram=uram
        )


def ram_width_for_depth(depth: float) -> int:
    """§4.3 RAMB18 width chosen from the depth: <=512 -> 36, <=1024 -> 18, ... else 1."""
    for limit, width in ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2)):
        if depth <= limit:
            return width
    return 1


def _dims(layer: ConvolutionInputGenerator) -> tuple[int, int, int, int, int, int, int, int, int, int]:
    (ih, iw), (oh, ow), (kh, kw) = layer.ifm_dim, layer.ofm_dim, layer.kernel
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    if iw == 1 and ih > 1:  # normalise a vertical 1-D map so that W is the long axis
        ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = iw, ih, ow, oh, kw, kh, sw, sh, dw, dh
    return ih, iw, oh, ow, kh, kw, sh, sw, dh, dw


def _is_parallel(layer: ConvolutionInputGenerator) -> bool:
    return layer.parallel_window or layer.kernel == (1, 1)


def swg_rtl_buffer_depth(layer: ConvolutionInputGenerator) -> int:
    """§4.3 RTL buffer depth D for the "default" or "parallel" implementation style."""
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    cf = layer.channels // layer.simd
    if _is_parallel(layer):
        return ((kh - 1) * dh * iw + (kw - 1) * dw) * cf + 2
    depth = ((kh - 1) * dh * iw + (kw - 1) * dw + 1) * cf
    depth += max(0, ((sw - 1) - kh * kw) * cf) + max(0, ((sh - 1) * iw - kh * kw) * cf)
    return depth


def _swg_rtl_cycles(layer: ConvolutionInputGenerator, plus: bool = False) -> int:
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    cf = layer.channels // layer.simd
    if _is_parallel(layer):
        return ih * iw * cf + 2
    if ih == 1:
        if layer.depthwise and plus:  # FINN+ 1.6.1: max(output side, input side) + 2
            out_side = ow * kw * cf + (cf - 1) * kw
            in_side = iw * cf + cf * (kw - 1) * (sw - 1)
            return max(out_side, in_side) + 2
        if layer.depthwise:
            return ow * kw * cf + cf * (kw - 1) * (sw - 1) - (kw - 1) + 2
        return ow * kw * cf + 2
    buf = ((kh - 1) * dh * iw + (kw - 1) * dw + 1) * cf
    m = max(ow * kw * kh * cf, sw * iw * cf)
    if layer.depthwise:
        m += ow * (sw - 1) * (cf - 1)
    cycles = buf + oh * m
    if layer.depthwise:
        cycles += (sh - 1) * iw * cf
    return cycles


def _bram_count(depth: float, width: int) -> int:
    cd, cw = math.ceil(depth / 16384), math.ceil(width / ram_width_for_depth(depth))
    savings = 0
    if depth > 16384:
        savings = cw - math.ceil(width / ram_width_for_depth(depth % 16384))
    return cd * cw - savings


def _hls_variant(layer: ConvolutionInputGenerator) -> str:
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    if ih > 1:
        return "2d"
    if layer.parallel_window and layer.simd == layer.channels and not layer.depthwise and sw == dw == 1:
        return "1d_parallel"
    if not layer.depthwise:
        return "1d"
    return "1d_dws_naive" if (sw not in (1, 2) or dw > 1) else "1d_dws"


def _hls_ram_depth(layer: ConvolutionInputGenerator, variant: str) -> int:
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    cf = layer.channels // layer.simd
    return {"2d": ih * cf, "1d": (kw - 1) * cf, "1d_dws_naive": iw * cf, "1d_dws": kw * cf}.get(variant, 0)


def _swg_hls_cycles(layer: ConvolutionInputGenerator, variant: str) -> int:
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    cf = layer.channels // layer.simd
    if variant == "2d":
        return iw * kh * dh * cf + oh * max(ow * kw * kh * cf, sw * iw * cf)
    if variant == "1d_parallel":
        return kw + ow
    if variant == "1d":
        return 1 + ow * kw * cf
    if variant == "1d_dws_naive":
        return iw * cf + ow * kw * cf
    return 1 + ow * kw * cf + cf * (kw - 1) - (kw - 1)


def _swg_hls_lut(layer: ConvolutionInputGenerator, variant: str) -> int:
    if layer.ram_style != RamStyle.DISTRIBUTED:
        return 300
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    a, c, simd = layer.input_bits, layer.channels, layer.simd
    extra = {
        "2d": (kh + sh) * simd * a * math.ceil(ih * c / simd / 64),
        "1d": math.ceil(a * (kw - 1) * c / 64),
        "1d_dws_naive": math.ceil(a * iw * c / 64),
        "1d_dws": math.ceil(a * kw * c / 64),
        "1d_parallel": math.ceil(simd * a * (kw + 1) / 64),
    }[variant]
    return 300 + extra
