"""Supernet structure: shapes, alpha layout, candidate masks, single-path execution."""

from __future__ import annotations

import pytest
import torch

from nash.search.supernet import Supernet
from nash.space import OPS, cell_edges, cell_specs, get_strategy


def _net(strategy: str = "v3", backbone: str = "resnet18", stem: str = "small", width: int = 4) -> Supernet:
    torch.manual_seed(0)
    return Supernet(cell_specs(backbone), get_strategy(strategy).candidates, 10, 1, width, stem)


@pytest.mark.parametrize(
    "backbone,stem,size,n_edges", [("resnet18", "small", 16, 40), ("resnet34", "imagenet", 32, 104)]
)
def test_shapes_and_alpha_layout(backbone, stem, size, n_edges):
    net = _net("v3", backbone, stem)
    assert net.alpha.shape == (n_edges, len(OPS))
    nested = net.alphas_per_cell()
    assert [len(c) for c in nested] == [len(cell_edges(s)) for s in cell_specs(backbone)]
    x = torch.randn(2, 1, size, size)
    for plan in (net.sample(1), net.sample(2, gated=True), None, net.dense_plan()):
        assert net(x, plan).shape == (2, 10)
    probs = net.probabilities()
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(n_edges))


@pytest.mark.parametrize("strategy", ["v1", "v2", "v3", "v4"])
def test_mask_matches_strategy_candidates(strategy):
    net, strat = _net(strategy), get_strategy(strategy)
    edges = [e for spec in cell_specs("resnet18") for e in cell_edges(spec)]
    for row, edge in enumerate(edges):
        assert {OPS[k] for k in net.mask[row].nonzero().flatten().tolist()} == set(strat.candidates(edge))
    assert (net.probabilities()[~net.mask] == 0).all()


def test_v4_never_samples_max_pool():
    net = _net("v4")
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        net.alpha[:, OPS.index("max_pool_3x3")] = 50.0  # would dominate if it were not masked
    pool = OPS.index("max_pool_3x3")
    for _ in range(30):
        assert not (net.sample(2, gen).idx == pool).any()
        assert not (net.sample(1, gen).idx == pool).any()
    assert (net.argmax_plan().idx != pool).all()


def test_weight_step_runs_one_op_per_edge():
    net = _net("v4")
    calls = []
    for e, mixed in enumerate(op for cell in net.cells for op in cell.edges):
        for name, module in mixed.ops.items():
            module.register_forward_hook(lambda *_, e=e, name=name: calls.append((e, name)))
    plan = net.sample(1, torch.Generator().manual_seed(0))
    net(torch.randn(2, 1, 16, 16), plan)
    expected = [(e, OPS[k]) for e, k in enumerate(plan.idx[:, 0].tolist()) if OPS[k] != "zero"]
    assert sorted(calls) == sorted(expected)  # exactly the sampled op of every edge, once


def test_quantized_proxy_uses_binary_nas_weights_and_trains_alpha():
    torch.manual_seed(0)
    net = Supernet(cell_specs("resnet18"), get_strategy("v3").candidates, 10, 1, 4, "small", 2, 1)
    conv = net.cells[0].edges[0].ops["conv_3x3"].conv
    w = conv.quant_weight().value.detach()  # (C_out, C_in, 3, 3)
    assert all(len(w[c].abs().unique()) == 1 for c in range(w.shape[0]))  # +-scale per channel: binary
    backbone = net.cells[0].convs[0].quant_weight()
    assert int(backbone.bit_width) == 2
    plan = net.sample(2, torch.Generator().manual_seed(0), gated=True)
    torch.nn.functional.cross_entropy(net(torch.randn(4, 1, 16, 16), plan), torch.arange(4)).backward()
    assert net.alpha.grad is not None and net.alpha.grad.abs().sum() > 0


def test_checkpoints_with_the_old_conv_op_names_still_load():
    """Before the op table was shared a conv op was nn.Sequential ("0", "1"); now ConvBN ("conv", "bn")."""
    import re

    net = _net()
    new = net.state_dict()
    old = {re.sub(r"(\.ops\.conv_\dx\d\.)conv\.", r"\g<1>0.", re.sub(r"(\.ops\.conv_\dx\d\.)bn\.", r"\g<1>1.", k)): v
           for k, v in new.items()}  # fmt: skip
    assert any(".ops.conv_3x3.0.weight" in k for k in old) and any(
        ".ops.conv_3x3.1.running_mean" in k for k in old
    )
    fresh = _net()
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()  # so that only loading can make it equal
    fresh.load_state_dict(old)  # strict
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in new.items())
