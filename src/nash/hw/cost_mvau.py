"""MVAU (matrix-vector-activation unit) cycles and resources, finn-cost-model.md §4.1 and §11."""

from __future__ import annotations

import math

from nash.hw.costs import CostContext, LayerCost, register_estimator
from nash.hw.layers import HwLayer

__all__ = ["mvau_cycles", "mvau_bram18", "mvau_uram", "mvau_lut_hls", "mvau_hls", "mvau_rtl", "bram_ladder"]


def mvau_cycles(layer: HwLayer) -> int:
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


def _wmem(layer: HwLayer) -> float:
    return layer.mw * layer.mh / (layer.pe * layer.simd)


def mvau_bram18(layer: HwLayer) -> int:
    """§4.1 BRAM_18K: zero for distributed/ultra decoupled, small embedded, external; else the ladder."""
    wmem, mode, style = _wmem(layer), layer.mem_mode, layer.ram_style
    if mode == "external" or (mode == "internal_decoupled" and style in ("distributed", "ultra")):
        return 0
    if mode == "internal_embedded" and wmem <= 128:
        return 0
    return bram_ladder(wmem, layer.simd * layer.weight_bits * layer.pe)


def mvau_uram(layer: HwLayer) -> int:
    """§4.1 URAM: decoupled+ultra, or embedded with WMEM > 128 (FINN quirk): ceil(m/72)*ceil(WMEM/4096)."""
    wmem, mode = _wmem(layer), layer.mem_mode
    if mode == "external" or (mode == "internal_decoupled" and layer.ram_style != "ultra"):
        return 0
    if mode == "internal_embedded" and wmem <= 128:
        return 0
    return math.ceil(layer.simd * layer.weight_bits * layer.pe / 72) * math.ceil(wmem / 4096)


def _acc_current(layer: HwLayer, w: int, a: int) -> int:
    # Bound from arXiv:2301.13376 capped by the accumulator datatype (§4.1).
    alpha = math.log2(layer.mw) + w + a - 1 - (1 if layer.input_signed else 0)
    return min(layer.acc_bits, math.ceil(alpha + math.log2(1 + 2**-alpha) + 1))


def mvau_lut_hls(layer: HwLayer, generation: str = "current") -> int:
    """§4.1 HLS LUT (FINN-R model); ``generation="finn-0.9"`` uses the §11 accumulator and thresholds.

    LUT = int(300 + 1.1*P*(mult + addertree + acc + thr + cmp) + c2).
    """
    p, q, w, a = layer.pe, layer.simd, layer.weight_bits, layer.input_bits
    wmem = _wmem(layer)
    lutram = (layer.mem_mode == "internal_decoupled" and layer.ram_style == "distributed") or (
        layer.mem_mode == "internal_embedded" and wmem <= 128
    )
    c2 = p * q * w * math.ceil(wmem / 64) if lutram else 0
    mult = 0 if layer.res_type == "dsp" else q * (2 * math.ceil((w + a) / 6) - 1) * (w + a)
    addertree = (w + a) * (2 * q - 1)
    if generation == "finn-0.9":
        acc = w + a + math.ceil(math.log2(layer.mw))
        count_thr = not layer.no_activation
    else:
        acc = _acc_current(layer, w, a)
        count_thr = not layer.no_activation and layer.ram_style_thresholds == "distributed"
    thr = cmp = 0
    if count_thr:
        levels = 2**layer.output_bits - 1
        thr = levels * acc * math.ceil((layer.mh / p) / 64)
        cmp = levels * acc
    return int(300 + 1.1 * p * (mult + addertree + acc + thr + cmp) + c2)


@register_estimator("MVAU_hls")
def mvau_hls(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.1 MVAU_hls (current) / §11 MatrixVectorActivation (finn-0.9): cycles, BRAM, URAM, LUT, DSP."""
    w, a = layer.weight_bits, layer.input_bits
    dsp = layer.pe * layer.simd * math.ceil((w + a) / 48) if layer.res_type == "dsp" else 0
    return LayerCost(
        cycles=mvau_cycles(layer),
        lut=mvau_lut_hls(layer, ctx.generation),
        bram18=mvau_bram18(layer),
        uram=mvau_uram(layer),
        dsp=dsp,
    )


@register_estimator("MVAU_rtl")
def mvau_rtl(layer: HwLayer, ctx: CostContext) -> LayerCost:
    """§4.1 MVAU_rtl: LUT 0, DSP58 -> P*ceil(Q/3), DSP48E1/E2 -> ceil(P/4)*Q; memory as HLS."""
    if ctx.dsp_block == "DSP58":
        dsp = layer.pe * math.ceil(layer.simd / 3)
    else:
        dsp = math.ceil(layer.pe / 4) * layer.simd
    return LayerCost(
        cycles=mvau_cycles(layer), lut=0, bram18=mvau_bram18(layer), uram=mvau_uram(layer), dsp=dsp
    )
