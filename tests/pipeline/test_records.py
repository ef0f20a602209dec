"""Issue 15 items 1, 3, 6, 7, 8, 12 and issue 13 (the step table), on a pipeline whose stages are fakes.

The stage functions (``run_training``, ``export_checkpoint``, ``estimate_model``) are replaced by
fast fakes that write small artefacts, so these tests check the pipeline's bookkeeping in seconds;
``test_pipeline.py`` runs the real stages.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from nash.analysis.runs import experiment_running
from nash.config.base import from_dict, load_config, save_config
from nash.config.pipeline import STAGES, ExperimentConfig
from nash.errors import ConfigError, LockError
from nash.pipeline import StageChanged, run_experiment
from nash.pipeline.lock import LOCK_NAME, experiment_lock, lock_holder
from nash.pipeline.steps import STEPS

EXP = {
    "name": "fake",
    "versions": ["o", "v4"],
    "bits": ["w2a2"],
    "reference_genotypes": "paper",
    "train": {"width": 4, "epochs": 1, "lr": 0.1, "train_subset": 64, "stem": "small"},
    "export": {"n_check": 8, "onnxruntime": False},
    "hw": {"fold": "max", "clock_ns": 5.0},
}


class Fakes:
    """Counting fakes of the three expensive stages."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []

    def run_training(self, cfg, out_dir, *, resume=False, progress=True):
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.calls.append(("train", out.name, resume))
        save_config(cfg, out / "config.yaml")
        (out / "best.pt").write_bytes(f"weights {cfg.version} {cfg.bits} lr={cfg.lr}".encode() * 50)
        return {
            "top1": 80.0,
            "top5": 99.0,
            "epoch": 1,
            "params": 10,
            "macs": 100,
            "best_path": str(out / "best.pt"),
        }

    def export_checkpoint(self, ckpt, out_path, **kw):
        out = Path(out_path)
        self.calls.append(("export", out.parent.name, False))
        out.write_bytes(b"onnx:" + Path(ckpt).read_bytes()[:32])
        (out.parent / "export_check.json").write_text('{"ok": true}')
        return {"ok": True, "max_abs_diff": 0.0, "top1_agreement": 1.0, "n": 8, "conformance": []}

    def estimate_model(self, onnx_path, cfg):
        self.calls.append(("hw", Path(onnx_path).parent.name, False))
        return SimpleNamespace(fps=100.0, latency_ms=1.0, totals={"lut": 10, "bram18": 2, "dsp": 0, "uram": 0},
                               device=None, fits=None, path=str(onnx_path))  # fmt: skip

    def write_estimate(self, est, out_dir):
        Path(out_dir, "estimate.json").write_text(json.dumps({"fps": est.fps}))

    def trained(self) -> list[str]:
        return [name for stage, name, _ in self.calls if stage == "train"]


@pytest.fixture
def fakes(monkeypatch):
    import nash.export
    import nash.hw
    import nash.train

    f = Fakes()
    monkeypatch.setattr(nash.train, "run_training", f.run_training)
    monkeypatch.setattr(nash.export, "export_checkpoint", f.export_checkpoint)
    monkeypatch.setattr(nash.hw, "estimate_model", f.estimate_model)
    monkeypatch.setattr(nash.hw, "write_estimate", f.write_estimate)
    return f


def _cfg(**changes) -> ExperimentConfig:
    data = json.loads(json.dumps(EXP))
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            data[section][name] = value
        else:
            data[key] = value
    return from_dict(ExperimentConfig, data)


def _run(cfg, root, logs=None, **kw):
    return run_experiment(cfg, root, to=kw.pop("to", "hw"), progress=False,
                          log=(logs.append if logs is not None else lambda s: None), **kw)  # fmt: skip


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_changed_train_setting_is_refused_and_records_stay_true(fakes, tmp_path):
    """Item 1: editing train.lr used to 'finish' in 1.7 s and rewrite stage.json/config.yaml."""
    root = tmp_path / "exp"
    _run(_cfg(), root)
    cell = root / "train" / "resnet18-o-w2a2"
    before = {p.name: _md5(p) for p in (cell / "stage.json", cell / "config.yaml", cell / "best.pt")}
    fakes.calls.clear()
    with pytest.raises(
        StageChanged,
        match=r"train resnet18-o-w2a2 \(and 1 more cells\).*train\.lr 0\.1 -> 0\.02.*--rerun train",
    ):
        _run(_cfg(train__lr=0.02), root)
    assert fakes.calls == []
    assert {p: _md5(cell / p) for p in before} == before
    # --rerun train accepts the change: both cells train afresh, export and hw follow (inputs changed)
    logs: list[str] = []
    rows = _run(_cfg(train__lr=0.02), root, logs, rerun=["train"])
    assert sorted(fakes.trained()) == ["resnet18-o-w2a2", "resnet18-v4-w2a2"]
    assert [s for s, _, _ in fakes.calls].count("export") == 2
    from nash.config.train import TrainConfig

    assert load_config(TrainConfig, cell / "config.yaml").lr == 0.02
    assert json.loads((cell / "stage.json").read_text())["settings"]["lr"] == 0.02
    assert all(r["status"] == "ok" for r in rows)
    assert any("settings changed (train.lr 0.1 -> 0.02)" in line for line in logs), logs
    # the same command again (e.g. after an interrupt) skips what already ran with the new settings
    fakes.calls.clear()
    _run(_cfg(train__lr=0.02), root, rerun=["train"])
    assert fakes.calls == []


def test_changed_hw_setting_reruns_hw_only_and_free_keys_are_ignored(fakes, tmp_path):
    """Item 1, the other case: hw/export settings are cheap and deterministic, so they re-run."""
    root = tmp_path / "exp"
    _run(_cfg(), root)
    fakes.calls.clear()
    _run(_cfg(hw__clock_ns=4.0, train__workers=0, train__device="cpu"), root)
    assert sorted(s for s, _, _ in fakes.calls) == ["hw", "hw"]
    assert (
        json.loads((root / "hw" / "resnet18-o-w2a2" / "stage.json").read_text())["settings"]["clock_ns"]
        == 4.0
    )


def test_interrupted_stage_with_changed_settings_is_refused(fakes, tmp_path):
    """Item 1: a stage interrupted and then resumed with another lr would mix two runs."""
    root = tmp_path / "exp"
    _run(_cfg(versions=["o"]), root, to="train")
    marker = root / "train" / "resnet18-o-w2a2" / "stage.json"
    record = json.loads(marker.read_text())
    marker.write_text(json.dumps({**record, "status": "running"}))
    with pytest.raises(StageChanged, match="train.lr 0.1 -> 0.5"):
        _run(_cfg(versions=["o"], train__lr=0.5), root, to="train")
    fakes.calls.clear()
    _run(_cfg(versions=["o"]), root, to="train")
    assert fakes.calls == [("train", "resnet18-o-w2a2", True)]  # same settings: resumed


def test_refuse_changed_config_for_train_resume(tmp_path):
    """Item 1 (``nash train --resume --lr``): the helper train/search call before writing config.yaml."""
    from nash.records import config_diff, refuse_changed_config

    stored = tmp_path / "config.yaml"
    stored.write_text("lr: 0.05\nepochs: 2\ndevice: cpu\nsub: {a: 1}\n")
    refuse_changed_config(
        stored, {"lr": 0.05, "epochs": 2, "device": "cuda", "sub": {"a": 1}}, ignore=["device"]
    )
    with pytest.raises(
        ConfigError,
        match=r"config.yaml was run with other settings \(epochs 2 -> 3, lr 0.05 -> 0.5\); resume",
    ):
        refuse_changed_config(stored, {"lr": 0.5, "epochs": 3, "device": "cpu", "sub": {"a": 1}},
                              fix="resume without the changed flags or train into a new --out")  # fmt: skip
    refuse_changed_config(tmp_path / "none.yaml", {"lr": 1})  # nothing stored yet: fine
    assert config_diff({"a": [1, 2], "b": 1, "n": {"x": 1}}, {"a": (1, 2), "b": 1.0, "n": {"x": 2}}) == [
        ("n.x", 1, 2)
    ]


def test_missing_sections_and_empty_file_are_errors(tmp_path):
    """Item 3: no train:/search: section (or an empty file) silently ran paper-scale defaults."""
    from nash.pipeline.steps import check_sections

    with pytest.raises(ConfigError, match="no 'train:' section"):
        check_sections(from_dict(ExperimentConfig, {"reference_genotypes": "paper"}))
    with pytest.raises(ConfigError, match="no 'search:' section.*reference_genotypes: paper"):
        check_sections(from_dict(ExperimentConfig, {"train": {"width": 4}}))
    check_sections(
        from_dict(ExperimentConfig, {"versions": ["o"], "train": {"width": 4}})
    )  # no search needed
    check_sections(from_dict(ExperimentConfig, {"reference_genotypes": "paper"}), to="search")
    empty = tmp_path / "exp.yaml"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_config(ExperimentConfig, empty)
    with pytest.raises(ConfigError, match="no 'train:' section"):
        run_experiment(from_dict(ExperimentConfig, {"versions": ["o"]}), tmp_path / "x", log=lambda s: None)
    assert not (tmp_path / "x").exists()


def test_truncated_checkpoint_is_not_done_and_retrains(fakes, tmp_path, monkeypatch, capsys):
    """Item 6: a truncated best.pt said 'done already'; now it is checked against its record."""
    root = tmp_path / "exp"
    _run(_cfg(versions=["o"]), root)
    best = root / "train" / "resnet18-o-w2a2" / "best.pt"
    best.write_bytes(best.read_bytes()[:100])
    fakes.calls.clear()
    logs: list[str] = []
    rows = _run(_cfg(versions=["o"]), root, logs)
    assert fakes.trained() == ["resnet18-o-w2a2"]
    assert not any("train resnet18-o-w2a2] done already" in line for line in logs)
    assert any("best.pt 100 bytes, recorded" in line for line in logs), logs
    assert rows[0]["status"] == "ok" and best.stat().st_size > 100
    # same size, other bytes: the checksum catches it
    best.write_bytes(b"x" * best.stat().st_size)
    fakes.calls.clear()
    _run(_cfg(versions=["o"]), root)
    assert fakes.trained() == ["resnet18-o-w2a2"]
    # what `nash report` warns about (and a report should show instead of "ok")
    from nash.pipeline.stage import damaged_artefacts

    assert damaged_artefacts(root) == {}
    size = best.stat().st_size
    best.write_bytes(best.read_bytes()[:10])
    assert damaged_artefacts(root) == {"train/resnet18-o-w2a2/best.pt": f"10 bytes, recorded {size}"}
    import nash.analysis
    from nash.cli import main

    monkeypatch.setattr(nash.analysis, "write_report", lambda d: Path(d) / "report" / "report.html")
    assert main(["report", str(root)]) == 0
    assert "warning: train/resnet18-o-w2a2/best.pt is damaged (10 bytes" in capsys.readouterr().err


def test_truncated_results_row_is_refused(tmp_path, capsys):
    """Item 6: a results.csv row cut short read as status ok."""
    from nash.cli import main

    (tmp_path / "results.csv").write_text(
        "backbone,version,bits,top1,status,error_message\nresnet18,o,w2a2,80.0,ok,\nresnet18,v4,w2a2,7\n"
    )
    assert main(["pareto", str(tmp_path / "results.csv")]) == 2
    err = capsys.readouterr().err
    assert "line 3 has 4 cells, the header 6" in err and len(err.strip().splitlines()) == 1
    assert main(["report", str(tmp_path)]) == 2
    assert "truncated" in capsys.readouterr().err


def test_experiment_runs_from_another_cwd_and_after_a_move(fakes, tmp_path, monkeypatch):
    """Item 7: records held cwd-relative paths; another cwd or a moved experiment failed every cell."""
    monkeypatch.chdir(tmp_path)
    rows = _run(_cfg(), Path("runs/exp"))
    assert all(r["status"] == "ok" for r in rows)
    assert rows[1]["genotype_path"] == "search/resnet18-v4/genotype.json"
    assert rows[1]["checkpoint_path"] == "train/resnet18-v4-w2a2/best.pt"
    for marker in (tmp_path / "runs/exp").rglob("stage.json"):
        assert str(tmp_path) not in marker.read_text() and "runs/exp" not in marker.read_text()
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    fakes.calls.clear()
    again = _run(_cfg(), tmp_path / "runs/exp")
    assert fakes.calls == [] and again == rows
    moved = tmp_path / "moved" / "exp2"
    shutil.move(str(tmp_path / "runs/exp"), moved)
    logs: list[str] = []
    again = _run(_cfg(), moved, logs)
    assert fakes.calls == [] and again == rows
    assert all("skipped" in line for line in logs if line.startswith("[") and not line.startswith("[grid"))
    for r in again:
        for col in ("checkpoint_path", "onnx_path", "estimate_path"):
            assert (moved / r[col]).is_file()


def test_second_run_on_the_same_directory_is_locked(fakes, tmp_path):
    """Item 8: two runs on one --out raced; the second is refused naming the holder's pid."""
    root = tmp_path / "exp"
    root.mkdir()
    with experiment_lock(root, log=lambda s: None):
        with pytest.raises(LockError, match=rf"in use by another nash run: pid {os.getpid()}"):
            _run(_cfg(versions=["o"]), root)
    assert fakes.calls == []
    # a lock left by a process that died (SIGKILL) is taken over, with a message naming it
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (root / LOCK_NAME).write_text(f"pid={dead.stdout.strip()}\nhost=x\nstarted=2026-01-01T00:00:00\n")
    logs: list[str] = []
    _run(_cfg(versions=["o"]), root, logs, to="train")
    assert any(
        f"taking over the lock of {root}: its holder (pid {dead.stdout.strip()}" in line for line in logs
    )
    assert (root / LOCK_NAME).read_text() == ""  # released


def test_lock_held_by_another_process_names_its_pid(tmp_path):
    """Item 8 across processes: the kernel lock is per process, the message names the holder."""
    code = (
        "import sys, time; from nash.pipeline.lock import experiment_lock\n"
        "with experiment_lock(sys.argv[1], log=lambda s: None):\n"
        "    print('held', flush=True); time.sleep(30)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockError, match=rf"pid {holder.pid} "):
            with experiment_lock(tmp_path, log=lambda s: None):
                pass
        # what the report asks to tell "running" from "interrupted" (it only looks, never locks)
        assert lock_holder(tmp_path)["pid"] == str(holder.pid) and experiment_running(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert lock_holder(tmp_path) is None and not experiment_running(tmp_path)
    with experiment_lock(tmp_path, log=lambda s: None):  # a killed holder frees it at once
        assert not experiment_running(tmp_path)  # the report written by this very run
    assert lock_holder(tmp_path / "elsewhere") is None and not (tmp_path / "elsewhere").exists()


def test_progress_lines_and_step_table(fakes, tmp_path):
    """Item 12 + issue 13: a line per stage, overall progress with an ETA; the runner walks STEPS."""
    assert [s.name for s in STEPS] == list(STAGES[:-1])
    logs: list[str] = []
    _run(_cfg(bits=["w2a2", "w4a4"]), tmp_path / "exp", logs)
    assert any(line.startswith("[export resnet18-o-w2a2] exporting to QONNX") for line in logs)
    grid = [line for line in logs if line.startswith("[grid")]
    assert grid[0].startswith("[grid 1/4 cells, 25 %") and "left]" in grid[0]
    assert grid[-1].startswith("[grid 4/4 cells, 100 %")
    logs.clear()
    _run(_cfg(bits=["w2a2", "w4a4"], versions=["o"]), tmp_path / "exp2", logs, to="export")
    assert {s for s, _, _ in fakes.calls} == {"train", "export", "hw"}  # hw only from the first run
    assert not (tmp_path / "exp2" / "hw").exists()


def test_records_of_older_runs_are_still_honoured(fakes, tmp_path):
    """Experiments written before schema 2 (cwd-relative paths, no checksums) are skipped, not redone."""
    root = tmp_path / "exp"
    rows = _run(_cfg(), root)
    for marker in root.glob("*/*/stage.json"):
        rec = json.loads(marker.read_text())
        settings = dict(rec["settings"])
        if rec["stage"] == "train":
            settings["genotype"] = "runs/old/search/resnet18-v4/genotype.json"
        outputs = {**rec["outputs"], "checkpoint": "runs/old/train/x/best.pt"}
        marker.write_text(json.dumps({"stage": rec["stage"], "status": "ok", "fingerprint": "0" * 16,
                                      "settings": settings, "outputs": outputs, "seconds": 1.0}))  # fmt: skip
    fakes.calls.clear()
    assert _run(_cfg(), root) == rows
    assert fakes.calls == []


# ---------------------------------------------------------------- stage records: times, failures, classes


def _record(root: Path, stage: str, cell: str) -> dict:
    return json.loads((root / stage / cell / "stage.json").read_text())


def test_finished_record_keeps_started_and_its_attempt(fakes, tmp_path):
    """A finished stage.json says when the stage started, not only when it finished."""
    root = tmp_path / "exp"
    _run(_cfg(versions=["o"]), root)
    for stage in ("train", "export", "hw"):
        rec = _record(root, stage, "resnet18-o-w2a2")
        assert rec["status"] == "ok" and rec["started"] <= rec["finished"], rec
        assert rec["attempts"] == [
            {
                "started": rec["started"],
                "finished": rec["finished"],
                "seconds": rec["seconds"],
                "status": "ok",
            }
        ]
        assert rec["seconds_total"] == rec["seconds"]


def test_seconds_total_counts_the_interrupted_attempt(fakes, tmp_path, monkeypatch):
    """A resumed stage recorded only its last part; the report's run times now count every attempt."""
    import time

    import nash.train
    from nash.analysis import load_results, write_report
    from nash.analysis import review as rv
    from nash.analysis.runs import cell_records, search_records

    def killed(cfg, out_dir, *, resume=False, progress=True):
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "last.pt").write_bytes(b"epoch 1")
        raise KeyboardInterrupt  # SIGINT (or SIGKILL) mid-training: no record is finished

    monkeypatch.setattr(nash.train, "run_training", killed)
    root = tmp_path / "exp"
    with pytest.raises(KeyboardInterrupt):
        _run(_cfg(versions=["o"]), root)
    cell = root / "train" / "resnet18-o-w2a2"
    rec = _record(root, "train", "resnet18-o-w2a2")
    assert rec["status"] == "running" and rec["attempts"] == [
        {"started": rec["started"], "status": "running"}
    ]
    # the killed attempt started 100 s ago and wrote its last file 60 s after it started
    begun = time.time() - 100
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(begun))
    rec["started"] = rec["attempts"][0]["started"] = stamp
    (cell / "stage.json").write_text(json.dumps(rec))
    os.utime(cell / "last.pt", (begun + 60, begun + 60))
    monkeypatch.setattr(nash.train, "run_training", fakes.run_training)
    rows = _run(_cfg(versions=["o"]), root, to="report")
    assert fakes.calls[0] == ("train", "resnet18-o-w2a2", True)  # resumed
    rec = _record(root, "train", "resnet18-o-w2a2")
    first, last = rec["attempts"]
    assert first["status"] == "interrupted" and first["started"] == stamp
    assert first["seconds"] == pytest.approx(60, abs=1.5)
    assert last["status"] == "ok" and last["started"] == rec["started"] and last["seconds"] == rec["seconds"]
    assert rec["seconds_total"] == pytest.approx(first["seconds"] + rec["seconds"], abs=0.02)
    assert rec["seconds_total"] > 55 > rec["seconds"]
    # the report's run-times table shows the total, not the resumed part
    assert rows[0]["status"] == "ok"
    rows = load_results(root)
    records = [cell_records(r, root) for r in rows]
    assert records[0].seconds["train"] == rec["seconds_total"]
    table, grand = rv.times_table(rows, records, search_records(rows, root))
    assert table[1][0][4] == rv.fmt_seconds(rec["seconds_total"]) in ("60 s", "61 s")
    assert grand >= rec["seconds_total"]
    assert "every attempt counted" in write_report(root).read_text(encoding="utf-8")


def test_failed_stage_is_recorded_failed_not_running(fakes, tmp_path, monkeypatch):
    """A stage whose work raised stayed `running`, indistinguishable from a killed run."""
    import nash.train
    from nash.analysis import load_results
    from nash.analysis import review as rv
    from nash.analysis.runs import cell_records, search_records
    from nash.errors import TrainingError

    def diverges(cfg, out_dir, *, resume=False, progress=True):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        raise TrainingError("loss became NaN at epoch 1; lower --lr\n(the last good checkpoint is kept)")

    monkeypatch.setattr(nash.train, "run_training", diverges)
    root = tmp_path / "exp"
    rows = _run(_cfg(versions=["o"], bits=["w2a2", "w4a4"]), root)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    rec = _record(root, "train", "resnet18-o-w2a2")
    error = "TrainingError: loss became NaN at epoch 1; lower --lr"
    assert rec["status"] == "failed" and rec["error"] == error
    assert isinstance(rec["seconds"], float) and rec["started"] <= rec["finished"]
    assert rec["attempts"] == [{"started": rec["started"], "finished": rec["finished"],
                                "seconds": rec["seconds"], "status": "failed", "error": error}]  # fmt: skip
    assert rows[0]["error_message"] == error
    # the other cell was killed instead: its record stays running
    other = _record(root, "train", "resnet18-o-w4a4")
    other.pop("error"), other.pop("finished")
    (root / "train/resnet18-o-w4a4/stage.json").write_text(json.dumps({**other, "status": "running"}))
    loaded = load_results(root)
    records = [cell_records(r, root) for r in loaded]
    assert [r.status["train"] for r in records] == ["failed", "running"]
    searches = search_records(loaded, root)
    (_, body), _ = rv.times_table(loaded, records, searches)
    assert body[0][4] == f"\u26a0 failed after {rv.fmt_seconds(rec['seconds'])}"
    assert body[1][4] == "\u26a0 interrupted"
    assert rv.unfinished_stages(loaded, records, searches) == [
        f"train resnet18-o-w2a2 failed after {rv.fmt_seconds(rec['seconds'])}: {error}",
        "train resnet18-o-w4a4 was interrupted (started, never finished: killed or stopped); `nash run` on "
        "the experiment resumes it",
    ]
    from nash.analysis import write_report

    html = write_report(root).read_text(encoding="utf-8")
    assert "Stages that did not finish" in html and "failed after" in html and "was interrupted" in html
    # fixed: the failed stage runs again and its record says ok
    monkeypatch.setattr(nash.train, "run_training", fakes.run_training)
    rows = _run(_cfg(versions=["o"], bits=["w2a2", "w4a4"]), root)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert _record(root, "train", "resnet18-o-w2a2")["status"] == "ok"


def test_results_rows_carry_num_classes_from_the_checkpoint(fakes, tmp_path, monkeypatch):
    """The chance-level check guessed the class count from the estimate or the dataset name."""
    import torch

    import nash.train
    from nash.analysis import load_results
    from nash.analysis.runs import cell_records, chance_level

    def seven_classes(cfg, out_dir, *, resume=False, progress=True):
        out = Path(out_dir)
        metrics = fakes.run_training(cfg, out, resume=resume, progress=progress)
        torch.save({"arch": {"num_classes": 7}, "model": {}}, out / "best.pt")
        return {**metrics, "top1": 18.0}

    monkeypatch.setattr(nash.train, "run_training", seven_classes)
    root = tmp_path / "exp"
    rows = _run(_cfg(versions=["o"]), root)
    assert rows[0]["num_classes"] == 7
    assert _record(root, "train", "resnet18-o-w2a2")["outputs"]["num_classes"] == 7
    (row,) = load_results(root / "results.csv")
    assert row["num_classes"] == 7 and load_results(root / "results.json") == [row]
    # 18 % is chance level for 7 classes (14.3 % + 5), not for the 10 of the config's dataset
    rec = cell_records(row, root)
    assert rec.dataset == "fashion-mnist" and rec.num_classes == 7
    assert chance_level(row["top1"], rec.num_classes) == pytest.approx(100 / 7)
    # a record written before the class count was recorded: read from the checkpoint's arch
    marker = root / "train/resnet18-o-w2a2/stage.json"
    old = json.loads(marker.read_text())
    del old["outputs"]["num_classes"]
    marker.write_text(json.dumps(old))
    fakes.calls.clear()
    assert _run(_cfg(versions=["o"]), root)[0]["num_classes"] == 7 and fakes.calls == []


def test_settings_added_since_a_record_match_at_their_default():
    """A record written before a setting existed (e.g. ``grad_clip``) is not 'changed' when the
    setting is at its default; at another value it is."""
    from nash.records import config_diff

    stored = {"lr": 0.1, "model": {"width": 8}}
    defaults = {"lr": 0.1, "grad_clip": None, "model": {"width": 8, "shared_quant": False}}
    same = {"lr": 0.1, "grad_clip": None, "model": {"width": 8, "shared_quant": False}}
    assert config_diff(stored, same, defaults=defaults) == []
    changed = {"lr": 0.1, "grad_clip": 5.0, "model": {"width": 8, "shared_quant": True}}
    assert config_diff(stored, changed, defaults=defaults) == [
        ("grad_clip", "<unset>", 5.0),
        ("model.shared_quant", "<unset>", True),
    ]
    assert config_diff(stored, same) != []  # without defaults every new key is a difference
