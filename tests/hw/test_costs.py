"""Per-layer cycles and resources equal the finn-cost-model.md formulas evaluated by hand."""

from __future__ import annotations

import dataclasses

import pytest

from nash.hw import CostContext, HwLayer, create_cost, create_layer

V09 = CostContext(generation="finn-0.9")


def mvau(**kw) -> HwLayer:
    base = dict(
        name="m",
        mw=16,
        mh=8,
        pe=2,
        simd=4,
        weight_bits=2,
        weight_bits_quant=2,
        input_bits=2,
        input_signed=False,
        acc_bits=32,
        output_bits=2,
    )
    return create_layer("MVAU", **(base | kw))


@pytest.mark.parametrize(
    "mem_mode, ram_style, lut, bram",
    [
        ("internal_decoupled", "auto", 416, 1),  # m=16 -> 1K x 18 row: ceil(16/1024)*ceil(16/18)
        ("internal_decoupled", "distributed", 432, 0),  # c2 = P*Q*W*ceil(WMEM/64) = 16
        ("internal_embedded", "auto", 432, 0),  # WMEM = 16 <= 128 -> LUTRAM
        ("external", "auto", 416, 0),
    ],
)
def test_mvau_multibit_mem_modes(mem_mode, ram_style, lut, bram):
    # cycles = (8/2)*(16/4) = 16; mult = 4*(2*ceil(4/6)-1)*4 = 16; addertree = 4*7 = 28;
    # alpha = log2(16)+2+2-1 = 7 -> acc = ceil(7 + log2(1+2^-7) + 1) = 9; LUT = int(300 + 2.2*53) (+c2)
    c = create_cost(mvau(mem_mode=mem_mode, ram_style=ram_style), CostContext())
    assert (c.cycles, c.lut, c.bram18, c.uram, c.dsp) == (16, lut, bram, 0, 0)


def test_mvau_finn09_lut_counts_thresholds():
    # acc = W + A + ceil(log2 MW) = 8; thr = (2^2-1)*8*ceil(4/64) = 24; cmp = 24; 300 + 2.2*(16+28+8+48) = 520
    c = create_cost(mvau(no_activation=False, mem_mode="internal_embedded"), V09)
    assert c.lut == 536  # + c2 = 16 (embedded, WMEM <= 128)
    c = create_cost(mvau(no_activation=False, mem_mode="external"), V09)
    assert c.lut == 520


def test_mvau_binary_xnor():
    layer = mvau(mw=64, mh=16, pe=4, simd=8, weight_bits=1, input_bits=1, binary=True, niv=(1, 3, 3))
    c = create_cost(layer, CostContext())
    # cycles 4*8*9; WMEM 32, m = 32 -> ceil(32/512)*ceil(32/36) = 1; mult 8*1*2 = 16, adder 2*15 = 30, acc 9
    assert (c.cycles, c.bram18, c.lut) == (288, 1, int(300 + 4.4 * 55))


def test_mvau_large_memory_and_dsp():
    layer = mvau(
        mw=576, mh=64, pe=4, simd=8, weight_bits=4, input_bits=4, res_type="dsp", mem_mode="internal_embedded"
    )
    c = create_cost(layer, CostContext())
    # WMEM = 1152 > 512, m = 128 -> ceil(1152/1024)*ceil(128/18) = 2*8; URAM quirk ceil(128/72)*ceil(1152/4096)
    assert (c.bram18, c.uram, c.dsp) == (16, 2, 32)
    rtl = create_cost(dataclasses.replace(layer, backend="rtl"), CostContext(dsp_block="DSP48E2"))
    assert (rtl.lut, rtl.dsp) == (0, 8)  # ceil(4/4)*8


def swg(**kw) -> HwLayer:
    base = dict(
        name="s",
        backend="rtl",
        channels=4,
        simd=2,
        ifm_dim=(6, 6),
        ofm_dim=(4, 4),
        kernel=(3, 3),
        input_bits=4,
        ram_style="distributed",
    )
    return create_layer("ConvolutionInputGenerator", **(base | kw))


def test_swg_rtl_default_and_parallel():
    # cf = 2; D = ((3-1)*6 + 2 + 1)*2 = 30; cycles = 30 + 4*max(4*9*2, 6*2) = 318; LUT = 300 + 8*ceil(30/38)
    c = create_cost(swg(), CostContext())
    assert (c.cycles, c.lut, c.bram18) == (318, 308, 0)
    assert create_cost(swg(ram_style="block"), CostContext()).bram18 == 1
    # parallel: cycles = 36*1 + 2; BRAM rows kh-1 = 2 of depth (6-3) -> 2
    p = create_cost(swg(simd=4, parallel_window=True, ram_style="block"), CostContext())
    assert (p.cycles, p.bram18, p.lut) == (38, 2, 300)


def test_swg_hls_v09():
    layer = swg(backend="hls")
    c = create_cost(layer, V09)
    # cycles = IW*kh*cf + OH*max(OW*9*cf, IW*cf) = 36 + 288; LUT = 300 + (3+1)*2*4*ceil(6*2/64)
    assert (c.cycles, c.lut, c.bram18) == (324, 332, 0)


def test_thresholding_hls_and_rtl():
    t = create_layer(
        "Thresholding",
        name="t",
        channels=32,
        pe=4,
        niv=(1, 2, 2),
        input_bits=8,
        ram_style="distributed",
    )
    c = create_cost(t, CostContext())
    assert (c.cycles, c.lut, c.bram18) == (32, 64, 0)  # LUT = 8*4 + 4*8*ceil(8/64)
    assert create_cost(dataclasses.replace(t, ram_style="block"), CostContext()).bram18 == 2
    r = create_layer(
        "Thresholding", name="r", backend="rtl", channels=64, pe=1, output_bits=2, threshold_bits=9
    )
    c = create_cost(r, CostContext())
    assert (c.cycles, c.lut, c.uram, c.bram18) == (64, 9 + 18, 0, 0)  # LUTRAM 9x1 and 9x2, zero waste


@pytest.mark.parametrize(
    "op, kw, cycles",
    [
        ("AddStreams", dict(channels=16, pe=4, niv=(1, 8, 8)), 256),
        ("DuplicateStreams", dict(channels=16, pe=4, niv=(1, 8, 8), n_outputs=3), 256),
        ("StreamingMaxPool", dict(channels=16, ifm_dim=(8, 8), kernel=(2, 2), ofm_dim=(4, 4)), 80),
        ("Pool", dict(channels=8, pe=2, kernel=(3, 3), ofm_dim=(4, 4)), 576),
        ("GlobalAccPool", dict(channels=16, pe=4, niv=(1, 7, 7)), 200),
        ("LabelSelect", dict(channels=10, pe=2), 5),
        ("FMPadding", dict(channels=4, simd=2, ifm_dim=(4, 4), padding=(1, 1, 1, 1)), 72),
        ("StreamingConcat", dict(niv=(1, 5, 5), elems_per_stream=(4, 4)), 25),
    ],
)
def test_stream_layers(op, kw, cycles):
    backend = "rtl" if op == "FMPadding" else "hls"
    c = create_cost(create_layer(op, name="x", backend=backend, **kw), CostContext())
    assert c.cycles == cycles and (c.lut, c.bram18, c.uram, c.dsp) == (0, 0, 0, 0)


def vvau(**kw) -> HwLayer:
    base = dict(
        name="v", channels=8, kernel=(3, 3), ofm_dim=(4, 4), pe=2, simd=3, weight_bits=4, input_bits=4
    )
    return create_layer("VVAU", **(base | kw))


def test_vvau_by_hand():
    # cycles = 8*9/2/3 * 16 = 192; WMEM = 9*8/(2*3) = 12 <= 128 with ram_style auto -> no BRAM;
    # mult = 3*(2*ceil(8/6)-1)*8 = 72, adder = 8*5 = 40, acc = ceil(log2 9 + 7 + log2(1+2^-a) + 1) = 12
    c = create_cost(vvau(), CostContext())
    assert (c.cycles, c.lut, c.bram18, c.uram, c.dsp) == (192, int(300 + 2.2 * 124), 0, 0, 0)
    # block RAM: VVAU ladder, m = 3*4*2 = 24 -> ceil(12/512)*ceil(24/32) = 1
    assert create_cost(vvau(ram_style="block"), CostContext()).bram18 == 1
    # fused 2-bit thresholds, no ram_style gate, TMEM/64 unrounded: thr = 3*12*4/64, cmp = 36
    assert create_cost(vvau(no_activation=False, output_bits=2), CostContext()).lut == int(300 + 2.2 * 162.25)
    assert create_cost(vvau(res_type="dsp"), CostContext()).dsp == 2  # P*ceil((W+A)/48), no SIMD factor
    rtl = create_cost(vvau(backend="rtl"), CostContext(dsp_block="DSP58"))
    assert (rtl.lut, rtl.dsp) == (0, 2)  # P*ceil(SIMD/3)
    assert (
        vvau().pick_backend("current", "DSP58") == "rtl"
        and vvau().pick_backend("current", "DSP48E2") == "hls"
    )
