"""``--generation finn-plus`` (FINN+ 1.6.1) on the tiny graphs: what differs from ``current``.

The numbers themselves are checked against FINN+ by ``test_finn_plus.py`` and recorded in the
golden file; these tests pin the individual rules (docs/hw.md, "Generations").
"""

from __future__ import annotations

import numpy as np
import onnx
from graphs import GraphBuilder, residual_net, zoo_net

from nash.cli import main
from nash.config.hw import HwConfig
from nash.hw import CostContext, create_layer, estimate_model, lower_model, lowering_options
from nash.hw.layers import meets

PLUS = HwConfig(generation="finn-plus")


def _kinds(model, cfg):
    return [la.name.rsplit("_", 1)[0] for la in lower_model(model, lowering_options(cfg)).layers]


def test_plus_lowering_has_no_streaming_maxpool_or_downsampler():
    cur, plus = _kinds(zoo_net(), HwConfig(generation="current")), _kinds(zoo_net(), PLUS)
    assert "StreamingMaxPool_hls" in cur and "DownSampler_hls" in cur
    assert "StreamingMaxPool_hls" not in plus and "DownSampler_hls" not in plus
    # the 2x2 max-pool becomes SWG + Pool, the strided 1x1 window a 1x1 SWG
    assert plus.count("Pool_hls") == cur.count("Pool_hls") + 1
    assert plus.count("ConvolutionInputGenerator_rtl") == cur.count("ConvolutionInputGenerator_rtl") + 2


def test_plus_residual_add_is_elementwise_add():
    names = [la.name for la in lower_model(residual_net(nas=False), lowering_options(PLUS)).layers]
    assert "ElementwiseAdd_hls_0" in names and not any(n.startswith("AddStreams") for n in names)


def test_plus_minimises_bipolar_weights_of_a_non_xnor_mvau():
    b = GraphBuilder((1, 4, 4, 4))
    x = b.quant("inp", 4, signed=False)
    out = b.conv(x, 4, 8, 1, wbits=1)
    model = b.build(out, (1, 8, 4, 4))
    cur = lower_model(model, lowering_options(HwConfig(generation="current"))).layers[-1]
    plus = lower_model(model, lowering_options(PLUS)).layers[-1]
    assert cur.kind == plus.kind == "MVAU" and not plus.binary
    assert (cur.weight_bits, plus.weight_bits) == (1, 2)  # FINN keeps BIPOLAR, FINN+ makes it INT2


def test_plus_thresholding_rtl_reports_bram():
    # 36-bit thresholds, 512 deep: a BRAM18 shape has zero waste and wins (§4.7)
    layer = create_layer(
        "Thresholding", name="t", backend="rtl", channels=512, niv=(1,), output_bits=1, threshold_bits=36
    )
    assert layer.cost(CostContext()).bram18 == 0  # FINN's key-name bug
    assert layer.cost(CostContext(generation="finn-plus")).bram18 == 1


def test_plus_set_folding_accepts_cycles_equal_to_target():
    assert meets(100, 100, CostContext(generation="finn-plus"))
    assert not meets(100, 100, CostContext())
    # 8 channels x 8x8 pixels = 512 cycles at PE 1: a 512-cycle target keeps PE 1 only under finn-plus
    est = {
        g: estimate_model(
            _single_threshold(),
            HwConfig(fold="target_fps", target_fps=1e9 / 5 / 512, clock_ns=5.0, generation=g),
        )
        for g in ("current", "finn-plus")
    }
    assert est["current"].layers[0].pe == 2 and est["finn-plus"].layers[0].pe == 1


def _single_threshold() -> onnx.ModelProto:
    b = GraphBuilder((1, 8, 8, 8))
    out = b.quant(b.quant("inp", 4, signed=False), 2, signed=False)
    return b.build(out, (1, 8, 8, 8))


def test_cli_accepts_finn_plus(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    onnx.save(residual_net(nas=False), str(path))
    assert main(["hw", "estimate", str(path), "--generation", "finn-plus", "--no-progress"]) == 0
    assert "ElementwiseAdd_hls_0" in capsys.readouterr().out
    assert np.isfinite(estimate_model(path, PLUS).fps)
