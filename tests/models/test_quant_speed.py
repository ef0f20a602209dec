"""The fast QAT paths compute what Brevitas computes (issue 14).

* :class:`nash.models.quant.TopAbsPercentile` -- the percentile statistics of the first 300 steps
  by per-chunk maxima + ``topk`` instead of ``kthvalue``: the same value, exactly (no sampling),
  and the same element receives its gradient (``kthvalue`` still picks among ties);
* :class:`nash.models.quant.FusedIntQuant` -- the integer fake quantisation as one autograd node:
  bit-identical output, the same gradients up to float rounding;
* ``nash.models.ops._pool`` -- the NAS max pools in channels-last layout: bit-identical.

A QAT step of the original and the NASH-v3 network gives bit-identical outputs and the same
gradients up to float rounding as stock Brevitas (the code before issue 14), runs are
deterministic given the seed, and a short real training reaches the same accuracy (``-m slow``;
the default run's accuracy check of this code is tests/train/test_accuracy.py).
"""

from __future__ import annotations

import copy
import math
import types
from pathlib import Path

import pytest
import torch
from brevitas.core.quant import IntQuant
from brevitas.core.stats import AbsPercentile
from brevitas.nn import QuantConv2d, QuantHardTanh, QuantIdentity, QuantLinear, QuantReLU
from torch import nn

import nash.models.ops as ops
import nash.models.quant as quant
from nash.models import QuantSpec, build_model
from nash.models.ops import PoolOp
from nash.models.quant import (
    FusedIntQuant,
    TopAbsPercentile,
    act_quant_kwargs,
    weight_quant_kwargs,
)

Q = 99.999  # the recipes' high_percentile_q


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().contiguous().view(torch.int32)


def _activation(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """A realistic activation: ReLU of a BatchNorm output (heavy-ish tail, half zeros)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=gen) * (1 + 0.5 * torch.rand(shape[1], 1, 1, generator=gen))
    return torch.relu(nn.functional.batch_norm(x, None, None, training=True))


# --- (a) percentile statistics ------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [(64, 16, 32, 32), (64, 32, 16, 16), (64, 128, 4, 4), (64, 128), (257,), (256,), (3,), (1,)],
)
@pytest.mark.parametrize("kind", ["relu", "signed", "quantised"])
def test_percentile_is_brevitas_value(shape, kind):
    """Exactly Brevitas's ``AbsPercentile`` value (large and small tensors, with and without ties)."""
    x = (
        _activation(shape)
        if len(shape) == 4
        else torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    )
    if kind == "signed":
        x = x - x.mean()
    if kind == "quantised":  # a sum of two 2-bit tensors: few distinct values, many ties at the top
        x = (x * 1.3).round().clamp(-1, 1) * 0.4 + (x * 0.7).round().clamp(-1, 1) * 0.4
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ref, ours = AbsPercentile(Q, None)(a), TopAbsPercentile(Q, None)(b)
    assert ours.shape == ref.shape and _bits(ours).item() == _bits(ref).item()
    ref.backward()
    ours.backward()
    # sign(x) at the same element, 0 elsewhere (Brevitas's abs backward leaves -0.0 at negative x)
    assert torch.equal(a.grad, b.grad)
    assert b.grad.count_nonzero() <= 1


def test_percentile_ties_follow_kthvalue():
    x = ((_activation((64, 16, 32, 32)) * 2).round().clamp(0, 3) * 0.5).requires_grad_()
    y = x.detach().clone().requires_grad_()
    assert (x.abs() == AbsPercentile(Q, None)(x.detach())).sum() > 1  # tied
    AbsPercentile(Q, None)(x).backward()
    TopAbsPercentile(Q, None)(y).backward()
    assert torch.equal(x.grad, y.grad) and y.grad.count_nonzero() == 1


def test_percentile_per_channel_keeps_brevitas():
    x = torch.randn(16, 300)
    assert torch.equal(TopAbsPercentile(Q, 1)(x), AbsPercentile(Q, 1)(x))


def test_percentile_k_matches_brevitas_rounding():
    # k = floor(q/100 * n + 0.5): the m-th largest with m = n - k + 1 (11 for 1M elements)
    for n in (1, 2, 3, 100, 50_000, 150_001, 1 << 20):
        k = int(math.floor(0.01 * Q * n + 0.5))
        x = torch.randperm(n).float()
        assert TopAbsPercentile(Q, None)(x).item() == float(k - 1)


# --- the fused fake quantisation ----------------------------------------------------------------


def _unfused(module: nn.Module) -> nn.Module:
    """``module`` with Brevitas's own IntQuant / AbsPercentile (the code before issue 14)."""
    for m in module.modules():
        if isinstance(m, FusedIntQuant):
            m.__class__ = IntQuant
        if isinstance(m, TopAbsPercentile):
            m.__class__ = AbsPercentile
    return module


def _finish_stats(module: nn.Module) -> None:
    for m in module.modules():
        if hasattr(m, "collect_stats_steps"):
            m.counter = m.collect_stats_steps


QUANTISERS = {
    "relu a2": lambda: QuantReLU(**act_quant_kwargs(2, "relu")),
    "identity a2": lambda: QuantIdentity(**act_quant_kwargs(2, "identity")),
    "identity a8": lambda: QuantIdentity(**act_quant_kwargs(8, "identity")),
    "hardtanh a2": lambda: QuantHardTanh(**act_quant_kwargs(2, "hardtanh")),
}


@pytest.mark.parametrize("name", list(QUANTISERS))
@pytest.mark.parametrize("phase", ["stats", "learned"])
def test_fused_act_quant_is_brevitas(name, phase):
    torch.manual_seed(0)
    fused = QUANTISERS[name]()
    assert isinstance(fused.act_quant.fused_activation_quant_proxy.tensor_quant.int_quant, FusedIntQuant)
    ref = _unfused(copy.deepcopy(fused))
    if phase == "learned":
        _finish_stats(fused)
        _finish_stats(ref)
    for step in range(3):
        x = torch.randn(16, 8, 12, 12) * (1 + step)
        g = torch.randn_like(x)
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = fused(xa), ref(xb)
        assert torch.equal(_bits(ya), _bits(yb))  # bit-identical output
        ya.backward(g)
        yb.backward(g)
        _assert_same_gradient(xa.grad, xb.grad)
        for (n, p), (_, p_ref) in zip(fused.named_parameters(), ref.named_parameters(), strict=True):
            assert (p.grad is None) == (p_ref.grad is None), n
            if p.grad is not None:
                _assert_same_gradient(p.grad, p_ref.grad, n)
        fused.zero_grad()
        ref.zero_grad()


def _assert_same_gradient(
    ours: torch.Tensor, ref: torch.Tensor, name: str = "input", tol: float = 2e-5
) -> None:
    """The same gradient up to float32 rounding.

    The fused node computes ``g * inside`` where Brevitas's graph computes ``(g * s * inside) / s``
    (1 ulp apart at most), and the scale gradient ``sum(g * (q - inside * x / s))`` as one
    reduction where Brevitas subtracts two (a few ulps of the larger sum, which also reaches the
    input gradient through the percentile element in the statistics phase). ``tol``: allowed
    deviation relative to the tensor's largest magnitude; a scalar (a scale gradient, a sum with
    much cancellation) may deviate by ``100 * tol`` of its own value.
    """
    assert ours.shape == ref.shape, name
    if ref.numel() == 1:
        torch.testing.assert_close(ours, ref, rtol=100 * tol, atol=1e-12, msg=name)
    else:
        torch.testing.assert_close(ours, ref, rtol=3e-7, atol=tol * float(ref.abs().max()), msg=name)


@pytest.mark.parametrize("per_channel", [True, False])
def test_fused_weight_quant_is_brevitas(per_channel):
    torch.manual_seed(0)
    layer = (
        QuantConv2d(8, 16, 3, bias=False, **weight_quant_kwargs(2))
        if per_channel
        else QuantLinear(32, 10, bias=False, **weight_quant_kwargs(2, False))
    )
    ref = _unfused(copy.deepcopy(layer))
    x = torch.randn(4, 8, 6, 6) if per_channel else torch.randn(4, 32)
    ya, yb = layer(x), ref(x)
    assert torch.equal(_bits(ya), _bits(yb))
    ya.square().sum().backward()
    yb.square().sum().backward()
    _assert_same_gradient(layer.weight.grad, ref.weight.grad, "weight")


def test_fused_quant_without_grad_uses_brevitas(monkeypatch):
    def fail(*args):
        raise AssertionError("the fused node ran without autograd")

    monkeypatch.setattr(quant._FakeQuant, "apply", fail)
    q = QuantIdentity(**act_quant_kwargs(4, "identity"))
    with torch.no_grad():
        q(torch.randn(2, 3))
        q.eval()(torch.randn(2, 3))


# --- pooling ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stride", [1, 2])
def test_channels_last_pool_is_bit_identical(stride):
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(8, 16, 15, 16, generator=gen).clamp(min=0) * 2).round() / 2  # quantised: ties
    pool = nn.MaxPool2d(3, stride=stride, padding=1)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ops._pool(pool, a), pool(b)
    assert ya.is_contiguous() and torch.equal(_bits(ya), _bits(yb))
    g = torch.randn(ya.shape, generator=gen)
    ya.backward(g)
    yb.backward(g)
    assert a.grad.is_contiguous() and torch.equal(_bits(a.grad), _bits(b.grad))


def test_pool_op_traces_plain_pool():
    op = PoolOp(4, 8, 2).eval()
    graph = torch.jit.trace(op, torch.randn(1, 4, 8, 8)).inlined_graph
    kinds = {n.kind() for n in graph.nodes()}
    assert "aten::max_pool2d" in kinds and "aten::contiguous" not in kinds


# --- (b) whole networks: Brevitas-identical, deterministic --------------------------------------


def _train(model: nn.Module, steps: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(steps):
        x, y = torch.randn(16, 1, 16, 16, generator=gen), torch.randint(0, 10, (16,), generator=gen)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _net(version: str, reference_genotypes) -> nn.Module:
    torch.manual_seed(0)
    genotype = None if version == "o" else reference_genotypes[version]
    spec = QuantSpec.from_tag("w2a2", version=version)
    return build_model("resnet18", genotype, spec, 10, in_channels=1, width=4, stem="small")


def _same_bits(a: dict, b: dict) -> list[str]:
    return [
        k
        for k in a
        if not torch.equal(
            _bits(a[k]) if a[k].is_floating_point() else a[k],
            _bits(b[k]) if b[k].is_floating_point() else b[k],
        )
    ]


@pytest.mark.parametrize("version", ["o", "v3"])
def test_gradients_are_brevitas_gradients(version, reference_genotypes):
    """One QAT step's forward is bit-identical to the old code (stock Brevitas quantisers and
    percentile, one NCHW pool per edge) and every gradient equals its gradient up to rounding."""
    new = _net(version, reference_genotypes)
    old = _unfused(copy.deepcopy(new))
    for m in old.modules():  # the plain NCHW pool
        if isinstance(m, PoolOp):
            m.forward = types.MethodType(lambda self, x: self.bn(_plain_pool(self, x)), m)
    x = torch.randn(16, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    y = torch.arange(16) % 10
    out_new, out_old = new.train()(x), old.train()(x)
    assert torch.equal(_bits(out_new), _bits(out_old))
    nn.functional.cross_entropy(out_new, y).backward()
    nn.functional.cross_entropy(out_old, y).backward()
    for (name, p), (_, p_old) in zip(new.named_parameters(), old.named_parameters(), strict=True):
        assert (p.grad is None) == (p_old.grad is None), name
        if p.grad is not None:  # rounding differences compound over the layers: 5x the looser bar
            _assert_same_gradient(p.grad, p_old.grad, name, tol=1e-4)


def _plain_pool(op: PoolOp, x: torch.Tensor) -> torch.Tensor:
    y = op.pool(x)
    return torch.cat([y, y], dim=1) if op.duplicate else y


@pytest.mark.parametrize("version", ["o", "v3"])
def test_training_is_deterministic(version, reference_genotypes):
    a = _train(_net(version, reference_genotypes), 4)
    b = _train(_net(version, reference_genotypes), 4)
    assert _same_bits(a, b) == []


# --- (c) accuracy on real data ------------------------------------------------------------------


@pytest.mark.slow
def test_original_w2a2_still_learns_fashion_mnist(tmp_path: Path, fmnist_dir: Path):
    """w2a2 original ResNet18 (width 8, small stem), 150 steps of 32 real Fashion-MNIST images.

    Slow (issue 14, test time): in the default run tests/train/test_accuracy.py::
    test_original_w2a2_reaches_70_cli_and_eval trains the same network with the same settings and the
    same fast QAT code for 400 steps and must reach 70 %.

    Top-1 on 1,000 test images, one torch thread, seed 0: 65.5 % before issue 14 (stock Brevitas
    kthvalue percentile and IntQuant, NCHW pool) and 65.5 % after -- the same run bit for bit
    (chance: 10 %). Seeds 1-3 of the old code gave 68.7, 61.9 and 60.9 %: 150 steps is a short,
    noisy run, so the bar is 60 %. A variant that let ``topk`` choose among tied percentile
    elements gave 61.7, 65.1, 57.4 and 60.5 % on seeds 0-3 and was dropped.
    """
    from nash.config.train import TrainConfig
    from nash.train import run_training

    cfg = TrainConfig(
        version="o",
        bits="w2a2",
        width=8,
        stem="small",
        lr=0.05,
        weight_decay=0.0,
        augment=False,
        epochs=1,
        train_subset=4800,
        batch_size=32,
        test_subset=1000,
        data_root=str(fmnist_dir),
        device="cpu",
        seed=0,
    )
    m = run_training(cfg, tmp_path / "run", progress=False)
    assert m["optimizer_steps"] == 150
    assert m["top1"] > 60.0, f"w2a2 original reached only {m['top1']:.1f}% top-1"
