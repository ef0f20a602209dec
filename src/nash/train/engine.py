"""One training epoch and one evaluation pass (Algorithm 2, lines 4-6), rank-aware.

Both functions take plain values (model, loader, optimizer, device, context) and return sums
that are already all-reduced over processes, so every rank reports the same numbers.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from nash.errors import TrainingError
from nash.train.distributed import DistContext, all_reduce_sum

__all__ = ["EpochStats", "topk_correct", "train_one_epoch", "evaluate"]


@dataclass(frozen=True)
class EpochStats:
    """Sums over one pass; ``loss`` and accuracies are means in percent over ``n`` images."""

    n: int
    loss: float
    top1: float
    top5: float
    steps: int = 0


def topk_correct(logits: torch.Tensor, target: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> list[int]:
    """Number of rows whose target is within the top-k logits, for each k (k capped at #classes).

    Example:
        >>> topk_correct(torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.3]]), torch.tensor([1, 2]), (1, 2))
        [1, 2]
    """
    kmax = min(max(ks), logits.shape[1])
    pred = logits.topk(kmax, dim=1).indices  # (B, kmax)
    hits = pred.eq(target.view(-1, 1))  # (B, kmax)
    return [int(hits[:, : min(k, kmax)].any(dim=1).sum()) for k in ks]


def _stats(sums: torch.Tensor, ctx: DistContext, steps: int = 0) -> EpochStats:
    # sums = [n, loss_sum, correct1, correct5], reduced over ranks in float64 for exact counts.
    all_reduce_sum(sums, ctx)
    n, loss, c1, c5 = sums.tolist()
    n_safe = max(n, 1.0)
    return EpochStats(int(n), loss / n_safe, 100.0 * c1 / n_safe, 100.0 * c5 / n_safe, steps)


def _check_finite(loss: torch.Tensor, ctx: DistContext, epoch: int, step: int) -> None:
    # In DDP every rank must stop together, so the finiteness flag is reduced over ranks.
    bad = torch.tensor([0.0 if torch.isfinite(loss).item() else 1.0], dtype=torch.float64)
    if all_reduce_sum(bad.to(ctx.device), ctx).item() > 0:
        raise TrainingError(
            f"loss became {loss.item()} at epoch {epoch} step {step}; training stopped (lower --lr or "
            "check the data)"
        )


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    criterion: nn.Module,
    ctx: DistContext,
    *,
    epoch: int,
    max_steps: int | None = None,
    amp: bool = False,
    log_every: int = 50,
    progress: bool = True,
    grad_clip: float | None = None,
) -> EpochStats:
    """Run one epoch of optimizer steps (the scheduler is stepped per optimizer step).

    ``grad_clip``: clip the global gradient norm to this value before each step (None: never).
    """
    model.train()
    steps = len(loader) if max_steps is None else min(len(loader), max_steps)
    sums = torch.zeros(4, dtype=torch.float64, device=ctx.device)
    use_amp = amp and ctx.device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    bar = tqdm(total=steps, desc=f"epoch {epoch}", disable=not (progress and ctx.is_main), leave=False)
    done = 0
    for step, (images, labels) in enumerate(loader):
        if step >= steps:
            break
        done += 1
        images = images.to(ctx.device, non_blocking=True)
        labels = labels.to(ctx.device, non_blocking=True)
        autocast = torch.autocast("cuda") if use_amp else contextlib.nullcontext()
        with autocast:
            logits = model(images)  # (B, num_classes)
            loss = criterion(logits, labels)
        _check_finite(loss, ctx, epoch, step)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if grad_clip is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        c1, c5 = topk_correct(logits.detach(), labels)
        sums += torch.tensor(
            [len(labels), loss.item() * len(labels), c1, c5], dtype=torch.float64, device=ctx.device
        )
        bar.update(1)
        if step % log_every == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{scheduler.get_last_lr()[0]:.3g}")
    bar.close()
    return _stats(sums, ctx, done)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, ctx: DistContext, progress: bool = False) -> EpochStats:
    """Top-1 / top-5 accuracy (percent) and mean cross-entropy over the loader, all ranks summed."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=ctx.device)
    for images, labels in tqdm(loader, desc="eval", disable=not (progress and ctx.is_main), leave=False):
        images, labels = images.to(ctx.device), labels.to(ctx.device)
        logits = model(images)
        loss = nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        c1, c5 = topk_correct(logits, labels)
        sums += torch.tensor([len(labels), loss, c1, c5], dtype=torch.float64, device=ctx.device)
    model.train(was_training)
    stats = _stats(sums, ctx)
    if math.isnan(stats.loss):
        raise TrainingError(
            "evaluation loss is NaN; the model weights are not finite, retrain with a lower --lr"
        )
    return stats
