"""A training run resolves its ``QuantSpec`` once and stores every role's width in the checkpoint;
checkpoints written before (tag + overrides only) still resume and evaluate (issue 13)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from nash.config.train import TrainConfig
from nash.errors import ConfigError
from nash.space.quant import QuantSpec
from nash.train import evaluate_checkpoint, load_checkpoint, run_training
from nash.train import runner as runner_mod


def _cfg(root: Path, **kw) -> TrainConfig:
    base = dict(bits="w2a2", width=4, epochs=1, batch_size=16, lr=0.05, train_subset=32, test_subset=32,
                max_steps_per_epoch=1, seed=0, data_root=str(root), device="cpu",
                quant_overrides={"nas_act_bits": 4})  # fmt: skip
    return TrainConfig(**(base | kw))


def test_from_tag_once_and_resolved_roles_in_checkpoint(fmnist_dir, tmp_path, monkeypatch):
    calls = []
    real = QuantSpec.from_tag.__func__

    def counting(cls, *args, **kwargs):
        calls.append(args)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(QuantSpec, "from_tag", classmethod(counting))
    run_training(_cfg(fmnist_dir), tmp_path / "run", progress=False)
    assert len(calls) == 1
    monkeypatch.undo()
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt["arch"]["quant"] == QuantSpec.from_tag("w2a2", version="o", nas_act_bits=4).to_dict()


def test_old_checkpoint_without_resolved_roles_resumes_and_evaluates(fmnist_dir, tmp_path, monkeypatch):
    run = tmp_path / "run"
    cfg = dataclasses.replace(_cfg(fmnist_dir), epochs=2)
    real = runner_mod.train_loader

    def stop_before_second_epoch(dataset, batch_size, epoch, **kw):
        if epoch >= 1:
            raise KeyboardInterrupt
        return real(dataset, batch_size, epoch, **kw)

    with monkeypatch.context() as m:
        m.setattr(runner_mod, "train_loader", stop_before_second_epoch)
        with pytest.raises(KeyboardInterrupt):
            run_training(cfg, run, progress=False)
    top1 = evaluate_checkpoint(run / "last.pt")["top1"]
    for name in ("last.pt", "best.pt"):  # what a checkpoint of the previous format looked like
        ckpt = load_checkpoint(run / name)
        del ckpt["arch"]["quant"]
        del ckpt["config"]["grad_clip"]  # and a setting added since, at its default
        torch.save(ckpt, run / name)
    assert evaluate_checkpoint(run / "last.pt")["top1"] == top1
    metrics = run_training(cfg, run, resume=True, progress=False)
    assert metrics["epoch"] == 2
    ckpt = load_checkpoint(run / "last.pt")
    del ckpt["config"]["grad_clip"]
    torch.save(ckpt, run / "last.pt")
    with pytest.raises(ConfigError, match=r"grad_clip <unset> -> 1\.0"):  # not the default: refused
        run_training(dataclasses.replace(cfg, grad_clip=1.0), run, resume=True, progress=False)


def test_eval_reads_only_the_test_images(fmnist_dir, tmp_path):
    """Issue 15 item 10: `nash eval` needed the training images too. With only the t10k files
    present it gives the same numbers as with the whole dataset."""
    import shutil

    run = tmp_path / "run"
    run_training(_cfg(fmnist_dir), run, progress=False)
    full = evaluate_checkpoint(run / "last.pt")
    test_only = tmp_path / "test-only"
    test_only.mkdir()
    for f in fmnist_dir.iterdir():
        if f.name.startswith("t10k"):
            shutil.copy(f, test_only / f.name)
    alone = evaluate_checkpoint(run / "last.pt", data_root=str(test_only))
    assert alone["top1"] == full["top1"] and alone["n"] == full["n"] == 32 and alone["loss"] == full["loss"]
