"""``alpha_grad: full``: one sampled op, gate gradient over every op of the edge (reference code)."""

from __future__ import annotations

import pytest
import torch

from nash.search.architect import Architect
from nash.search.mixed_op import MixedOp, full_gates
from nash.search.supernet import Supernet
from nash.space import OPS, cell_specs, get_strategy

ALL = tuple(range(len(OPS)))


def _edge(stride: int = 1, seed: int = 0, dtype=torch.float32) -> MixedOp:
    torch.manual_seed(seed)
    c_out = 4 if stride == 1 else 8
    return MixedOp(4, c_out, stride, OPS, ALL).to(dtype).eval()  # BN running stats: fixed functions


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_full_gradient_equals_formula_and_expected_loss_gradient(stride, k):
    op = _edge(stride, dtype=torch.float64)
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    c = torch.randn(2, op.ops["conv_1x1"].conv.out_channels, 6 // stride, 6 // stride, dtype=torch.float64)
    logits = torch.randn(1, len(OPS), dtype=torch.float64)
    mask = torch.ones(1, len(OPS), dtype=torch.bool)

    a = logits.clone().requires_grad_(True)
    out = op.forward_full(x, k, full_gates(a, mask, torch.tensor([k]))[0])
    (c * out).sum().backward()

    with torch.no_grad():
        v = torch.tensor([0.0 if OPS[j] == "zero" else float((c * op._run(j, x)).sum()) for j in ALL],
                         dtype=torch.float64)  # fmt: skip
        ref_out = op._run(k, x)
    if ref_out is None:
        assert out is None or float(out.abs().max()) == 0.0
    else:
        torch.testing.assert_close(out, ref_out)  # value: the sampled op's output
    p = torch.softmax(logits[0], dim=0)
    formula = torch.tensor([sum(v[j] * p[j] * (float(i == j) - p[i]) for j in ALL) for i in ALL])
    torch.testing.assert_close(a.grad[0], formula, rtol=1e-9, atol=1e-10)

    # ... which is the exact gradient of the expected loss E_p[<c, o>] = sum_j p_j v_j (central differences)
    eps = 1e-6
    fd = torch.zeros(len(OPS), dtype=torch.float64)
    for i in ALL:
        lp, lm = logits[0].clone(), logits[0].clone()
        lp[i] += eps
        lm[i] -= eps
        fd[i] = ((torch.softmax(lp, 0) * v).sum() - (torch.softmax(lm, 0) * v).sum()) / (2 * eps)
    torch.testing.assert_close(a.grad[0], fd, rtol=1e-6, atol=1e-7)


def test_masked_ops_get_no_gradient_and_batched_convs_match():
    op = _edge(1, seed=3)
    cand = tuple(OPS.index(n) for n in ("zero", "conv_1x1", "conv_3x3", "conv_5x5"))  # v4 candidates
    op.candidates = cand
    x, c = torch.randn(2, 4, 7, 7), torch.randn(2, 4, 7, 7)
    mask = torch.zeros(1, len(OPS), dtype=torch.bool)
    mask[0, list(cand)] = True
    a = torch.randn(1, len(OPS)).requires_grad_(True)
    out = op.forward_full(x, OPS.index("conv_3x3"), full_gates(a, mask, torch.tensor([4]))[0])
    (c * out).sum().backward()
    assert a.grad[0, [OPS.index("max_pool_3x3"), OPS.index("identity")]].abs().sum() == 0
    with torch.no_grad():
        fused = op._run_many([OPS.index("conv_1x1"), OPS.index("conv_5x5")], x)
        for j, y in fused.items():
            torch.testing.assert_close(y, op._run(j, x), rtol=1e-5, atol=1e-5)


def test_architect_full_step_moves_every_candidate_alpha():
    torch.manual_seed(0)
    strategy = get_strategy("v3")
    net = Supernet(cell_specs("resnet18"), strategy.candidates, 10, 1, 4, "small")
    before = net.alpha.detach().clone()
    arch = Architect(net, lr=1e-2, weight_decay=0.0, alpha_grad="full")
    gen = torch.Generator().manual_seed(0)
    arch.step(torch.randn(4, 1, 16, 16), torch.randint(0, 10, (4,)), gen)
    moved = (net.alpha.detach() - before).abs() > 0
    assert moved.all()  # every op of every edge got a gradient (pair: only the two sampled)
    assert all(p.grad is None for p in net.weight_parameters())
