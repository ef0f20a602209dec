"""The `deploy:` section: the hw stage estimates each cell's architecture at deployment size."""

from __future__ import annotations

import json

import pytest

from nash.config.base import from_dict
from nash.config.pipeline import ExperimentConfig
from nash.errors import ConfigError
from nash.pipeline import run_experiment

EXPERIMENT = {
    "name": "deploy",
    "versions": ["o", "v3"],
    "bits": ["w2a2"],
    "reference_genotypes": "paper",
    "train": {
        "width": 4,
        "epochs": 1,
        "train_subset": 256,
        "test_subset": 64,
        "max_steps_per_epoch": 4,
        "batch_size": 32,
        "stem": "small",
    },  # fmt: skip
    "export": {"n_check": 4, "onnxruntime": False},
    "hw": {"fold": "target_fps", "target_fps": 3000, "clock_ns": 5.0},
    # 7 classes and 48 px: neither is the trained network's (10 classes, 28 px), so the estimate shows
    # which network it measured
    "deploy": {"input": "3x48x48", "classes": 7, "width": 8, "stem": "small"},
}


def test_hw_stage_estimates_the_deployed_architecture(tmp_path, fmnist_dir):
    cfg = from_dict(
        ExperimentConfig, EXPERIMENT | {"train": EXPERIMENT["train"] | {"data_root": str(fmnist_dir)}}
    )
    rows = run_experiment(cfg, tmp_path, progress=False, log=lambda s: None)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    by_version = {r["version"]: r for r in rows}
    for row in rows:
        assert row["hw_scale"] == "deployed 3x48x48, 7 classes, width 8"
        est = json.loads((tmp_path / row["estimate_path"]).read_text())
        mvaus = [la for la in est["layers"] if la["op_type"].startswith("MVAU")]
        assert mvaus[-1]["MH"] == 7  # the classifier of the deployed network, not the trained one
        assert mvaus[0]["MW"] == 3 * 3 * 3  # the stem conv reads 3 channels (the trained net: 1)
    # the NASH cell carries its genotype's NAS branches at deployment size: more layers and BRAM
    o, v3 = (json.loads((tmp_path / by_version[v]["estimate_path"]).read_text()) for v in ("o", "v3"))
    assert len(v3["layers"]) > len(o["layers"]) and v3["totals"]["lut"] > o["totals"]["lut"]


def test_bad_deploy_section_is_one_line():
    for bad, match in (({"inputs": "3x8x8"}, "unknown key 'inputs'"), ({"classes": 0}, "deploy.classes"),
                       ({"input": "224"}, "CxHxW")):  # fmt: skip
        cfg = from_dict(ExperimentConfig, {"versions": ["o"], "bits": ["w2a2"], "deploy": bad})
        with pytest.raises(ConfigError, match=match):
            cfg.deploy_settings()
