"""``nash hw devices`` and ``nash hw estimate`` through the CLI entry point."""

from __future__ import annotations

import json

import onnx
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
