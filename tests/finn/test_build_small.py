"""Fast FINN+ tests on a tiny residual QONNX graph: the build, folding files, bad input, atomic output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from nash.errors import FoldingError
from nash.finn import FinnError, FinnNotInstalledError, UnmappedNodesError, build

sys.path.insert(0, str(Path(__file__).resolve().parent))
from finn_graphs import tiny_nas, tiny_residual  # noqa: E402


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.onnx"
    onnx.save(tiny_residual(same_grid=True), path)
    return path


@pytest.fixture()
def tiny_bad(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_bad.onnx"
    onnx.save(tiny_residual(same_grid=False), path)
    return path


def test_tiny_build_all_hw_and_reports(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    s = build(tiny, out, progress=False)
    assert s["nodes"]["all_hw_layers"] and s["nodes"]["outside_partition"] == ["Transpose_0 (Transpose)"]
    assert s["folding"]["mode"] == "max"
    assert s["performance"]["fps"] > 0 and s["resources"]["LUT"] > 0
    for name in (
        "estimate_layer_cycles.json",
        "estimate_layer_resources.json",
        "estimate_network_performance.json",
        "auto_folding_config.json",
    ):
        assert (out / "report" / name).is_file()
    assert json.loads((out / "finn_build.json").read_text())["performance"] == s["performance"]
    assert not list(tmp_path.glob(".out.tmp-*"))


def test_streamlined_graph_matches_qonnx_execution(tiny: Path, tmp_path: Path) -> None:
    """The streamlined integer graph computes the QONNX graph's logits from raw pixels."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    from nash.finn.execute import execute_batched

    build(tiny, tmp_path / "out", progress=False)
    streamlined = ModelWrapper(str(tmp_path / "out" / "intermediate_models" / "streamlined.onnx"))
    from qonnx.transformation.infer_shapes import InferShapes

    ref = ModelWrapper(str(tiny)).transform(InferShapes())
    pixels = np.random.default_rng(0).integers(0, 256, (6, 1, 8, 8)).astype(np.float32)
    ours = execute_batched(streamlined, pixels).reshape(6, -1)
    for k in range(6):  # the QONNX graph reads pixels / 255 (the default preprocessing)
        want = execute_onnx(ref, {"inp": pixels[k : k + 1] / np.float32(255)})[ref.graph.output[0].name]
        np.testing.assert_allclose(ours[k], want.reshape(-1), rtol=1e-5, atol=1e-5)


def test_tiny_nas_cell(tmp_path: Path) -> None:
    """Forked ReLU, max-pool edge, identity edge, cascaded adds: all HW layers, integer graph exact."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    from nash.finn.execute import execute_batched

    path = tmp_path / "nas.onnx"
    onnx.save(tiny_nas(), path)
    s = build(path, tmp_path / "out", progress=False)
    kinds = s["nodes"]["hw_layer_kinds"]
    assert s["nodes"]["all_hw_layers"] and kinds["ElementwiseAdd_hls"] == 2 and kinds["Pool_hls"] == 1
    assert kinds["DuplicateStreams_hls"] >= 1
    streamlined = ModelWrapper(str(tmp_path / "out" / "intermediate_models" / "streamlined.onnx"))
    ref = ModelWrapper(str(path)).transform(InferShapes())
    pixels = np.random.default_rng(1).integers(0, 256, (6, 1, 8, 8)).astype(np.float32)
    ours = execute_batched(streamlined, pixels).reshape(6, -1)
    for k in range(6):
        want = execute_onnx(ref, {"inp": pixels[k : k + 1] / np.float32(255)})[ref.graph.output[0].name]
        np.testing.assert_allclose(ours[k], want.reshape(-1), rtol=1e-5, atol=1e-5)


def test_folding_file_mapped_by_kind(tiny: Path, tmp_path: Path) -> None:
    """A nash-hw style folding file (its own layer names) is mapped onto FINN+'s nodes."""
    folding = {
        "Defaults": {},
        "MVAU_hls_0": {"PE": 2, "SIMD": 3},
        "MVAU_hls_1": {"PE": 4, "SIMD": 4},
        "MVAU_rtl_0": {"PE": 2, "SIMD": 1},
        "AddStreams_hls_0": {"PE": 2},
        "StreamingFIFO_0": {"depth": 32},
    }
    f = tmp_path / "folding.json"
    f.write_text(json.dumps(folding))
    s = build(tiny, tmp_path / "out", folding=f, progress=False)
    assert s["folding"]["mode"] == "file"
    mvaus = [r for r in s["layers"] if r["op_type"].startswith("MVAU")]
    assert [(r["PE"], r["SIMD"]) for r in mvaus] == [(2, 3), (4, 4), (2, 1)]
    adds = [r for r in s["layers"] if r["op_type"].startswith("ElementwiseAdd")]
    assert adds[0]["PE"] == 2
    applied = json.loads((tmp_path / "out" / "report" / "applied_folding_config.json").read_text())
    assert applied[mvaus[0]["name"]]["SIMD"] == 3


def test_folding_file_illegal_value(tiny: Path, tmp_path: Path) -> None:
    f = tmp_path / "folding.json"
    f.write_text(json.dumps({"MVAU_hls_0": {"PE": 3}, "MVAU_hls_1": {"PE": 1}, "MVAU_rtl_0": {"PE": 1}}))
    with pytest.raises(FoldingError, match="does not divide"):
        build(tiny, tmp_path / "out", folding=f, progress=False)
    f.write_text(json.dumps({"MVAU_hls_0": {"PE": 1}}))  # one MVAU of three: ambiguous
    with pytest.raises(FoldingError, match="1 MVAU entries in the file .* but FINN\\+ has 3"):
        build(tiny, tmp_path / "out", folding=f, progress=False)


def test_unsupported_graph_names_nodes_and_keeps_previous_run(
    tiny: Path, tiny_bad: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    build(tiny, out, progress=False)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(UnmappedNodesError, match=r"Add_0 \(Add\)") as exc:
        build(tiny_bad, out, progress=False)
    assert "Add_0" in exc.value.nodes
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the previous complete run is untouched
    assert (tmp_path / "out.failed" / "intermediate_models" / "hw_layers.onnx").is_file()


def test_missing_and_corrupt_model(tmp_path: Path) -> None:
    with pytest.raises(FinnError, match="not found"):
        build(tmp_path / "nope.onnx", tmp_path / "out", progress=False)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07not an onnx file at all" * 10)
    with pytest.raises(FinnError, match="not a readable ONNX file"):
        build(bad, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_finn_missing_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from nash.finn import _env

    _env.require_finn.cache_clear()
    monkeypatch.setitem(sys.modules, "finn", None)
    try:
        with pytest.raises(FinnNotInstalledError, match=r'pip install -e "\.\[finn\]"') as exc:
            _env.require_finn()
        assert "\n" not in str(exc.value)
    finally:
        monkeypatch.undo()
        _env.require_finn.cache_clear()


def test_cli_errors_are_one_line(tiny_bad: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nash.cli import main

    assert main(["finn", "build", str(tmp_path / "missing.onnx"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not found" in err and "\n" not in err
    assert main(["finn", "build", str(tiny_bad), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot become FINN+ HW layers" in err and "Add_0 (Add)" in err and "\n" not in err


def test_cli_build_prints_summary(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nash.cli import main

    rc = main(
        [
            "finn",
            "build",
            str(tiny),
            "--out",
            str(tmp_path / "o"),
            "--target-fps",
            "5000",
            "--clock-ns",
            "5",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "HW layers in one dataflow partition" in out and "fps" in out
    assert "Vivado/Vitis not found" in out


def test_without_label_select_output_scale_stays_outside(tiny: Path, tmp_path: Path) -> None:
    s = build(tiny, tmp_path / "out", label_select=False, progress=False)
    outside = s["nodes"]["outside_partition"]
    assert outside[0] == "Transpose_0 (Transpose)" and len(outside) == 2 and outside[1].endswith("(Mul)")
    assert "LabelSelect_hls" not in s["nodes"]["hw_layer_kinds"]


def test_finn_exception_becomes_one_line_error(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception inside FINN+ (here provoked with FINN's unguarded MakeMaxPoolNHWC, which rewires
    the forked stem max-pool wrongly) is reported as one FinnError line naming the step."""
    from finn.transformation.streamline.reorder import MakeMaxPoolNHWC

    from nash.finn import steps

    monkeypatch.setattr(steps, "SafeMakeMaxPoolNHWC", MakeMaxPoolNHWC)
    with pytest.raises(FinnError, match=r"FINN\+ failed in step convert_to_hw: FINNUserError") as exc:
        build(tiny, tmp_path / "out", progress=False)
    assert "\n" not in str(exc.value) and not (tmp_path / "out").exists()


def test_folding_from_nash_hw_estimate(tiny: Path, tmp_path: Path) -> None:
    """`nash hw estimate --out` output (folding_config.json + estimate.json) drives the FINN+ folding:
    every layer is matched (by kind, shape and order) and the cycles agree with nash.hw's."""
    from nash.config.hw import HwConfig
    from nash.hw import estimate_model, write_estimate

    est = estimate_model(tiny, HwConfig(fold="target_fps", target_fps=20000, clock_ns=5.0), progress=False)
    write_estimate(est, tmp_path / "hw")
    s = build(
        tiny, tmp_path / "out", folding=tmp_path / "hw" / "folding_config.json", clock_ns=5.0, progress=False
    )
    assert s["folding"]["mode"] == "file" and len(s["folding"]["mapping"]) == len(est.layers)
    ours = {la.name: c.cycles for la, c in zip(est.layers, est.costs)}
    theirs = {r["name"]: r["cycles"] for r in s["layers"]}
    mvau = [k for k in s["folding"]["mapping"] if k.startswith("MVAU")]
    assert mvau and all(ours[k] == theirs[s["folding"]["mapping"][k]] for k in mvau)
    assert s["performance"]["max_cycles"] == est.max_cycles


def test_device_fit(tiny: Path, tmp_path: Path) -> None:
    """--device alone: bisection over FINN+ SetFolding targets; 5 % of a Pynq-Z1 (2660 LUT) rules out
    the fully parallel folding (~3000 LUT) but not the fully folded one (~1900 LUT)."""
    s = build(tiny, tmp_path / "out", device="Pynq-Z1", utilization=0.05, progress=False)
    assert s["part"] == "xc7z020clg400-1" and s["clock_ns"] == 10.0
    fold = s["folding"]
    assert fold["mode"] == "fit" and fold["device"] == "Pynq-Z1" and fold["fits"]
    assert not fold["probes"][0]["fits"] and len(fold["probes"]) > 2
    assert s["resources"]["LUT"] <= 0.05 * 53200
    assert s["performance"]["max_cycles"] < fold["probes"][1]["max_cycles"]  # faster than fully folded
