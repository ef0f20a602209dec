"""QAT of w2a2 original and NASH ResNet18 (width 8, small stem) on real Fashion-MNIST, on CPU.

Each model must reach 70 % top-1 on 1,000 test images (chance: 10 %), the issue's bar, in the default
run. Both train one epoch with Adam (lr 0.005, no weight decay, cosine): one evaluation of the 1,000
test images instead of one per epoch, and Adam gets there in fewer steps than SGD. The original sees
9,600 training images (300 steps of 32): measured 75.9 % with seed 0 (seeds 1 and 2: 77.7, 74.6 %;
250 steps: 75.0, 74.9, 72.1 %), ~35 s. NASH-v3 learns faster per step and sees 4,800 images (150 steps
of 32): 77.1 % (seeds 1 and 2: 79.7, 74.9 %; 120 steps: 74.8 %), ~34 s. Until issue 14 they trained
with SGD (lr 0.05, 2 epochs): the original 400 steps (74.3 %, ~58 s), NASH-v3 300 steps (80.1 %,
~70 s). Since issue 14's channels-last layout, shared pools and closed-form quantiser backward
(2026-11-30, same settings): the original 74.2 % with seed 0 (seeds 1 and 2: 78.0, 73.9 %), NASH-v3
75.8 % (seeds 1-5: 76.0, 74.9, 78.5, 77.3, 75.3 %; the code before it gave 77.6, 75.7, 73.9 % on
seeds 3-5). Under xdist the two tests are separate units of work (tests/conftest.py, GROUPS).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nash.cli import main
from nash.config.train import TrainConfig
from nash.io import read_jsonl
from nash.space import load_reference_genotypes
from nash.train import evaluate_checkpoint, run_training

# one epoch of Adam (lr 0.005, no weight decay) with one evaluation of the 1,000 test images
LONG = {"epochs": 1, "train_subset": 9600, "batch_size": 32, "optimizer": "adam", "lr": 0.005}  # 300 steps
LONG_V3 = {"epochs": 1, "train_subset": 4800, "batch_size": 32, "optimizer": "adam", "lr": 0.005}  # 150 steps


def _cli_args(out: Path, root: Path, size: dict) -> list[str]:
    return [
        "train",
        "--out",
        str(out),
        "--bits",
        "w2a2",
        "--width",
        "8",
        "--stem",
        "small",
        "--epochs",
        str(size["epochs"]),
        "--batch-size",
        str(size["batch_size"]),
        "--optimizer",
        size["optimizer"],
        "--lr",
        str(size["lr"]),
        "--weight-decay",
        "0",
        "--no-augment",
        "--train-subset",
        str(size["train_subset"]),
        "--test-subset",
        "1000",
        "--data",
        str(root),
        "--device",
        "cpu",
        "--seed",
        "0",
        "--no-progress",
    ]


def _original_via_cli(tmp_path: Path, root: Path, size: dict, threshold: float, capsys) -> None:
    out = tmp_path / "train-o-w2a2"
    assert main(_cli_args(out, root, size)) == 0
    assert "resnet18 o w2a2: top-1" in capsys.readouterr().out
    rows = read_jsonl(out / "metrics.jsonl")
    top1 = rows[-1]["test_top1"]
    assert top1 >= threshold, f"original w2a2 reached only {top1:.1f}% top-1"
    assert rows[-1]["test_top5"] >= 95.0
    # evaluating the checkpoint reproduces the reported number exactly, from Python and the CLI
    again = evaluate_checkpoint(out / "last.pt", data_root=str(root))
    assert again["n"] == 1000 and again["top1"] == pytest.approx(top1, abs=1e-9)
    assert main(["eval", str(out / "last.pt"), "--data", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["top1"] == pytest.approx(top1, abs=1e-9)


def _nash_v3(tmp_path: Path, root: Path, ref: Path, size: dict, threshold: float) -> None:
    genotype = load_reference_genotypes(ref, backbone="resnet18")["v3"].save(tmp_path / "genotype.json")
    cfg = TrainConfig(
        version="v3",
        genotype=str(genotype),
        bits="w2a2",
        width=8,
        stem="small",
        weight_decay=0.0,
        augment=False,
        test_subset=1000,
        data_root=str(root),
        device="cpu",
        seed=0,
        **size,
    )
    m = run_training(cfg, tmp_path / "train-v3-w2a2", progress=False)
    assert m["top1"] >= threshold, f"NASH-v3 w2a2 reached only {m['top1']:.1f}% top-1"
    assert m["optimizer_steps"] == size["epochs"] * size["train_subset"] // size["batch_size"]
    assert m["params"] > 0 and m["macs"] > 0


def test_original_w2a2_reaches_70_cli_and_eval(tmp_path: Path, fmnist_dir: Path, capsys) -> None:
    _original_via_cli(
        tmp_path, fmnist_dir, LONG, 70.0, capsys
    )  # measured 74.2 % (75.9 % before issue 14's layout)


def test_nash_v3_w2a2_reaches_70(tmp_path: Path, fmnist_dir: Path, reference_genotypes_path: Path) -> None:
    _nash_v3(tmp_path, fmnist_dir, reference_genotypes_path, LONG_V3, 70.0)  # measured 75.8 % (77.1 % before)
