"""The two steps of Algorithm 1: the architecture (alpha) step and the weight step.

* :class:`Architect` - line 5: on a validation mini-batch, with the weights frozen, sample two
  paths per edge, run the gated network and update ``alpha`` with Adam through the ProxylessNAS
  binary-gate gradient.
* :class:`WeightTrainer` - line 6: on a training mini-batch, with ``alpha`` frozen, sample one path
  per edge, run only it and update the weights with SGD (gradient-norm clipping).

Both return ``(loss, correct)`` of the sampled sub-network as plain Python numbers and raise
``TrainingError`` on a non-finite loss, so the caller keeps its last good checkpoint.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nash.errors import TrainingError
from nash.search.hw_objective import HwObjective
from nash.search.supernet import Supernet

__all__ = ["Architect", "WeightTrainer"]


def _check_finite(loss: Tensor, what: str) -> float:
    value = float(loss.detach())
    if not math.isfinite(value):
        raise TrainingError(
            f"{what} loss became {value}; the last good checkpoint is kept - lower the learning rate "
            "(--config with lr/arch_lr) or check the data, then resume"
        )
    return value


def _correct(logits: Tensor, y: Tensor) -> int:
    return int((logits.detach().argmax(dim=1) == y).sum())


class Architect:
    """Alpha step: Adam on ``supernet.alpha`` with the binary-gate (two-path) gradient.

    Args:
        supernet: the supernet whose ``alpha`` is trained.
        lr, betas, weight_decay: Adam settings (reference: 3e-4, (0, 0.999), 1e-3).
        n_paths: ops sampled per edge (2 = ProxylessNAS two-path; the gradient is renormalised over them).
        alpha_grad: ``pair`` (two-path, default) or ``full`` (one op sampled from the full softmax,
            gradient over every op of the edge, as the reference code).
        hw: the hardware term (``None``: accuracy only). Its loss is added to the sampled
            network's cross-entropy; ``beta`` (per-cell bit widths) is trained with ``alpha``.
    """

    def __init__(
        self,
        supernet: Supernet,
        lr: float = 3e-4,
        betas: tuple[float, float] = (0.0, 0.999),
        weight_decay: float = 1e-3,
        n_paths: int = 2,
        alpha_grad: str = "pair",
        hw: HwObjective | None = None,
    ) -> None:
        self.net = supernet
        self.n_paths = n_paths
        self.full = alpha_grad == "full"
        self.hw = hw
        self.optimizer = torch.optim.Adam(
            supernet.arch_parameters(), lr=lr, betas=betas, weight_decay=weight_decay
        )

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator | None = None) -> tuple[float, int]:
        """One alpha update on the batch ``(x, y)``; returns (loss, correct) of the sampled net."""
        weights = self.net.weight_parameters()
        flags = [p.requires_grad for p in weights]
        for p in weights:  # freeze the weights: no weight gradients are computed at all
            p.requires_grad_(False)
        try:
            plan = self.net.sample(self.n_paths, generator, gated=True, full=self.full)
            self.optimizer.zero_grad(set_to_none=True)
            logits = self.net(x, plan)
            loss = F.cross_entropy(logits, y)
            value = _check_finite(loss, "architecture-step")
            if self.hw is not None:
                loss = loss + self.hw.loss(self.net.probabilities(), self.net.bit_probabilities())
            loss.backward()
            self.optimizer.step()
            if self.hw is not None:
                with torch.no_grad():
                    self.hw.after_step(self.net.probabilities(), self.net.bit_probabilities())
        finally:
            for p, flag in zip(weights, flags):
                p.requires_grad_(flag)
        return value, _correct(logits, y)


class WeightTrainer:
    """Weight step: SGD with momentum on every supernet weight, one sampled path per edge.

    Args:
        supernet: the supernet whose weights are trained (``alpha`` stays untouched).
        lr, momentum, weight_decay: SGD settings (reference: 0.025, 0.9, 3e-4).
        grad_clip: max global gradient norm.
    """

    def __init__(
        self,
        supernet: Supernet,
        lr: float = 0.025,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        grad_clip: float = 5.0,
    ) -> None:
        self.net = supernet
        self.grad_clip = grad_clip
        self.params = supernet.weight_parameters()
        self.optimizer = torch.optim.SGD(self.params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator | None = None) -> tuple[float, int]:
        """One weight update on the batch ``(x, y)``; returns (loss, correct) of the sampled net."""
        plan = self.net.sample(1, generator)  # alpha is not in the graph: it stays frozen
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.net(x, plan)
        loss = F.cross_entropy(logits, y)
        value = _check_finite(loss, "weight-step")
        loss.backward()
        nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.optimizer.step()
        return value, _correct(logits, y)
