"""export_checkpoint / `nash export`: files written, errors clean, nothing partial left behind."""

from __future__ import annotations

import json

import pytest
import torch

from nash.cli import main
from nash.errors import ModelError
from nash.export import export_checkpoint

SIZE, WIDTH = 28, 4  # as in conftest.build_tiny


def _checkpoint(tmp_path, exported, **arch_changes):
    from nash.models import arch_dict

    model, _ = exported("o", "w4a4")
    arch = arch_dict(
        "resnet18",
        "o",
        "w4a4",
        None,
        10,
        in_channels=1,
        width=WIDTH,
        stem="small",
        input_shape=(1, SIZE, SIZE),
    )
    arch.update(arch_changes)
    path = tmp_path / "run" / "best.pt"
    path.parent.mkdir()
    torch.save(
        {"arch": arch, "model": model.state_dict(), "data": {"dataset": "fashion-mnist"}, "epoch": 1}, path
    )
    return path


def test_export_writes_verified_model_and_report(tmp_path, exported, images, capsys):
    ckpt = _checkpoint(tmp_path, exported)
    out = tmp_path / "run" / "model.onnx"
    check = export_checkpoint(ckpt, out, n_check=16, images=images, onnxruntime=False, progress=False)
    assert out.is_file() and not (tmp_path / "run" / "model.unverified.onnx").exists()
    saved = json.loads((tmp_path / "run" / "export_check.json").read_text())
    assert saved["ok"] is True and saved["n"] == 16 and saved["top1_agreement"] == 1.0
    assert saved["max_abs_diff"] <= saved["qonnx"]["tolerance"] and saved["conformance"] == []
    assert saved["macs"]["nash"] == saved["macs"]["qonnx_inference_cost"] > 0
    assert check["ok"] and "skipped" in check["onnxruntime"]
    assert main(["export", "--check", str(out), "--strict"]) == 0
    assert "0 dataflow-conformance violation(s)" in capsys.readouterr().out


def test_export_with_real_test_images(tmp_path, exported, fmnist_dir):
    ckpt = _checkpoint(tmp_path, exported)
    out = tmp_path / "run" / "model.onnx"
    rc = main(
        [
            "export",
            str(ckpt),
            "--out",
            str(out),
            "--n-check",
            "8",
            "--data",
            str(fmnist_dir),
            "--no-progress",
            "--skip-onnxruntime",
        ]
    )
    saved = json.loads((tmp_path / "run" / "export_check.json").read_text())
    assert rc == 0 and out.is_file() and saved["n"] == 8 and saved["top1_agreement"] == 1.0


def test_corrupt_checkpoint_is_a_clean_error(tmp_path, capsys):
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"PK\x03\x04 truncated")
    out = tmp_path / "model.onnx"
    with pytest.raises(ModelError, match="corrupt"):  # the one checkpoint error of nash.runtime
        export_checkpoint(ckpt, out, images=None)
    assert main(["export", str(ckpt), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: checkpoint") and "\n" not in err
    assert list(tmp_path.iterdir()) == [ckpt]


def test_missing_checkpoint_and_missing_onnx(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        export_checkpoint(tmp_path / "nope.pt", tmp_path / "m.onnx")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ModelError, match="lacks arch, model"):
        export_checkpoint(foreign, tmp_path / "m.onnx")
    foreign.unlink()
    assert main(["export", "--check", str(tmp_path / "nope.onnx")]) == 2
    assert list(tmp_path.iterdir()) == []


def test_wrong_architecture_is_a_model_error_and_leaves_no_file(tmp_path, exported):
    ckpt = _checkpoint(tmp_path, exported, width=8)
    with pytest.raises(ModelError, match="do not match its architecture"):
        export_checkpoint(ckpt, tmp_path / "run" / "model.onnx", progress=False)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["best.pt"]
