"""DistributedDataParallel on CPU: two Gloo processes launched with torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nash.io import read_jsonl

SCRIPT = """
import json, os, sys, torch
torch.set_num_threads(1)
from nash.config.train import TrainConfig
from nash.train import run_training
out, root = sys.argv[1], sys.argv[2]
cfg = TrainConfig(bits="w2a2", width=4, epochs=2, batch_size=8, lr=0.05, train_subset=64, test_subset=50,
                  max_steps_per_epoch=3, seed=0, data_root=root, device="cpu")
metrics = run_training(cfg, os.path.join(out, "run"), progress=False)
with open(os.path.join(out, f"rank{os.environ['RANK']}.json"), "w") as fh:
    json.dump(metrics, fh)
"""


def test_two_gloo_processes(tmp_path: Path, fmnist_dir: Path) -> None:
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(script),
        str(tmp_path),
        str(fmnist_dir),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    # 64 images / 2 ranks = 32 per rank = 4 batches of 8, capped at 3 steps per epoch, 2 epochs
    assert r0["optimizer_steps"] == r1["optimizer_steps"] == 6
    assert r0["steps"] == r1["steps"] == 6
    # metrics are all-reduced: both ranks report the same accuracy over all 50 test images
    assert r0["top1"] == r1["top1"] and r0["top5"] == r1["top5"]
    assert round(r0["top1"] * 50 / 100, 6).is_integer()
    rows = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2]  # written once, by rank 0 only
    assert all(r["train_loss"] == r["train_loss"] and r["train_loss"] < 10 for r in rows)  # finite
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "best.pt",
        "config.yaml",
        "last.pt",
        "metrics.csv",
        "metrics.jsonl",
    ]
