"""Sliding-window generator (ConvolutionInputGenerator) costs, finn-cost-model.md §4.3.

The RTL back-end is FINN's current default; the HLS back-end is what FINN v0.9 generated
(``generation="finn-0.9"``). Dimensions are (H, W); 1-D maps are normalised so the long axis is W.
"""

from __future__ import annotations

import math

from nash.hw.costs import CostContext, LayerCost, register_estimator
from nash.hw.layers import HwLayer

__all__ = ["swg_rtl", "swg_hls", "ram_width_for_depth", "swg_rtl_buffer_depth"]


def ram_width_for_depth(depth: float) -> int:
    """§4.3 RAMB18 width chosen from the depth: <=512 -> 36, <=1024 -> 18, ... else 1."""
    for limit, width in ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2)):
        if depth <= limit:
            return width
    return 1


def _dims(layer: HwLayer) -> tuple[int, int, int, int, int, int, int, int, int, int]:
    (ih, iw), (oh, ow), (kh, kw) = layer.ifm_dim, layer.ofm_dim, layer.kernel
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    if iw == 1 and ih > 1:  # normalise a vertical 1-D map so that W is the long axis
        ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = iw, ih, ow, oh, kw, kh, sw, sh, dw, dh
    return ih, iw, oh, ow, kh, kw, sh, sw, dh, dw


def _is_parallel(layer: HwLayer) -> bool:
    return layer.parallel_window or layer.kernel == (1, 1)


def swg_rtl_buffer_depth(layer: HwLayer) -> int:
    """§4.3 RTL buffer depth D for the "default" or "parallel" implementation style."""
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    cf = layer.channels // layer.simd
    if _is_parallel(layer):
        return ((kh - 1) * dh * iw + (kw - 1) * dw) * cf + 2
    depth = ((kh - 1) * dh * iw + (kw - 1) * dw + 1) * cf
    depth += max(0, ((sw - 1) - kh * kw) * cf) + max(0, ((sh - 1) * iw - kh * kw) * cf)
    return depth


def _swg_rtl_cycles(layer: HwLayer) -> int:
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    cf = layer.channels // layer.simd
    if _is_parallel(layer):
        return ih * iw * cf + 2
    if ih == 1:
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


@register_estimator("ConvolutionInputGenerator_rtl")
def swg_rtl(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.3 ConvolutionInputGenerator_rtl: cycles, BRAM (block/auto), URAM (ultra), LUT (distributed)."""
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    width, depth = layer.simd * layer.input_bits, swg_rtl_buffer_depth(layer)
    mem_depth, n = depth, 1
    if _is_parallel(layer):
        mem_depth, n = (iw - ((kw - 1) * dw + 1)) + iw * (dh - 1), kh - 1
        if ih == 1:
            n = 0
    bram = int(_bram_count(mem_depth, width) * n) if layer.ram_style in ("block", "auto") and n else 0
    uram = math.ceil(mem_depth / 4096) * math.ceil(width / 72) * n if layer.ram_style == "ultra" else 0
    lut = 300 + (width * math.ceil(depth / 38) if layer.ram_style == "distributed" else 0)
    return LayerCost(cycles=_swg_rtl_cycles(layer), lut=lut, bram18=bram, uram=uram, dsp=0)


def _hls_variant(layer: HwLayer) -> str:
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    if ih > 1:
        return "2d"
    if layer.parallel_window and layer.simd == layer.channels and not layer.depthwise and sw == dw == 1:
        return "1d_parallel"
    if not layer.depthwise:
        return "1d"
    return "1d_dws_naive" if (sw not in (1, 2) or dw > 1) else "1d_dws"


def _hls_ram_depth(layer: HwLayer, variant: str) -> int:
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    cf = layer.channels // layer.simd
    return {"2d": ih * cf, "1d": (kw - 1) * cf, "1d_dws_naive": iw * cf, "1d_dws": kw * cf}.get(variant, 0)


def _swg_hls_cycles(layer: HwLayer, variant: str) -> int:
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


def _swg_hls_lut(layer: HwLayer, variant: str) -> int:
    if layer.ram_style != "distributed":
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


@register_estimator("ConvolutionInputGenerator_hls")
def swg_hls(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.3 ConvolutionInputGenerator_hls (FINN v0.9 generation): cycles, BRAM, URAM, LUT."""
    ih, iw, oh, ow, kh, kw, sh, sw, dh, dw = _dims(layer)
    variant = _hls_variant(layer)
    depth, width = _hls_ram_depth(layer, variant), layer.simd * layer.input_bits
    bram = uram = 0
    if variant != "1d_parallel" and layer.ram_style in ("block", "auto"):
        width_mul = math.ceil(width / ram_width_for_depth(depth))
        bram = (kh + sh) * width_mul if variant == "2d" else width_mul * math.ceil(depth / 18432)
    if layer.ram_style == "ultra" and variant != "1d_parallel":
        if variant == "2d":
            uram = (kh + sh) * math.ceil(width / 64) * math.ceil(depth / 4096)
        else:
            uram = math.ceil(width / 72) * math.ceil(depth / 4096)
    return LayerCost(
        cycles=_swg_hls_cycles(layer, variant), lut=_swg_hls_lut(layer, variant), bram18=bram, uram=uram
    )
