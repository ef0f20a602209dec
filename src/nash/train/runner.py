"""``run_training``: quantization-aware training of one model (paper Algorithm 2) into a run dir.

Run directory (only rank 0 writes):
    config.yaml     the fully resolved TrainConfig
    metrics.jsonl   one line per epoch (see ``METRIC_FIELDS``), appended as epochs finish
    metrics.csv     the same rows for spreadsheets
    last.pt         checkpoint after the latest epoch (resume point)
    best.pt         checkpoint of the epoch with the best test top-1

``resume=True`` continues from ``last.pt``; on CPU with the same seed the result is identical to an
uninterrupted run (model, optimizer, scheduler, RNG and quantizer-statistics states are restored,
and the data order is a function of (seed, epoch)).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nash.allocator import tune_allocator
from nash.config.base import save_config, to_dict
from nash.config.train import TrainConfig
from nash.errors import TrainingError
from nash.models.layout import training_layout
from nash.records import refuse_changed_config
from nash.runtime import seed_everything
from nash.train import checkpoint as ck
from nash.train.build import build_from_arch, load_datasets, load_genotype, make_arch, resolve_quant
from nash.train.distributed import DistContext, barrier, init_distributed
from nash.train.engine import EpochStats, evaluate, train_one_epoch
from nash.train.loader import eval_loader, train_loader
from nash.train.optim import build_optimizer, build_scheduler
from nash.train.runlog import METRIC_FIELDS, append_metrics, format_row, reset_metrics

__all__ = ["run_training", "METRIC_FIELDS"]

# Settings that may differ between a run and its resume (where it runs, not what it computes).
_RESUME_FREE = ("device", "data_root", "workers", "log_every")


@dataclass
class _Run:
    """Everything built for one run; the mutable part is ``start_epoch``, ``best`` and ``history``."""

    cfg: TrainConfig
    out: Path
    ctx: DistContext
    arch: dict[str, Any]
    data: dict[str, Any]
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    params: int
    macs: int
    steps_per_epoch: int
    start_epoch: int = 1
    best: tuple[float, int] = (-1.0, 0)  # (top-1, epoch)
    history: list[dict[str, Any]] = field(default_factory=list)


def run_training(
    cfg: TrainConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True
) -> dict:
    """Train ``cfg``'s model with QAT, evaluating top-1/top-5 on the test split every epoch.

    Under ``torchrun`` each process trains on its shard with DistributedDataParallel.

    Returns:
        ``{"top1", "top5", "epoch", "params", "macs", "best_path", "last_path", "best_top1",
        "best_epoch", "optimizer_steps", "steps"}`` of the final epoch (accuracies in percent).

    Raises:
        TrainingError: non-finite loss (``last.pt`` of the last good epoch is kept), an existing run
            without ``resume``, or a checkpoint that does not match ``cfg``.
    """
    out = Path(out_dir)
    ctx = init_distributed(cfg.device)
    try:
        tune_allocator(ctx.device)  # before anything is read or written (a bad NASH_MALLOC_TUNE stops here)
        if not resume and (out / "last.pt").exists():
            raise TrainingError(
                f"{out} already holds a training run (last.pt); pass --resume or pick a new --out"
            )
        ckpt = (
            ck.load_checkpoint(out / "last.pt", ctx.device)
            if resume and (out / "last.pt").is_file()
            else None
        )
        if ckpt is not None:
            _check_settings(cfg, ckpt, out / "last.pt")  # before any dataset is read
        seed_everything(cfg.seed)
        run, train_ds, test_ds = _prepare(cfg, out, ctx)
        if ckpt is not None:
            _restore(run, ckpt)
        elif ctx.is_main:
            reset_metrics(out, [])
        if ctx.is_main:
            save_config(cfg, out / "config.yaml")
        steps = _loop(run, train_ds, test_ds, progress)
        return _summary(run, steps)
    finally:
        ctx.close()


def _prepare(cfg: TrainConfig, out: Path, ctx: DistContext) -> tuple[_Run, Any, Any]:
    genotype = load_genotype(cfg)  # genotype and bit widths fail fast, before the data is read
    quant = resolve_quant(cfg)
    train_ds, test_ds, info = load_datasets(cfg)
    arch = make_arch(cfg, info, genotype, quant)
    model = training_layout(build_from_arch(arch).to(ctx.device), ctx.device)
    params, macs = _count(model, arch)
    steps = _steps_per_epoch(len(train_ds), cfg, ctx.world_size)
    optimizer, scheduler = _optimizer(model, cfg, steps)
    data = {
        "dataset": cfg.dataset,
        "data_root": cfg.data_root,
        "num_classes": int(info.num_classes),
        "mean": list(info.mean),
        "std": list(info.std),
        "image_size": cfg.image_size,
        "channels": cfg.channels,
        "test_subset": cfg.test_subset,
        "seed": cfg.seed,
    }
    run = _Run(cfg, out, ctx, arch, data, model, optimizer, scheduler, params, macs, steps)
    return run, train_ds, test_ds


def _optimizer(model: nn.Module, cfg: TrainConfig, steps: int) -> tuple[Any, Any]:
    optimizer = build_optimizer(
        model, cfg.lr, cfg.momentum, cfg.weight_decay, cfg.nesterov, kind=cfg.optimizer
    )
    scheduler = build_scheduler(
        optimizer,
        steps * cfg.epochs,
        cfg.warmup_steps(steps),
        kind=cfg.schedule,
        steps_per_drop=steps * cfg.lr_step_epochs,
        gamma=cfg.lr_gamma,
    )
    return optimizer, scheduler


def _count(model: nn.Module, arch: dict[str, Any]) -> tuple[int, int]:
    from nash.models import count_params_macs

    model.eval()  # a train-mode probe would update BatchNorm and quantizer statistics
    try:
        params, macs = count_params_macs(model, tuple(arch["input_shape"]))
    finally:
        model.train()
    return int(params), int(macs)


def _steps_per_epoch(n_train: int, cfg: TrainConfig, world_size: int) -> int:
    per_rank = -(-n_train // world_size)
    steps = max(1, per_rank // cfg.batch_size)
    return steps if cfg.max_steps_per_epoch is None else min(steps, cfg.max_steps_per_epoch)


def _restore(run: _Run, ckpt: dict[str, Any]) -> None:
    _check_arch(run, ckpt)
    run.model.load_state_dict(ckpt["model"])
    ck.load_quant_state(run.model, ckpt.get("quant_state", {}))
    # Brevitas replaces some scale Parameters on load: the optimizer must be built afterwards.
    run.optimizer, run.scheduler = _optimizer(run.model, run.cfg, run.steps_per_epoch)
    run.optimizer.load_state_dict(ckpt["optimizer"])
    run.scheduler.load_state_dict(ckpt["scheduler"])
    ck.set_rng_state(ckpt["rng"])
    run.start_epoch = int(ckpt["epoch"]) + 1
    run.best = tuple(ckpt["metrics"]["best"])  # type: ignore[assignment]
    run.history = [dict(r) for r in ckpt.get("history", [])]
    if run.ctx.is_main:  # rows written after the checkpoint (crash in between) are dropped
        reset_metrics(run.out, run.history)


def _check_settings(cfg: TrainConfig, ckpt: dict[str, Any], where: Path) -> None:
    """A resume must train what the run was started with: any other changed setting is refused,
    so ``config.yaml`` and the checkpoint never describe a run that did not happen."""
    stored, now, defaults = ckpt.get("config", {}), to_dict(cfg), to_dict(TrainConfig())
    # settings added after the checkpoint was written, left at their defaults, change nothing
    added = {
        k for k, v in now.items() if isinstance(stored, dict) and k not in stored and v == defaults.get(k)
    }
    refuse_changed_config(
        stored,
        now,
        ignore=(*_RESUME_FREE, *sorted(added)),
        what=str(where),
        defaults=to_dict(TrainConfig()),
        fix="resume with the original settings (`nash train --out DIR --resume` alone reuses them) "
        "or train with the new ones into a new --out",
    )


def _check_arch(run: _Run, ckpt: dict[str, Any]) -> None:
    for key, value in run.arch.items():
        if key == "quant" and key not in ckpt["arch"]:
            continue  # checkpoint from before the resolved widths were stored: bits + overrides decide
        if ckpt["arch"].get(key) != value:
            raise TrainingError(
                f"{run.out / 'last.pt'}: {key} is {ckpt['arch'].get(key)!r} in the checkpoint but {value!r} now; "
                "resume with the original settings or pick a new --out"
            )


def _loop(run: _Run, train_ds: Any, test_ds: Any, progress: bool) -> int:
    cfg, ctx = run.cfg, run.ctx
    net = _wrap(run.model, ctx)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    test = eval_loader(test_ds, cfg.batch_size, rank=ctx.rank, world_size=ctx.world_size, workers=cfg.workers)
    done = 0
    for epoch in range(run.start_epoch, cfg.epochs + 1):
        loader = train_loader(
            train_ds,
            cfg.batch_size,
            epoch - 1,
            seed=cfg.seed,
            rank=ctx.rank,
            world_size=ctx.world_size,
            workers=cfg.workers,
        )
        start = time.perf_counter()
        try:
            train = train_one_epoch(
                net,
                loader,
                run.optimizer,
                run.scheduler,
                criterion,
                ctx,
                epoch=epoch,
                max_steps=cfg.max_steps_per_epoch,
                amp=cfg.amp,
                log_every=cfg.log_every,
                progress=progress,
                grad_clip=cfg.grad_clip,
            )
        except TrainingError as exc:
            raise TrainingError(f"{exc}; {_kept(run)}") from None
        seconds = time.perf_counter() - start
        tested = evaluate(run.model, test, ctx)
        done += train.steps
        row = _row(run, epoch, train, tested, seconds, time.perf_counter() - start)
        _record(run, row, epoch)
        if ctx.is_main:
            _write_epoch(run, row, epoch)
            if progress:
                print(format_row(row), flush=True)
        barrier(ctx)
    return done


def _wrap(model: nn.Module, ctx: DistContext) -> nn.Module:
    if not ctx.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    # A 1-channel stem's weight (8x1x3x3) is contiguous in NCHW and NHWC at once; it keeps NHWC
    # strides (nash.models.layout: they put the network in channels-last) while autograd hands its
    # gradient back in NCHW strides, so DDP copies that one small gradient into its bucket each
    # step and would warn about it once per process.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    return DistributedDataParallel(model, device_ids=ids)


def _kept(run: _Run) -> str:
    if run.history:
        return f"the last good checkpoint {run.out / 'last.pt'} (epoch {run.history[-1]['epoch']}) is kept"
    return "no checkpoint had been written yet (the failure came in the first epoch)"


def _row(
    run: _Run, epoch: int, train: EpochStats, tested: EpochStats, train_s: float, total_s: float
) -> dict:
    return {
        "epoch": epoch,
        "train_loss": train.loss,
        "train_top1": train.top1,
        "test_loss": tested.loss,
        "test_top1": tested.top1,
        "test_top5": tested.top5,
        "lr": run.scheduler.get_last_lr()[0],
        "seconds": round(total_s, 3),
        "images_per_s": round(train.n / max(train_s, 1e-9), 1),
        "steps": train.steps,
    }


def _record(run: _Run, row: dict[str, Any], epoch: int) -> None:
    run.history.append(row)
    if row["test_top1"] > run.best[0]:
        run.best = (row["test_top1"], epoch)


def _write_epoch(run: _Run, row: dict[str, Any], epoch: int) -> None:
    payload = _payload(run, epoch, row)
    ck.save_checkpoint(payload, run.out / "last.pt")
    if run.best[1] == epoch:
        ck.save_checkpoint(payload, run.out / "best.pt")
    append_metrics(run.out, run.history)


def _payload(run: _Run, epoch: int, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "arch": run.arch,
        "model": run.model.state_dict(),
        "data": run.data,
        "epoch": epoch,
        "metrics": {
            **row,
            "top1": row["test_top1"],
            "top5": row["test_top5"],
            "best": list(run.best),
            "params": run.params,
            "macs": run.macs,
        },
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "rng": ck.rng_state(),
        "quant_state": ck.quant_state(run.model),
        "history": list(run.history),
        "config": to_dict(run.cfg),
    }


def _summary(run: _Run, steps: int) -> dict[str, Any]:
    last = run.history[-1] if run.history else {}
    return {
        "top1": last.get("test_top1"),
        "top5": last.get("test_top5"),
        "epoch": last.get("epoch", 0),
        "params": run.params,
        "macs": run.macs,
        "best_path": str(run.out / "best.pt"),
        "last_path": str(run.out / "last.pt"),
        "best_top1": run.best[0],
        "best_epoch": run.best[1],
        "optimizer_steps": int(run.scheduler.last_epoch),
        "steps": steps,
    }
