"""Lowering of tiny QONNX graphs, critical path, and end-to-end estimates of ResNet-like graphs."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from graphs import GraphBuilder, residual_net

from nash.config.hw import HwConfig
from nash.errors import UnsupportedOpError
from nash.hw import create_layer, critical_path, estimate_model, lower_model, write_estimate


def test_conv_block_lowering_and_minimised_accumulator():
    b = GraphBuilder((1, 4, 6, 6))
    x = b.quant("inp", 4, signed=False)
    y = b.act(b.conv(x, 4, 8, 3, pad=1, wbits=2), 2, 8)
    g = lower_model(b.build(y, (1, 8, 6, 6)))
    assert [la.name for la in g.layers] == [
        "Thresholding_rtl_0",
        "FMPadding_rtl_0",
        "ConvolutionInputGenerator_rtl_0",
        "MVAU_hls_0",
    ]
    mv = g.layers[-1]
    assert (mv.mw, mv.mh, mv.niv, mv.no_activation, mv.output_bits, mv.num_steps) == (
        36,
        8,
        (1, 6, 6),
        False,
        2,
        3,
    )
    assert g.layers[2].ifm_dim == (8, 8) and g.layers[2].ofm_dim == (6, 6)
    # §8 by hand: integer weights from the Quant node, input UINT4 in [0, 15]
    w = b.inits[[i.name for i in b.inits].index(b.nodes[1].input[0])]
    q = np.clip(np.round(np.frombuffer(w.raw_data, np.float32).reshape(8, 36) / 0.1), -2, 1).astype(int)
    hi = (np.where(q > 0, q, 0).sum(1) * 15).max()
    lo = (np.where(q < 0, q, 0).sum(1) * 15).min()
    assert mv.acc_bits == int(np.ceil(np.log2(max(-lo, 1 + hi)) + 1)) and mv.acc_assumption == "minimized"
    assert {op for _, op in g.absorbed} == {"BatchNormalization", "Relu"}


def test_binary_mvau_and_maxpool():
    b = GraphBuilder((1, 8, 8, 8))
    x = b.quant("inp", 1)
    y = b.quant(b.conv(x, 8, 8, 1, wbits=1), 1)
    y = b.node("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    g = lower_model(b.build(y, (1, 8, 4, 4)))
    ops = [la.op_type for la in g.layers]
    assert ops == ["Thresholding", "MVAU", "StreamingMaxPool"]  # 1x1 stride-1 conv needs no SWG
    assert g.layers[1].binary and g.layers[1].input_bits == g.layers[1].weight_bits == 1


def test_padded_maxpool_becomes_swg_and_pool():
    b = GraphBuilder((1, 4, 8, 8))
    x = b.quant("inp", 4, signed=False)
    y = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    g = lower_model(b.build(y, (1, 4, 4, 4)))
    assert [la.op_type for la in g.layers] == [
        "Thresholding",
        "FMPadding",
        "ConvolutionInputGenerator",
        "Pool",
    ]
    assert g.layers[2].depthwise and g.layers[3].pe == 4


def test_depthwise_conv_becomes_swg_and_vvau_with_fused_thresholds():
    b = GraphBuilder((1, 8, 8, 8))
    x = b.quant("inp", 4, signed=False)
    w = b.quant(b.const(b.rng.normal(0, 0.1, (8, 1, 3, 3))), 4)
    y = b.act(b.node("Conv", [x, w], kernel_shape=[3, 3], pads=[1] * 4, group=8), 4, 8)
    g = lower_model(b.build(y, (1, 8, 8, 8)))
    assert [la.name for la in g.layers] == [
        "Thresholding_rtl_0",
        "FMPadding_rtl_0",
        "ConvolutionInputGenerator_rtl_0",
        "VVAU_hls_0",
    ]
    swg, vv = g.layers[2], g.layers[3]
    assert swg.depthwise and (vv.channels, vv.kernel, vv.ofm_dim) == (8, (3, 3), (8, 8))
    assert not vv.no_activation and vv.output_bits == 4 and vv.acc_assumption == "minimized"
    b = GraphBuilder((1, 4, 6, 6))
    x = b.quant("inp", 4)
    w = b.quant(b.const(np.ones((4, 2, 3, 3))), 2)
    y = b.node("Conv", [x, w], kernel_shape=[3, 3], pads=[1] * 4, group=2)
    with pytest.raises(UnsupportedOpError, match=r"group=2: only depthwise"):
        lower_model(b.build(y, (1, 4, 6, 6)))


def test_unsupported_ops_are_listed():
    b = GraphBuilder((1, 4, 4, 4))
    x = b.quant("inp", 4)
    y = b.node("Sigmoid", [b.node("Tanh", [x])])
    with pytest.raises(UnsupportedOpError, match=r"Tanh \(n_tanh\d+\), Sigmoid \(n_sigmoid\d+\)"):
        lower_model(b.build(y, (1, 4, 4, 4)))


def test_critical_path_by_hand():
    layers = (
        create_layer("AddStreams", name="A"),
        create_layer("AddStreams", name="B", preds=("A",)),
        create_layer("AddStreams", name="C", preds=("A",)),
        create_layer("AddStreams", name="D", preds=("B", "C")),
    )
    assert critical_path(layers, [10, 20, 7, 5]) == (35, [10, 30, 17, 35])


def test_residual_graph_layers_and_latency():
    g = lower_model(residual_net(nas=False))
    ops = [la.op_type for la in g.layers]
    assert (
        ops.count("DuplicateStreams") == 2
        and ops.count("AddStreams") == 2
        and ops.count("GlobalAccPool") == 1
    )
    add = next(la for la in g.layers if la.op_type == "AddStreams")
    assert len(add.preds) == 2 and any(p.startswith("DuplicateStreams") for p in add.preds)
    est = estimate_model(residual_net(nas=False), HwConfig(fold="max", clock_ns=5.0))
    by = dict(zip([la.name for la in est.layers], est.cycles))
    lat = {}
    for la in est.layers:  # §6 recomputed independently
        lat[la.name] = by[la.name] + max((lat[p] for p in la.preds), default=0)
    assert est.critical_path_cycles == max(lat.values())
    assert est.fps == pytest.approx(2e8 / max(by.values()))


def test_original_vs_nash_same_target(tmp_path):
    cfg = HwConfig(fold="target_fps", target_fps=50_000, clock_ns=5.0)
    orig, nash = estimate_model(residual_net(nas=False), cfg), estimate_model(residual_net(nas=True), cfg)
    assert orig.max_cycles < 4000 and nash.max_cycles < 4000  # both reach the 4000-cycle target
    assert nash.fps == pytest.approx(orig.fps, rel=0.25)
    assert nash.latency_ms > orig.latency_ms
    assert nash.totals["lut"] > orig.totals["lut"] and nash.totals["bram18"] >= orig.totals["bram18"]
    paths = write_estimate(nash, tmp_path)
    data = json.loads(paths["estimate"].read_text())
    assert len(data["layers"]) == len(nash.layers) and data["acc_assumption"] == ["minimized"]
    assert data["totals"]["lut"] == sum(la["lut"] for la in data["layers"])
    fold = json.loads(paths["folding_config"].read_text())
    assert fold["MVAU_hls_0"]["PE"] == nash.layers[[la.name for la in nash.layers].index("MVAU_hls_0")].pe


def test_fit_mode_fits_device_and_is_fastest_probe():
    est = estimate_model(residual_net(nas=True, c=16, hw=16), HwConfig(fold="fit", device="Pynq-Z1"))
    assert est.fits and est.utilization()["lut"] <= 0.85
    fitting = [p for p in est.search_log if p["fits"]]
    assert est.fps == pytest.approx(max(p["fps"] for p in fitting))


def test_hw_does_not_import_torch():
    import subprocess  # other tests import torch in this process, so check a fresh interpreter

    code = "import sys, nash.hw, nash.hw.from_arch; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
