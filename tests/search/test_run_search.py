"""End-to-end search on a small real Fashion-MNIST subset: artefacts, alpha updates, exact resume."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from nash.config.search import SearchConfig
from nash.errors import ConfigError, TrainingError
from nash.io import read_jsonl
from nash.search import SearchRun, run_search
from nash.space import Genotype, is_hardware_friendly


def _cfg(fmnist_dir, **kw) -> SearchConfig:
    base = dict(dataset="fashion-mnist", data_root=str(fmnist_dir), train_subset=256, batch_size=16, width=4,
                stem="small", steps_per_epoch=4, epochs=1, seed=0, device="cpu", strategy="v3")  # fmt: skip
    return SearchConfig(**(base | kw))


def test_one_epoch_search_writes_valid_genotype(fmnist_dir, tmp_path):
    cfg = _cfg(fmnist_dir)
    genotype = run_search(cfg, tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "alphas.jsonl", "checkpoint.pt", "config.yaml", "genotype.json", "log.jsonl"]  # fmt: skip
    log = read_jsonl(tmp_path / "log.jsonl")
    assert len(log) == 1 and log[0]["steps"] == 4 and log[0]["alpha_updated"]
    assert 0.5 < log[0]["train_loss"] < 5 and 0.5 < log[0]["arch_loss"] < 5  # ~ln(10) at the start
    alphas = read_jsonl(tmp_path / "alphas.jsonl")[0]
    initial = SearchRun(cfg).net.alpha.detach()  # same seed -> the alphas before any step
    final = torch.tensor([row for cell in alphas["alpha"] for row in cell])
    assert final.shape == initial.shape == (40, 6)
    changed = (final - initial).abs()
    assert changed.max() > 1e-4  # Adam moved the sampled alphas (lr 3e-4, 4 steps)
    assert changed.max() < 7 * 3e-4  # Adam (beta1=0) moves each alpha < ~sqrt(t) * lr at step t
    saved = Genotype.load(tmp_path / "genotype.json")
    assert saved == genotype and saved.strategy == "v3" and len(saved.cells) == 4
    assert is_hardware_friendly(saved) == []
    assert saved.meta["seed"] == 0 and len(saved.meta["final_alphas"]) == 4
    probs = torch.tensor([row for cell in alphas["probs"] for row in cell])
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(40))
    with pytest.raises(ConfigError, match="--resume"):
        run_search(cfg, tmp_path, progress=False)  # never overwrite a finished search


def test_resume_reproduces_uninterrupted_run(fmnist_dir, tmp_path, monkeypatch):
    cfg = _cfg(fmnist_dir, epochs=2, steps_per_epoch=3)
    full = run_search(cfg, tmp_path / "full", progress=False)

    original = SearchRun.run_epoch

    def crash_in_second_epoch(self, progress=True):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return original(self, progress)

    monkeypatch.setattr(SearchRun, "run_epoch", crash_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        run_search(cfg, tmp_path / "cut", progress=False)
    assert torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)["epoch"] == 1
    assert not (tmp_path / "cut" / "genotype.json").exists()
    monkeypatch.setattr(SearchRun, "run_epoch", original)
    resumed = run_search(cfg, tmp_path / "cut", resume=True, progress=False)

    a = read_jsonl(tmp_path / "full" / "alphas.jsonl")
    b = read_jsonl(tmp_path / "cut" / "alphas.jsonl")
    assert [r["epoch"] for r in b] == [1, 2]
    assert a == b  # bit-identical alphas after both epochs
    assert resumed.cells == full.cells
    ka = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=False)["supernet"]
    kb = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)["supernet"]
    assert all(torch.equal(ka[k], kb[k]) for k in ka)  # weights too
    with pytest.raises(TrainingError, match="width"):
        run_search(dataclasses.replace(cfg, width=8), tmp_path / "cut", resume=True, progress=False)


def test_nan_loss_stops_and_keeps_last_checkpoint(fmnist_dir, tmp_path, monkeypatch):
    cfg = _cfg(fmnist_dir, epochs=2, steps_per_epoch=2)
    original = SearchRun._dev

    def poison(self, t):
        t = original(self, t)
        return torch.full_like(t, float("nan")) if self.epoch == 1 and t.is_floating_point() else t

    monkeypatch.setattr(SearchRun, "_dev", poison)
    with pytest.raises(TrainingError, match="loss became nan"):
        run_search(cfg, tmp_path, progress=False)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 1 and torch.isfinite(state["supernet"]["alpha"]).all()
    assert len(read_jsonl(tmp_path / "log.jsonl")) == 1


def test_derive_uses_raw_alpha_ranking(fmnist_dir):
    """The derived genotype equals the strategy's derivation from the raw alphas (no double softmax)."""
    cfg = _cfg(fmnist_dir, strategy="v2")
    run = SearchRun(cfg)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        run.net.alpha.copy_(torch.randn(run.net.alpha.shape, generator=gen) * 4)
    raw = run.net.alpha.detach().tolist()
    offsets = run.net.offsets
    per_cell = [raw[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
    expected = run.strategy.derive(cfg.backbone, per_cell, cfg.cell_layers)
    assert run.derive().cells == expected.cells
