"""The experiment pipeline end to end on a tiny grid: results, report, skipping, failure isolation."""

from __future__ import annotations

import csv
import json

import pytest

from nash.config.base import from_dict, load_config, to_dict
from nash.config.pipeline import ExperimentConfig
from nash.errors import ConfigError
from nash.pipeline import run_experiment

TINY = {
    "name": "tiny",
    "versions": ["o", "v4"],
    "bits": ["w2a2"],
    "search": {"width": 4, "epochs": 1, "train_subset": 256, "steps_per_epoch": 4, "batch_size": 32},
    "train": {
        "width": 4,
        "epochs": 1,
        "train_subset": 512,
        "test_subset": 128,
        "max_steps_per_epoch": 8,
        "batch_size": 32,
        "stem": "small",
    },
    "export": {"n_check": 8, "onnxruntime": False},
    "hw": {"fold": "max", "clock_ns": 5.0},
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, fmnist_dir):
    root = tmp_path_factory.mktemp("exp")
    cfg = from_dict(ExperimentConfig, {**TINY, "search": {**TINY["search"], "data_root": str(fmnist_dir)}})
    logs: list[str] = []
    rows = run_experiment(cfg, root, progress=False, log=logs.append)
    return cfg, root, rows, logs


def test_tiny_grid_runs_end_to_end(tiny_run):
    cfg, root, rows, logs = tiny_run
    assert [(r["version"], r["bits"]) for r in rows] == [("o", "w2a2"), ("v4", "w2a2")]
    for r in rows:
        assert r["status"] == "ok", r
        assert 0 <= r["top1"] <= 100 and r["top5"] >= r["top1"]
        assert r["fps"] > 0 and r["latency_ms"] > 0 and r["lut"] > 0
        assert (root / r["onnx_path"]).exists() and (root / r["estimate_path"]).exists()
        assert r["num_classes"] == 10  # Fashion-MNIST, from the checkpoint's arch
        record = json.loads((root / r["checkpoint_path"]).with_name("stage.json").read_text())
        assert record["status"] == "ok" and record["started"] <= record["finished"]
        assert record["seconds_total"] == record["seconds"] and len(record["attempts"]) == 1
    nash_row = rows[1]
    assert (root / nash_row["genotype_path"]).exists()
    # NASH adds branches: more MACs and more LUTs than the original at the same bit width.
    assert nash_row["macs"] > rows[0]["macs"]
    with open(root / "results.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 2
    assert json.loads((root / "results.json").read_text())
    html = (root / "report" / "report.html").read_text()
    assert "v4" in html and "w2a2" in html


def test_second_run_skips_everything(tiny_run):
    cfg, root, rows, _ = tiny_run
    logs: list[str] = []
    again = run_experiment(cfg, root, progress=False, log=logs.append)
    stage_logs = [line for line in logs if line.startswith("[") and not line.startswith("[grid")]
    assert stage_logs and all("skipped" in line for line in stage_logs), stage_logs
    assert [r["top1"] for r in again] == [r["top1"] for r in rows]


def test_adding_a_bit_tag_runs_only_the_new_cells(tiny_run, monkeypatch):
    import dataclasses

    import nash.pipeline.runner as runner

    cfg, root, _, _ = tiny_run
    calls = []
    steps = list(runner.STEPS)
    train = next(s for s in steps if s.name == "train")

    def spy_run(self, ctx, cell, upstream):
        res = train.run(ctx, cell, upstream) if cell[2] == "w2a2" else None
        calls.append((cell[1], cell[2], res.skipped if res else None))
        if res is None:
            raise RuntimeError("injected failure for this grid cell")
        return res

    Spy = type("Spy", (type(train),), {"run": spy_run})
    steps[steps.index(train)] = Spy(**{f.name: getattr(train, f.name) for f in dataclasses.fields(train)})
    monkeypatch.setattr(runner, "STEPS", tuple(steps))
    bigger = from_dict(ExperimentConfig, {**TINY, "bits": ["w2a2", "w4a4"], "search": cfg.search})
    rows = run_experiment(bigger, root, progress=False, log=lambda s: None)
    assert [(v, b, s) for v, b, s in calls if b == "w2a2"] == [("o", "w2a2", True), ("v4", "w2a2", True)]
    failed = [r for r in rows if r["status"] == "failed"]
    assert {(r["version"], r["bits"]) for r in failed} == {("o", "w4a4"), ("v4", "w4a4")}
    assert all("injected failure" in r["error_message"] for r in failed)
    assert all(r["status"] == "ok" for r in rows if r["bits"] == "w2a2")
    events = (root / "pipeline.jsonl").read_text()
    assert "injected failure" in events


def test_bad_experiment_config_is_one_line_error(tmp_path):
    bad = tmp_path / "exp.yaml"
    bad.write_text("versions: [o, v9]\n")
    with pytest.raises(ConfigError, match="unknown version 'v9'"):
        load_config(ExperimentConfig, bad)
    bad.write_text("bits: [w9a9]\n")
    with pytest.raises(ConfigError, match="unsupported bit tag"):
        load_config(ExperimentConfig, bad)
    bad.write_text("epochz: 3\n")
    with pytest.raises(ConfigError, match="epochz"):
        load_config(ExperimentConfig, bad)


def test_shipped_configs_load():
    from pathlib import Path

    from nash.pipeline.steps import check_sections

    paths = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
    assert len(paths) >= 3
    for path in paths:
        cfg = load_config(ExperimentConfig, path)
        assert cfg.grid()
        check_sections(cfg)  # every stage section is valid for its stage config


def test_bad_stage_section_fails_before_running(tmp_path):
    cfg = from_dict(ExperimentConfig, {"reference_genotypes": "paper", "train": {"epochz": 1}})
    with pytest.raises(ConfigError, match="section 'train'.*epochz"):
        run_experiment(cfg, tmp_path / "exp", progress=False, log=lambda s: None)
    assert not (tmp_path / "exp").exists()


def test_reference_genotypes_replace_the_search(tmp_path):
    from nash.space import Genotype, default_reference_path, load_reference_genotypes

    cfg = from_dict(
        ExperimentConfig, {"versions": ["v2", "v4"], "bits": ["w2a2"], "reference_genotypes": "paper"}
    )  # no train: section needed when the run stops after the search
    rows = run_experiment(cfg, tmp_path, to="search", progress=False, log=lambda s: None)
    assert rows == []
    paper = load_reference_genotypes(default_reference_path())
    for v in ("v2", "v4"):
        assert Genotype.load(tmp_path / "search" / f"resnet18-{v}" / "genotype.json").cells == paper[v].cells


def test_parallel_jobs_give_the_sequential_results(tiny_run, tmp_path):
    """``jobs=2``: both searches, then both cells (up to training), in two worker processes; the
    numbers are those of the sequential tiny run."""
    cfg, root, rows, _ = tiny_run
    wide = from_dict(ExperimentConfig, {**to_dict(cfg), "versions": ["v3", "v4"]})
    logs: list[str] = []
    got = run_experiment(wide, tmp_path, to="train", progress=False, log=logs.append, jobs=2)
    assert [(r["version"], r["status"]) for r in got] == [("v3", "ok"), ("v4", "ok")]
    same = ("top1", "top5", "macs", "params")
    assert {k: got[1][k] for k in same} == {k: rows[1][k] for k in same}
    genotype = (tmp_path / got[1]["genotype_path"]).read_text()
    assert genotype == (root / rows[1]["genotype_path"]).read_text()
    # the workers' stage lines reach the caller's log; the grid lines come from the parent
    assert sum(line.startswith("[search") and "finished" in line for line in logs) == 2
    assert sum(line.startswith("[train") and "finished" in line for line in logs) == 2
    assert [line for line in logs if line.startswith("[grid")][-1].startswith("[grid 2/2 cells")
    with pytest.raises(ConfigError, match="--jobs 0"):
        run_experiment(wide, tmp_path, jobs=0)
