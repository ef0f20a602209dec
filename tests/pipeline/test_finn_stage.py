"""The optional ``finn`` stage of ``nash run`` (issue 10): FINN+ on every exported model when the
experiment has a ``finn:`` section, off without one. FINN+ itself is replaced by a fake here (the
real compiler on real exports is tested in tests/finn); this checks the pipeline's wiring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_records import EXP, _cfg, _run, fakes  # noqa: F401 - fixture re-used

from nash.errors import ConfigError


class FakeFinn:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def build(self, onnx_path, out_dir, **kw):
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.calls.append({"onnx": Path(onnx_path), "out": out, **kw})
        summary = {
            "performance": {"fps": 512.0, "latency_ms": 2.5},
            "resources": {"LUT": 1234.0, "BRAM_18K": 7.0, "URAM": 0.0, "DSP": 0.0},
            "check": {"n": kw.get("n_check", 1000), "top1_agreement": 1.0, "max_abs_diff": 0.0, "ok": True},
        }
        (out / "finn_build.json").write_text(json.dumps(summary))
        return summary


@pytest.fixture
def finn(monkeypatch):
    import nash.finn

    fake = FakeFinn()
    monkeypatch.setattr(nash.finn, "build", fake.build)
    return fake


def test_finn_stage_is_off_without_a_section(fakes, finn, tmp_path):  # noqa: F811
    rows = _run(_cfg(), tmp_path / "exp", to="finn")
    assert finn.calls == [] and not (tmp_path / "exp" / "finn").exists()
    assert all("finn_fps" not in r for r in rows)


def test_finn_stage_compiles_every_cell_with_its_checkpoint(fakes, finn, tmp_path):  # noqa: F811
    root = tmp_path / "exp"
    rows = _run(_cfg(finn={"target_fps": 500, "n_check": 16}), root, to="finn")
    assert len(finn.calls) == len(rows) == 2
    for call, row in zip(finn.calls, rows, strict=True):
        cell = f"{row['backbone']}-{row['version']}-{row['bits']}"
        assert call["onnx"] == root / "export" / cell / "model.onnx"
        assert call["checkpoint"] == root / "train" / cell / "best.pt"
        assert call["out"] == root / "finn" / cell / "finn"
        assert call["target_fps"] == 500.0 and call["n_check"] == 16
        assert row["finn_fps"] == 512.0 and row["finn_lut"] == 1234.0 and row["finn_top1_agreement"] == 1.0
        record = json.loads((root / "finn" / cell / "stage.json").read_text())
        assert record["status"] == "ok" and record["settings"] == {"target_fps": 500.0, "n_check": 16}
    finn.calls.clear()
    _run(_cfg(finn={"target_fps": 500, "n_check": 16}), root, to="finn")
    assert finn.calls == []  # done: skipped
    _run(_cfg(finn={"target_fps": 800, "n_check": 16}), root, to="finn")
    assert [c["target_fps"] for c in finn.calls] == [800.0, 800.0]  # a changed setting re-runs it


def test_finn_folding_hw_uses_the_hw_stage_folding(fakes, finn, tmp_path):  # noqa: F811
    root = tmp_path / "exp"
    _run(_cfg(finn={"folding": "hw"}), root, to="finn")
    assert {c["folding"] for c in finn.calls} == {
        str(root / "hw" / cell / "folding_config.json") for cell in ("resnet18-o-w2a2", "resnet18-v4-w2a2")
    }


def test_bad_finn_section_fails_before_anything_runs(fakes, finn, tmp_path):  # noqa: F811
    with pytest.raises(ConfigError, match="unknown config key 'finn.target'; valid keys: target_fps"):
        _run(_cfg(finn={"target": 500}), tmp_path / "exp", to="finn")
    with pytest.raises(ConfigError, match="section 'finn'"):
        _run(_cfg(finn={"n_check": "many"}), tmp_path / "exp", to="finn")
    assert fakes.calls == [] and finn.calls == []
    assert EXP.get("finn") is None
