"""A Brevitas example network (bnn_pynq TFC, untrained) exported to QONNX lowers and estimates."""

from __future__ import annotations

import pytest

from nash.config.hw import HwConfig
from nash.hw import estimate_model


@pytest.fixture(scope="module")
def tfc_path(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    model, _ = model_with_cfg("tfc_2w2a", pretrained=False)
    path = tmp_path_factory.mktemp("tfc") / "tfc_2w2a.onnx"
    export_qonnx(model.eval(), torch.randn(1, 1, 28, 28), str(path))
    return path


def test_tfc_lowers_and_estimates(tfc_path):
    est = estimate_model(tfc_path, HwConfig(fold="target_fps", target_fps=100_000, clock_ns=10.0))
    ops = [la.name for la in est.layers]
    assert ops == ["Thresholding_rtl_0", "MVAU_hls_0", "MVAU_hls_1", "MVAU_hls_2", "MVAU_hls_3"]
    mw_mh = [(la.mw, la.mh) for la in est.layers[1:]]
    assert mw_mh == [(784, 64), (64, 64), (64, 64), (64, 10)]
    assert all(la.weight_bits <= 2 and la.input_bits == 2 for la in est.layers[2:])
    assert est.max_cycles < 1000 and est.fps >= 100_000 and not est.unsupported
    v09 = estimate_model(tfc_path, HwConfig(fold="max", generation="finn-0.9"))
    assert v09.layers[1].name == "MatrixVectorActivation_0" and v09.layers[1].mem_mode == "internal_embedded"
