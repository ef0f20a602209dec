"""Real FINN+ builds of our ResNet18s (original and NASH-v3, w2a2, width 8, 1x32x32, trained briefly).

Each test builds the exported model with ``nash.finn.build`` and checks what the issue asks for:
one dataflow partition, every node in it a FINN+ HW layer, only the documented input transpose
outside, FINN+'s estimate reports with positive cycles, and the integer-graph check agreeing with
PyTorch on >= 99.9 % of a few hundred Fashion-MNIST test images.

The original's build is the session fixture ``finn_original`` (tests/conftest.py, tests/finn_runs.py):
tests/hw/test_finn_plus.py compares ``nash.hw``'s estimate with the same build.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finn_runs import N_CHECK, N_CHECK_HW, TARGET_FPS, build_with_check
from nash.finn.steps import HW_DOMAIN


def _assert_build(out: Path, summary: dict) -> None:
    from qonnx.core.modelwrapper import ModelWrapper

    # one partition, every node in it a FINN+ HW layer; outside only the input transpose
    nodes = summary["nodes"]
    assert nodes["all_hw_layers"]
    assert nodes["outside_partition"] == ["Transpose_0 (Transpose)"]
    df = ModelWrapper(str(out / "intermediate_models" / "dataflow.onnx"))
    assert df.graph.node and all(n.domain.startswith(HW_DOMAIN) for n in df.graph.node)
    parent = ModelWrapper(str(out / "intermediate_models" / "dataflow_parent.onnx"))
    assert sorted(n.op_type for n in parent.graph.node) == ["StreamingDataflowPartition", "Transpose"]
    kinds = {k.rsplit("_", 1)[0] for k in nodes["hw_layer_kinds"]}
    assert {
        "MVAU",
        "Thresholding",
        "ConvolutionInputGenerator",
        "ElementwiseAdd",
        "DuplicateStreams",
        "GlobalAccPool",
        "LabelSelect",
    } <= kinds
    # FINN+'s own estimate reports
    report = out / "report"
    cycles = json.loads((report / "estimate_layer_cycles.json").read_text())
    assert cycles and all(v > 0 for v in cycles.values())
    res = json.loads((report / "estimate_layer_resources.json").read_text())
    assert res["total"]["LUT"] > 0
    perf = json.loads((report / "estimate_network_performance.json").read_text())
    assert perf["estimated_throughput_fps"] > 0
    for name in (
        "op_and_param_counts.json",
        "estimate_layer_config_alternatives.json",
        "auto_folding_config.json",
    ):
        assert (report / name).is_file()
    assert summary["hardware"]["skipped"].startswith("Vivado/Vitis not found")
    # the integer check
    check = json.loads((out / "finn_check.json").read_text())
    assert check["n"] == N_CHECK and check["ok"]
    assert check["streamlined"]["top1_agreement"] >= 0.999
    assert check["streamlined"]["executor_cross_check"]["max_abs_diff"] < 1e-4
    # logits differ from PyTorch by float rounding or (rarely) one quantisation step, never more
    assert check["streamlined"]["max_abs_diff"] <= 0.05 * check["streamlined"]["logit_scale"]
    assert check["hw"]["n"] == N_CHECK_HW and check["hw"]["integer_logits_equal"]
    assert check["hw"]["top1_agreement_streamlined"] == 1.0


def test_build_original_resnet18(finn_original: tuple[Path, dict]) -> None:
    run, summary = finn_original
    _assert_build(run / "finn", summary)
    assert summary["nodes"]["hw_layer_kinds"]["ElementwiseAdd_hls"] == 8  # one per basic block
    assert summary["performance"]["fps"] >= TARGET_FPS * 0.9


@pytest.mark.slow
def test_build_nash_v3_resnet18(trained_v3: Path) -> None:
    summary = build_with_check(trained_v3)
    _assert_build(trained_v3 / "finn", summary)
    kinds = summary["nodes"]["hw_layer_kinds"]
    assert kinds.get("Pool_hls", 0) >= 1  # the max-pool NAS edges
    assert kinds["ElementwiseAdd_hls"] > 8  # residual adds + cascaded NAS adds
