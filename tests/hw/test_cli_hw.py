"""``nash hw devices`` and ``nash hw estimate`` through the CLI entry point."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from graphs import residual_net

from nash.cli import main


def test_devices_lists_catalog(capsys):
    assert main(["hw", "devices"]) == 0
    out = capsys.readouterr().out
    assert "ZCU104" in out and "xczu7ev" in out and "230400" in out


def test_estimate_writes_outputs_and_rejects_bad_folding(tmp_path, capsys):
    model = tmp_path / "m.onnx"
    onnx.save(residual_net(nas=False), str(model))
    out = tmp_path / "hw"
    assert (
        main(["hw", "estimate", str(model), "--target-fps", "20000", "--clock-ns", "5", "--out", str(out)])
        == 0
    )
    data = json.loads((out / "estimate.json").read_text())
    assert data["settings"]["fold"] == "target_fps" and data["max_cycles"] < 10_000
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"MVAU_hls_0": {"PE": 3}}))
    assert main(["hw", "estimate", str(model), "--folding", str(bad)]) == 2
    assert "MVAU_hls_0: PE=3 is illegal; legal values" in capsys.readouterr().err


@pytest.fixture()
def model_file(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(residual_net(nas=False), str(path))
    return path


@pytest.mark.parametrize("content", [b"", b"\x08\x07garbage\xff\xfe" * 20])
def test_empty_or_corrupt_onnx_is_a_one_line_error(tmp_path, capsys, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    assert main(["hw", "estimate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}") and "re-export it" in err and "\n" not in err


@pytest.mark.parametrize("fps", ["0", "-5", "nan", "inf"])
def test_non_positive_target_fps_is_refused(model_file, capsys, fps):
    assert main(["hw", "estimate", str(model_file), "--target-fps", fps]) == 2
    assert "--target-fps must be a positive number of frames/s" in capsys.readouterr().err
    assert main(["hw", "estimate", str(model_file), "--target-fps", "100", "--fold", "max"]) == 2


def test_float_model_assumptions_are_printed(tmp_path, capsys):
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    fc = numpy_helper.from_array(np.ones((4 * 6 * 6, 10), np.float32), "fc")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "fc"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "float",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [w, fc],
    )
    path = tmp_path / "float.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    assert main(["hw", "estimate", str(path), "--out", str(tmp_path / "hw")]) == 0
    out = capsys.readouterr().out
    assert "note: 1 unquantised (float) stream(s) assumed UINT8 (x)" in out
    assert "note: 2 unquantised (float) weight tensor(s) assumed INT8" in out
    data = json.loads((tmp_path / "hw" / "estimate.json").read_text())
    assert len(data["warnings"]) == 2 and any("assumed INT8" in a for a in data["assumptions"])


def test_quantised_model_prints_no_float_note(model_file, capsys):
    assert main(["hw", "estimate", str(model_file)]) == 0
    assert "note:" not in capsys.readouterr().out


def test_fold_modes_are_named_printed_and_recorded(model_file, tmp_path, capsys):
    runs = {}
    for mode in ("max", "max-relaxed", "max-unrelaxed"):
        out = tmp_path / mode
        assert main(["hw", "estimate", str(model_file), "--fold", mode, "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        runs[mode] = json.loads((out / "estimate.json").read_text())
        label = "max-unrelaxed" if mode == "max-unrelaxed" else "max-relaxed"
        assert f"folding: {label}: " in printed
        assert runs[mode]["settings"]["fold_mode"] == label and runs[mode]["folding"].startswith(label)
    assert runs["max"]["totals"] == runs["max-relaxed"]["totals"]  # max stays what it was
    relaxed, unrelaxed = runs["max-relaxed"], runs["max-unrelaxed"]
    assert unrelaxed["settings"]["two_pass_relaxation"] is False
    assert unrelaxed["max_cycles"] == relaxed["max_cycles"]  # same bottleneck, same fps ...
    assert unrelaxed["totals"]["lut"] > relaxed["totals"]["lut"]  # ... every other layer fully parallel
    assert unrelaxed["latency_ms"] < relaxed["latency_ms"]
