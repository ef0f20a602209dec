"""Costs of the streaming helper layers: padding, pooling, thresholds, adds, forks, concat, top-k.

Each estimator cites its section of finn-cost-model.md. Layers FINN gives no resource model
(§4.4, §4.5, §4.6, §4.8, §4.9, §4.11-4.13) report cycles and zero resources, as FINN does.
"""

from __future__ import annotations

import math

from nash.hw.costs import CostContext, LayerCost, register_estimator
from nash.hw.layers import HwLayer

__all__ = ["thresholding_hls", "thresholding_rtl", "threshold_rtl_memories"]


def _pe_cycles(layer: HwLayer) -> int:
    return int(layer.niv_prod * layer.channels / layer.pe)


@register_estimator("FMPadding_rtl")
@register_estimator("FMPadding_hls")
def fmpadding(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.4 FMPadding: int(C/SIMD * NIV * PH * PW); no resource model."""
    top, left, bottom, right = layer.padding
    ph, pw = layer.ifm_dim[0] + top + bottom, layer.ifm_dim[1] + left + right
    return LayerCost(cycles=int(layer.channels / layer.simd * layer.niv_prod * ph * pw))


@register_estimator("DownSampler_hls")
def downsampler(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.4 DownSampler (1x1 conv with stride > 1): int(C/SIMD * NIV * IDim^2) (IDim for 1-D)."""
    ih, iw = layer.ifm_dim
    pixels = iw * iw if min(ih, iw) > 1 else max(ih, iw)
    return LayerCost(cycles=int(layer.channels / layer.simd * layer.niv_prod * pixels))


@register_estimator("StreamingMaxPool_hls")
def streaming_maxpool(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.5 StreamingMaxPool: 2-D int(IW*IW*(1 + 1/kw^2)) (W only); 1-D OD*(C/PE)*(k+1)."""
    ih, iw = layer.ifm_dim
    if min(ih, iw) == 1:
        k = max(layer.kernel)
        od = max(layer.ofm_dim)
        return LayerCost(cycles=int(od * (layer.channels / layer.pe) * (k + 1)))
    kw = layer.kernel[1]
    return LayerCost(cycles=int(iw * iw * (1 + 1 / (kw * kw))))


@register_estimator("Pool_hls")
def pool(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.6 Pool: int(C*kh*kw/PE * OH*OW * BatchSize) with BatchSize 1; no resource model."""
    kh, kw = layer.kernel
    oh, ow = layer.ofm_dim
    return LayerCost(cycles=int(layer.channels * kh * kw / layer.pe * oh * ow))


def _channelwise_resources(layer: HwLayer) -> tuple[int, int]:
    # Shared by Thresholding_hls and ChannelwiseOp_hls (§4.7, §4.10): A = input bit width.
    a, p = layer.input_bits, layer.pe
    tmem = layer.channels / p
    bram = math.ceil(a * p / 16) * math.ceil(tmem / 1024) if layer.ram_style == "block" and tmem > 1 else 0
    lut = a * p + (p * a * math.ceil(tmem / 64) if layer.ram_style == "distributed" and tmem > 1 else 0)
    return lut, bram


@register_estimator("Thresholding_hls")
def thresholding_hls(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.7 Thresholding_hls: cycles prod(NIV)*C/PE; LUT A*P (+ LUTRAM); BRAM only for ram_style block."""
    lut, bram = _channelwise_resources(layer)
    return LayerCost(cycles=_pe_cycles(layer), lut=lut, bram18=bram)


@register_estimator("ChannelwiseOp_hls")
def channelwise_op(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.10 ChannelwiseOp_hls: same cycle and resource formulas as Thresholding_hls."""
    lut, bram = _channelwise_resources(layer)
    return LayerCost(cycles=_pe_cycles(layer), lut=lut, bram18=bram)


# §4.7 primitive list, in FINN's order (ties go to the first): (bucket, width, depth).
_PRIMITIVES = (
    ("URAM", 72, 4096),
    ("URAM", 36, 8192),
    ("URAM", 18, 16384),
    ("URAM", 9, 32768),
    ("BRAM18", 36, 512),
    ("BRAM18", 18, 1024),
    ("BRAM18", 9, 2048),
    ("LUTRAM", 1, 64),
)


def threshold_rtl_memories(layer: HwLayer) -> dict[str, int]:
    """§4.7 RTL threshold memories: per geometry (T, cf*2^x) pick the least-waste primitive, times PE."""
    cf = layer.channels // layer.pe
    buckets = {"URAM": 0, "BRAM18": 0, "LUTRAM": 0}
    for x in range(layer.output_bits):
        width, depth = layer.threshold_bits, cf * 2**x
        best = None
        for bucket, pw, pd in _PRIMITIVES:
            count = math.ceil(width / pw) * math.ceil(depth / pd)
            waste = count * pw * pd - width * depth
            if best is None or waste < best[0]:
                best = (waste, bucket, count)
        buckets[best[1]] += layer.pe * best[2]
    return buckets


@register_estimator("Thresholding_rtl")
def thresholding_rtl(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.7 Thresholding_rtl: LUT = LUTRAM bucket, URAM bucket; BRAM reported 0 (FINN key-name bug)."""
    mem = threshold_rtl_memories(layer)
    return LayerCost(cycles=_pe_cycles(layer), lut=mem["LUTRAM"], bram18=0, uram=mem["URAM"])


@register_estimator("AddStreams_hls")
def add_streams(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.8 AddStreams: prod(NIV)*C/PE; no resource model."""
    return LayerCost(cycles=_pe_cycles(layer))


@register_estimator("DuplicateStreams_hls")
def duplicate_streams(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.9 DuplicateStreams: prod(NIV)*C/PE, independent of the number of outputs."""
    return LayerCost(cycles=_pe_cycles(layer))


@register_estimator("GlobalAccPool_hls")
def global_acc_pool(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.11 GlobalAccPool: int(prod(NIV)*C/PE + C/PE); no resource model."""
    return LayerCost(cycles=int(layer.niv_prod * layer.channels / layer.pe + layer.channels / layer.pe))


@register_estimator("LabelSelect_hls")
def label_select(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.12 LabelSelect: int(L/PE); no resource model."""
    return LayerCost(cycles=int(layer.channels / layer.pe))


@register_estimator("StreamingConcat_hls")
def streaming_concat(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.13 StreamingConcat (main branch, unfolded): prod(NIV) cycles, one pixel per cycle."""
    return LayerCost(cycles=layer.niv_prod)
