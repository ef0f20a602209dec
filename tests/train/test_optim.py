"""Learning-rate schedule values and weight-decay parameter groups."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nash.train.optim import build_optimizer, build_scheduler, cosine_factor, param_groups


def test_cosine_factor_values() -> None:
    assert cosine_factor(0, 100) == 1.0
    assert cosine_factor(50, 100) == pytest.approx(0.5)
    assert cosine_factor(25, 100) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert cosine_factor(100, 100) == pytest.approx(0.0)
    # warm-up: linear from 1/w to 1, then cosine over the remaining 90 steps
    assert [cosine_factor(s, 100, 10) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert cosine_factor(10, 100, 10) == 1.0
    assert cosine_factor(55, 100, 10) == pytest.approx(0.5)


def test_scheduler_steps_per_optimizer_step() -> None:
    model = nn.Linear(3, 2)
    opt = build_optimizer(model, lr=0.4, momentum=0.9, weight_decay=1e-4)
    sched = build_scheduler(opt, total_steps=4, warmup_steps=0)
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx(
        [0.4, 0.4 * (1 + math.cos(math.pi / 4)) / 2, 0.2, 0.4 * (1 - math.cos(math.pi / 4)) / 2]
    )


def test_no_weight_decay_on_bn_bias_and_scales() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    model.register_parameter("scale", nn.Parameter(torch.ones(())))
    decay, no_decay = param_groups(model, 5e-4)
    assert decay["weight_decay"] == 5e-4 and no_decay["weight_decay"] == 0.0
    assert sorted(p.numel() for p in decay["params"]) == [8, 36]  # conv and linear weights only
    # conv bias 4, BN weight+bias 4+4, linear bias 2, scalar scale 1
    assert sorted(p.numel() for p in no_decay["params"]) == [1, 2, 4, 4, 4]
