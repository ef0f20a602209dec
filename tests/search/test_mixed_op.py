"""Binary-gate gradient, single-path execution and masking of the mixed op."""

from __future__ import annotations

import pytest
import torch

from nash.models.ops import create_op
from nash.search.mixed_op import MixedOp, binary_gates, sample_paths
from nash.space import OPS

CONV_OPS = tuple(OPS.index(n) for n in ("max_pool_3x3", "identity", "conv_1x1", "conv_3x3", "conv_5x5"))


def _mixed_op(seed: int = 0, candidates: tuple[int, ...] = CONV_OPS) -> MixedOp:
    torch.manual_seed(seed)
    op = MixedOp(4, 4, 1, OPS, candidates)
    return op.eval()  # BN with running stats: every op is a fixed function of x


def _gate_gradient(
    op: MixedOp, x: torch.Tensor, c: torch.Tensor, logits: torch.Tensor, idx, active
) -> torch.Tensor:
    """d<c, out>/d logits through the binary gates of one edge."""
    logits = logits.clone().requires_grad_(True)
    gates = binary_gates(logits, torch.tensor([idx]), torch.tensor([active]))
    out = op(x, tuple(idx), active, gates[0])
    (c * out).sum().backward()
    return logits.grad[0]


def _op_values(op: MixedOp, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """v_k = <c, o_k(x)> for every op column (0 for zero / non-candidates)."""
    with torch.no_grad():
        return torch.tensor([(c * op.ops[OPS[k]](x)).sum().item() if k in op.candidates and OPS[k] != "zero"
                             else 0.0 for k in range(len(OPS))])  # fmt: skip


@pytest.mark.parametrize(
    "idx,active", [((3, 5), 0), ((3, 5), 1), ((0, 4), 1), ((0, 4), 0), ((1, 2, 3, 4, 5), 2)]
)
def test_binary_gate_gradient_matches_formula(idx, active):
    op = _mixed_op()
    x, c = torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6)
    logits = torch.randn(1, len(OPS))
    grad = _gate_gradient(op, x, c, logits, idx, active)
    v = _op_values(op, x, c)[list(idx)]  # dL/dg_j of the linear loss
    p = torch.softmax(logits[0, list(idx)], dim=0)  # renormalised over the sampled ops
    expected = torch.zeros(len(OPS))
    for a, i in enumerate(idx):
        expected[i] = sum(v[b] * p[b] * (float(a == b) - p[a]) for b in range(len(idx)))
    torch.testing.assert_close(grad, expected, rtol=1e-4, atol=1e-5)
    assert grad[[k for k in range(len(OPS)) if k not in idx]].abs().sum() == 0  # unsampled ops: no gradient


def test_all_path_gate_gradient_is_exact_expectation_gradient():
    # With every candidate in the gate set, the estimator equals d/dalpha E_p[L] = d/dalpha sum_k p_k v_k;
    # checked against central finite differences of that expectation.
    op = _mixed_op(1)
    x, c = torch.randn(2, 4, 5, 5), torch.randn(2, 4, 5, 5)
    idx = CONV_OPS
    logits = torch.randn(1, len(OPS), dtype=torch.float64)
    v = _op_values(op, x, c).double()[list(idx)]
    expect = lambda a: float((torch.softmax(a[0, list(idx)], 0) * v).sum())  # noqa: E731
    fd = torch.zeros(len(OPS), dtype=torch.float64)
    for k in idx:
        e = torch.zeros_like(logits)
        e[0, k] = 1e-5
        fd[k] = (expect(logits + e) - expect(logits - e)) / 2e-5
    grad = _gate_gradient(op, x, c, logits.float(), idx, active=3).double()
    torch.testing.assert_close(grad, fd, rtol=1e-3, atol=1e-4)


def test_value_is_the_active_op_output():
    op = _mixed_op()
    x = torch.randn(2, 4, 6, 6)
    gates = binary_gates(
        torch.randn(1, len(OPS), requires_grad=True), torch.tensor([[4, 2]]), torch.tensor([0])
    )
    out = op(x, (4, 2), 0, gates[0])
    torch.testing.assert_close(out, op.ops["conv_3x3"](x))
    assert op(x, (0,), 0) is None  # zero op: nothing to add


def test_only_sampled_op_runs():
    op = _mixed_op()
    calls = {name: 0 for name in op.ops}
    for name, module in op.ops.items():
        module.register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
    x = torch.randn(2, 4, 6, 6)
    op(x, (OPS.index("conv_5x5"),), 0)
    assert calls == {"max_pool_3x3": 0, "identity": 0, "conv_1x1": 0, "conv_3x3": 0, "conv_5x5": 1}
    gates = binary_gates(
        torch.zeros(1, len(OPS), requires_grad=True), torch.tensor([[3, 1]]), torch.tensor([0])
    )
    out = op(x, (3, 1), 0, gates[0])  # two-path alpha step: the active op runs in the forward ...
    assert calls == {"max_pool_3x3": 0, "identity": 0, "conv_1x1": 1, "conv_3x3": 0, "conv_5x5": 1}
    out.sum().backward()  # ... the inactive one once in the backward (its output feeds dL/dg only)
    assert calls == {"max_pool_3x3": 1, "identity": 0, "conv_1x1": 1, "conv_3x3": 0, "conv_5x5": 1}


def test_sample_paths_respects_mask_and_probabilities():
    logits = torch.tensor([[0.0, 9.0, 0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 3.0, 0.0, 0.0]])
    mask = torch.tensor([[True, False, True, True, True, True], [False, False, False, True, False, False]])
    gen = torch.Generator().manual_seed(0)
    counts = torch.zeros(len(OPS))
    for _ in range(100):
        idx, active = sample_paths(logits, mask, 2, gen)
        assert idx[0, 0] != idx[0, 1]  # two distinct ops
        assert idx[1].tolist() == [3, 3]  # a single candidate is repeated
        counts[idx[0, active[0]]] += 1
    assert counts[1] == 0  # masked max-pool never sampled despite the largest logit
    assert counts[3:].sum() > counts[[0, 2]].sum()  # higher alpha -> sampled more often
    idx1, _ = sample_paths(logits, mask, 1, gen)
    assert idx1.shape == (2, 1)


def test_size_changing_ops_shapes():
    x = torch.randn(2, 4, 7, 7)
    for name in OPS[1:]:
        out = create_op(name, 4, 8, 2, None)(x)
        assert out.shape == (2, 8, 4, 4), name
    with pytest.raises(ValueError, match="unknown NAS op"):
        create_op("conv_7y7", 4, 4, 1, None)
