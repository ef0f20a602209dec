"""Resume equivalence, NaN handling and resume mismatches on tiny real Fashion-MNIST runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from nash.config.train import TrainConfig
from nash.errors import ConfigError, TrainingError
from nash.io import read_jsonl
from nash.train import evaluate_checkpoint, load_checkpoint, run_training
from nash.train import runner as runner_mod

_VOLATILE = {"seconds", "images_per_s"}


def tiny(root: Path, **kw) -> TrainConfig:
    """2 epochs x 3 steps of batch 16 at width 4: a couple of seconds."""
    base = dict(
        bits="w2a2",
        width=4,
        epochs=2,
        batch_size=16,
        lr=0.05,
        train_subset=96,
        test_subset=64,
        max_steps_per_epoch=3,
        seed=1,
        data_root=str(root),
        device="cpu",
    )
    return TrainConfig(**{**base, **kw})


def _stop_after_first_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner_mod.train_loader

    def loader(dataset, batch_size, epoch, **kw):
        if epoch >= 1:  # 0-based: the second epoch is about to start
            raise KeyboardInterrupt
        return real(dataset, batch_size, epoch, **kw)

    monkeypatch.setattr(runner_mod, "train_loader", loader)


def _rows(path: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in _VOLATILE} for r in read_jsonl(path / "metrics.jsonl")]


def test_resume_is_identical_to_uninterrupted(tmp_path: Path, fmnist_dir: Path, monkeypatch) -> None:
    cfg = tiny(fmnist_dir)
    full = run_training(cfg, tmp_path / "full", progress=False)
    with monkeypatch.context() as m:
        _stop_after_first_epoch(m)
        with pytest.raises(KeyboardInterrupt):
            run_training(cfg, tmp_path / "split", progress=False)
    assert len(read_jsonl(tmp_path / "split" / "metrics.jsonl")) == 1
    resumed = run_training(cfg, tmp_path / "split", resume=True, progress=False)
    assert resumed["steps"] == 3 and full["optimizer_steps"] == resumed["optimizer_steps"] == 6
    a = load_checkpoint(tmp_path / "full" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "split" / "last.pt")["model"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "parameters differ after resume"
    assert _rows(tmp_path / "full") == _rows(tmp_path / "split")
    assert full["top1"] == resumed["top1"]
    csv = (tmp_path / "split" / "metrics.csv").read_text().splitlines()
    assert len(csv) == 3 and csv[0].startswith("epoch,train_loss")


def test_existing_run_and_mismatched_resume(tmp_path: Path, fmnist_dir: Path) -> None:
    cfg = tiny(fmnist_dir, epochs=1, max_steps_per_epoch=1)
    run_training(cfg, tmp_path, progress=False)
    with pytest.raises(TrainingError, match="already holds"):
        run_training(cfg, tmp_path, progress=False)
    with pytest.raises(ConfigError, match="bits 'w2a2' -> 'w4a4'"):
        run_training(dataclasses.replace(cfg, bits="w4a4"), tmp_path, resume=True, progress=False)
    with pytest.raises(ConfigError, match="dataset 'fashion-mnist' -> 'mnist'"):
        run_training(
            dataclasses.replace(cfg, dataset="mnist", data_root=None), tmp_path, resume=True, progress=False
        )
    done = run_training(dataclasses.replace(cfg, workers=0), tmp_path, resume=True, progress=False)
    assert done["epoch"] == 1 and done["steps"] == 0  # already finished: nothing retrained


def test_resume_with_a_new_lr_is_refused_and_the_record_kept(tmp_path: Path, fmnist_dir: Path) -> None:
    """Issue 15 item 1: `--resume --lr X` on a run trained with another lr used to exit 0, train
    nothing and rewrite config.yaml with the new lr."""
    cfg = tiny(fmnist_dir, epochs=1, max_steps_per_epoch=1)
    run_training(cfg, tmp_path, progress=False)
    before = (tmp_path / "config.yaml").read_bytes()
    for changed in (dataclasses.replace(cfg, lr=cfg.lr * 5), dataclasses.replace(cfg, lr=0.5, epochs=2)):
        with pytest.raises(ConfigError, match=r"lr .* -> 0\.|lr \S+ -> "):
            run_training(changed, tmp_path, resume=True, progress=False)
    assert (tmp_path / "config.yaml").read_bytes() == before


def test_nan_loss_keeps_last_good_checkpoint(tmp_path: Path, fmnist_dir: Path, monkeypatch) -> None:
    real = runner_mod.train_loader

    def poisoned(dataset, batch_size, epoch, **kw):
        batches = real(dataset, batch_size, epoch, **kw)
        if epoch == 0:
            return batches
        return [(x * float("nan"), y) for x, y in batches]  # injected NaN in the second epoch

    monkeypatch.setattr(runner_mod, "train_loader", poisoned)
    cfg = tiny(fmnist_dir)
    with pytest.raises(
        TrainingError, match=r"epoch 2 step 0.*last good checkpoint .*last\.pt \(epoch 1\)"
    ) as info:
        run_training(cfg, tmp_path, progress=False)
    assert "\n" not in str(info.value)
    rows = read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1]
    again = evaluate_checkpoint(tmp_path / "last.pt", data_root=str(fmnist_dir))
    assert again["epoch"] == 1 and again["top1"] == pytest.approx(rows[0]["test_top1"])


def test_exploding_lr_stops_in_first_epoch(tmp_path: Path, fmnist_dir: Path) -> None:
    cfg = tiny(fmnist_dir, lr=1e30, epochs=1, max_steps_per_epoch=4)
    with pytest.raises(TrainingError, match=r"loss became (nan|inf) at epoch 1 .*no checkpoint"):
        run_training(cfg, tmp_path, progress=False)
    assert not (tmp_path / "last.pt").exists()
