"""Algorithm 1 end to end: ``run_search(cfg, out_dir)`` -> ``genotype.json``.

Per epoch and batch: an alpha step on an architecture-half batch (weights frozen), then a weight
step on a weight-half batch (alpha frozen); the first ``warmup_epochs`` only train weights. After
each epoch the run directory gets one row in ``log.jsonl`` and ``alphas.jsonl`` and a fresh
``checkpoint.pt``; at the end the strategy derives ``genotype.json`` from the final alphas.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from nash.allocator import tune_allocator
from nash.config.base import save_config, to_dict
from nash.config.search import SearchConfig
from nash.errors import ConfigError, TrainingError
from nash.io import append_jsonl, atomic_write_text, read_jsonl
from nash.models.layout import training_layout
from nash.runtime import (
    load_checkpoint,
    resolve_device,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from nash.search.architect import Architect, WeightTrainer
from nash.search.build import (
    build_hw_objective,
    build_loaders,
    build_strategy,
    build_supernet,
    cycle_batches,
    hw_table_settings,
)
from nash.space import Genotype, Strategy
from nash.space.derivation import derive_genotype

__all__ = ["run_search", "SearchRun"]

_RESUME_FREE = ("device", "data_root")  # keys that may differ between a run and its resume
_CHECKPOINT_KEYS = ("epoch", "config", "supernet", "rng")


class SearchRun:
    """The live objects of one search (supernet, both steps, scheduler, sampler) for ``cfg``.

    ``hw_table``: the deployment cost table of a hardware-aware search (``cfg.hw_objective``).
    """

    def __init__(self, cfg: SearchConfig, hw_table: Any = None) -> None:
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        tune_allocator(self.device)
        seed_everything(cfg.seed)
        self.sampler = torch.Generator().manual_seed(cfg.seed)  # path sampling (CPU, any device)
        self.strategy: Strategy = build_strategy(cfg)
        self.w_loader, self.a_loader, self.info = build_loaders(cfg)
        self.net = training_layout(
            build_supernet(cfg, self.info.num_classes, self.info.shape[0], self.strategy).to(self.device),
            self.device,
        )
        if cfg.hw_aware() and hw_table is None:
            raise ConfigError("a hardware-aware search needs its cost table; run it with run_search")
        self.hw = build_hw_objective(cfg, hw_table)
        self.architect = Architect(
            self.net,
            cfg.arch_lr,
            tuple(cfg.arch_betas),
            cfg.arch_weight_decay,
            alpha_grad=cfg.alpha_grad,
            hw=self.hw,
        )
        self.trainer = WeightTrainer(self.net, cfg.lr, cfg.momentum, cfg.weight_decay, cfg.grad_clip)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.trainer.optimizer, T_max=cfg.epochs, eta_min=cfg.lr_min
        )
        self.epoch = 0  # finished epochs

    def steps_per_epoch(self) -> int:
        """Weight steps per epoch: one pass over the weight half, capped by ``steps_per_epoch``."""
        n = len(self.w_loader)
        return n if self.cfg.steps_per_epoch is None else min(n, self.cfg.steps_per_epoch)

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs: supernet, optimisers, scheduler, epoch, config and RNG states."""
        return {
            "epoch": self.epoch,
            "config": to_dict(self.cfg),
            "supernet": self.net.state_dict(),
            "arch_optimizer": self.architect.optimizer.state_dict(),
            "weight_optimizer": self.trainer.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng_state(self.sampler),
            **({"hw": self.hw.state_dict()} if self.hw is not None else {}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint written by :meth:`state_dict` (same config required)."""
        _check_same_config(self.cfg, state.get("config", {}))
        self.net.load_state_dict(state["supernet"])
        self.architect.optimizer.load_state_dict(state["arch_optimizer"])
        self.trainer.optimizer.load_state_dict(state["weight_optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"], self.sampler)
        if self.hw is not None and "hw" in state:
            self.hw.load_state_dict(state["hw"])
        self.epoch = int(state["epoch"])

    def run_epoch(self, progress: bool = True) -> dict[str, Any]:
        """One epoch of Algorithm 1; returns its ``log.jsonl`` row."""
        cfg, epoch = self.cfg, self.epoch
        search_alpha = epoch >= cfg.warmup_epochs
        self.net.train()
        if hasattr(self.w_loader, "set_epoch"):
            self.w_loader.set_epoch(epoch)
        arch_batches = cycle_batches(self.a_loader, epoch)
        totals = np.zeros(6)  # w_loss, w_correct, a_loss, a_correct, images, arch images
        n_steps, start = self.steps_per_epoch(), time.perf_counter()
        lr = self.trainer.optimizer.param_groups[0]["lr"]
        bar = tqdm(total=n_steps, desc=f"search {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for step, (x, y) in enumerate(self.w_loader):
            if step >= n_steps:
                break
            if search_alpha:
                xa, ya = next(arch_batches)
                a_loss, a_ok = self.architect.step(self._dev(xa), self._dev(ya), self.sampler)
                totals[2:4] += (a_loss * len(ya), a_ok)
                totals[5] += len(ya)
            w_loss, w_ok = self.trainer.step(self._dev(x), self._dev(y), self.sampler)
            totals[[0, 1, 4]] += (w_loss * len(y), w_ok, len(y))
            bar.update(1)
            bar.set_postfix(loss=f"{totals[0] / totals[4]:.3f}", acc=f"{100 * totals[1] / totals[4]:.1f}")
        bar.close()
        self.scheduler.step()
        self.epoch += 1
        seconds = time.perf_counter() - start
        hw = self.hw.summary(self.net.probabilities(), self.net.bit_probabilities()) if self.hw else {}
        return hw | {
            "epoch": self.epoch,
            "lr": lr,
            "train_loss": totals[0] / max(totals[4], 1),
            "train_acc": 100 * totals[1] / max(totals[4], 1),
            "arch_loss": totals[2] / totals[5] if totals[5] else None,
            "arch_acc": 100 * totals[3] / totals[5] if totals[5] else None,
            "alpha_updated": bool(search_alpha),
            "steps": n_steps,
            "seconds": round(seconds, 3),
            "images_per_s": round((totals[4] + totals[5]) / max(seconds, 1e-9), 1),
        }

    def alphas_row(self) -> dict[str, Any]:
        """The ``alphas.jsonl`` row: softmax probabilities and raw alphas per cell."""
        raw = self.net.alpha.detach().cpu().tolist()
        offsets = self.net.offsets
        row = {
            "epoch": self.epoch,
            "probs": self.net.alphas_per_cell(),
            "alpha": [raw[a:b] for a, b in zip(offsets[:-1], offsets[1:])],
        }
        bit_probs = self.net.bit_probabilities()
        if bit_probs is not None:
            row["bit_probs"] = bit_probs.detach().cpu().tolist()
        return row

    def derive(self) -> Genotype:
        """The strategy's genotype from the current alphas, with the search meta attached."""
        genotype = derive_genotype(
            self.strategy,
            self.cfg.backbone,
            self.net.alphas_per_cell(),
            self.cfg.cell_layers,
            derivation=self.cfg.derivation,
            probabilities=True,
            v3_fallback_bug=self.cfg.v3_fallback_bug,
        )
        meta = dict(genotype.meta)
        meta.update(
            search_config=to_dict(self.cfg),
            seed=self.cfg.seed,
            epochs_done=self.epoch,
            final_alphas=self.net.alphas_per_cell(),
        )
        bit_probs = self.net.bit_probabilities()
        if bit_probs is not None:
            meta["final_bit_probs"] = bit_probs.detach().cpu().tolist()
        if self.hw is not None:
            meta["hw"] = self.hw.summary(self.net.probabilities(), bit_probs) | {
                "objective": self.cfg.hw_objective,
                "limit": self.cfg.hw_limit,
                "history": self.hw.history,
            }
        bits = self.net.derived_bits()
        if self.hw is not None and self.hw.constrained:  # budget / device fit: meet the limit
            tags = None if bits is None or self.net.beta is None else [f"w{w}a{a}" for w, a in bits]
            cells, tags, changes = self.hw.project(
                [list(c) for c in genotype.cells], self.net.probabilities(), tags, bit_probs
            )
            if changes:
                genotype = dataclasses.replace(genotype, cells=cells).validate()
                if tags is not None:
                    bits = tuple((int(t[1 : t.index("a")]), int(t[t.index("a") + 1 :])) for t in tags)
            meta["hw"]["projection_changes"] = changes
            final_bits = None if self.net.beta is None else list(tags or [])
            if self.hw.ladder is not None:
                meta["hw"]["goal_fps"] = self.cfg.hw_target_fps
                meta["hw"]["levels"] = list(self.hw.ladder.levels)
                meta["hw"]["fit_final"] = self.hw.ladder.fit(genotype.cells, final_bits)
            else:
                pred = self.hw.table.predict(genotype.cells, final_bits)
                meta["hw"]["derived_final"] = float(
                    self.hw.score(torch.tensor([pred[r] for r in self.hw.columns], dtype=torch.float64))
                )
        return dataclasses.replace(genotype, meta=meta, **({"bits": bits} if bits is not None else {}))

    def _dev(self, t: torch.Tensor) -> torch.Tensor:
        return t.to(self.device, non_blocking=True)


def run_search(
    cfg: SearchConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True
) -> Genotype:
    """Run (or resume) the architecture search of ``cfg`` in ``out_dir`` and return the genotype.

    Writes ``out_dir/{config.yaml, log.jsonl, alphas.jsonl, checkpoint.pt, genotype.json}``.

    Args:
        cfg: the search settings.
        out_dir: run directory (created).
        resume: continue from ``checkpoint.pt`` (starts fresh when there is none); with the same
            seed on CPU the result is identical to an uninterrupted run.
        progress: show tqdm progress bars.

    Raises:
        ConfigError: ``out_dir`` already holds a search and ``resume`` is False; bad settings.
        TrainingError: a loss became NaN/inf (the last good checkpoint stays), unreadable or
            mismatching checkpoint.
    """
    out = Path(out_dir)
    tune_allocator(resolve_device(cfg.device))  # a bad NASH_MALLOC_TUNE stops before anything is written
    ckpt = out / "checkpoint.pt"
    if ckpt.exists() and not resume:
        raise ConfigError(
            f"{out} already holds a search (checkpoint.pt); resume it with --resume or pick another --out"
        )
    run = SearchRun(cfg, _hw_table(cfg, out, progress) if cfg.hw_aware() else None)
    if resume and ckpt.exists():
        run.load_state_dict(load_checkpoint(ckpt, required=_CHECKPOINT_KEYS))
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    for name in ("log.jsonl", "alphas.jsonl"):  # drop rows of epochs the checkpoint does not hold
        _truncate_jsonl(out / name, run.epoch)
    bar = tqdm(total=cfg.epochs, initial=run.epoch, desc="search epochs", disable=not progress)
    while run.epoch < cfg.epochs:
        row = run.run_epoch(progress)
        append_jsonl(out / "log.jsonl", row)
        append_jsonl(out / "alphas.jsonl", run.alphas_row())
        save_checkpoint(run.state_dict(), ckpt)
        bar.update(1)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", acc=f"{row['train_acc']:.1f}")
    bar.close()
    genotype = run.derive()
    genotype.save(out / "genotype.json")
    return genotype


def _hw_table(cfg: SearchConfig, out: Path, progress: bool) -> Any:
    """The run's cost table (a ``FitLadder`` with ``hw_fit``): ``out/hw_table.json`` (resume),
    ``cfg.hw_table``, or built (cached)."""
    from nash.hw.cost_table import CostTable
    from nash.hw.fit_ladder import FitLadder
    from nash.hw.table_build import build_cost_table, build_fit_ladder, table_settings

    settings = hw_table_settings(cfg)
    wanted = table_settings(**settings)  # a table built for another deployment is refused
    kept = out / "hw_table.json"
    kind = FitLadder if cfg.hw_fit else CostTable
    if kept.exists():
        table = kind.load(kept, settings=wanted)
    elif cfg.hw_table:
        table = kind.load(cfg.hw_table, settings=wanted)
    elif cfg.hw_fit:
        table = build_fit_ladder(
            fps_levels=cfg.fit_levels(), **settings, cache_dir=_cache_dir(), progress=progress
        )
    else:
        table = build_cost_table(**settings, cache_dir=_cache_dir(), progress=progress)
    if not kept.exists():
        out.mkdir(parents=True, exist_ok=True)
        table.save(kept)
    return table


def _cache_dir() -> Path:
    """Where built cost tables are kept for the next search: ``$NASH_CACHE_DIR`` or ~/.cache/nash."""
    import os

    root = os.environ.get("NASH_CACHE_DIR") or Path.home() / ".cache" / "nash"
    return Path(root) / "cost-tables"


def _check_same_config(cfg: SearchConfig, saved: dict[str, Any]) -> None:
    now = to_dict(cfg)
    defaults = to_dict(SearchConfig())
    for key, value in now.items():
        if key not in saved and value == defaults.get(key):
            continue  # a setting added after the checkpoint was written, left at its default
        if key not in _RESUME_FREE and saved.get(key) != value:
            raise TrainingError(
                f"checkpoint was written with {key}={saved.get(key)!r}, not {value!r}; resume with the "
                "same settings or start a new search in another --out directory"
            )


def _truncate_jsonl(path: Path, epochs_done: int) -> None:
    if not path.exists():
        return
    rows = [r for r in read_jsonl(path) if int(r.get("epoch", 0)) <= epochs_done]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
