"""SGD with decoupled parameter groups and a per-step warm-up + cosine learning-rate schedule."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["param_groups", "build_optimizer", "build_scheduler", "cosine_factor", "step_factor"]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Split parameters into a decayed group (conv/linear weights) and a non-decayed one.

    Parameters with fewer than two dimensions (BatchNorm weights/biases, layer biases, Brevitas
    scale factors) are never decayed: decaying a learned quantizer scale would shrink the
    quantization range for no reason.
    """
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        (decay if param.ndim >= 2 else no_decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(
    model: nn.Module,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    nesterov: bool = False,
    kind: str = "sgd",
) -> torch.optim.Optimizer:
    """SGD with momentum over :func:`param_groups` (``kind="adam"``: Adam over the same groups)."""
    if kind == "adam":
        return torch.optim.Adam(param_groups(model, weight_decay), lr=lr)
    nesterov = nesterov and momentum > 0
    return torch.optim.SGD(param_groups(model, weight_decay), lr=lr, momentum=momentum, nesterov=nesterov)


def cosine_factor(step: int, total_steps: int, warmup_steps: int = 0) -> float:
    """Learning-rate multiplier at ``step``: linear warm-up to 1, then cosine decay to 0.

    Example:
        >>> cosine_factor(0, 100), cosine_factor(50, 100), round(cosine_factor(99, 100), 4)
        (1.0, 0.5, 0.0002)
        >>> cosine_factor(0, 100, warmup_steps=10)
        0.1
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def step_factor(step: int, steps_per_drop: int, gamma: float = 0.1) -> float:
    """Step schedule multiplier: ``gamma`` to the number of completed drops.

    Example:
        >>> step_factor(0, 30), step_factor(30, 30), round(step_factor(65, 30), 6)
        (1.0, 0.1, 0.01)
    """
    return gamma ** (step // max(1, steps_per_drop))


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    *,
    kind: str = "cosine",
    steps_per_drop: int = 1,
    gamma: float = 0.1,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` stepped once per optimizer step following :func:`cosine_factor`.

    ``kind="step"``: :func:`step_factor` (x ``gamma`` every ``steps_per_drop`` steps; the reference
    code's StepLR(30, 0.1) counted in optimizer steps).
    """
    if kind == "step":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: step_factor(step, steps_per_drop, gamma)
        )
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cosine_factor(step, total_steps, warmup_steps)
    )
