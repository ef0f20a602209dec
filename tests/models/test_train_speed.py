"""Two NASH-network training speed-ups (issue 14) and what they keep.

* ``Cell`` computes one pooling per (source node, pool) for its max-pool edges: NASH-v3's ResNet18
  has 9 max-pool edges and 6 distinct poolings. Same forward values, gradients equal up to rounding,
  and the traced / exported graph keeps one MaxPool per edge.
* ``training_layout``: conv weights channels-last on CPU, so the whole network runs in NHWC; the
  values are the conv's up to rounding, and checkpoints load into a model of either layout.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from nash.errors import ConfigError
from nash.models import Cell, QuantSpec, build_model, training_layout
from nash.models.ops import PoolOp


class _CountPools(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.forward = 0
        self.backward = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func)
        self.forward += name.startswith("aten.max_pool2d_with_indices.")
        self.backward += name.startswith("aten.max_pool2d_with_indices_backward.")
        return func(*args, **(kwargs or {}))


def _v3(reference_genotypes, width: int = 4) -> nn.Module:
    torch.manual_seed(0)
    spec = QuantSpec.from_tag("w2a2", version="v3")
    return build_model(
        "resnet18", reference_genotypes["v3"], spec, 10, in_channels=1, width=width, stem="small"
    )


def _step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad()
    out = model.train()(x)
    nn.functional.cross_entropy(out, y).backward()
    return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(8, 1, 16, 16, generator=gen), torch.arange(8) % 10


def test_v3_pools_once_per_source(reference_genotypes, batch, monkeypatch):
    model = _v3(reference_genotypes)
    edges = sum(isinstance(m, PoolOp) for m in model.modules())
    assert edges == 9
    with _CountPools() as shared:
        out_shared, grads_shared = _step(model, *batch)
    monkeypatch.setattr(Cell, "share_pools", False)
    with _CountPools() as per_edge:
        out_edge, grads_edge = _step(model, *batch)
    assert (shared.forward, shared.backward) == (6, 6)  # cells: 1 + 2 + 2 + 1 distinct poolings
    assert (per_edge.forward, per_edge.backward) == (9, 9)
    assert torch.equal(out_shared, out_edge)  # the same forward values
    assert grads_shared.keys() == grads_edge.keys()
    for name, g in grads_shared.items():  # the pooled gradients are summed in another order
        torch.testing.assert_close(g, grads_edge[name], rtol=1e-4, atol=1e-4 * float(g.abs().max()), msg=name)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # Brevitas's constants, harmless here
def test_shared_pools_keep_one_maxpool_per_edge_when_traced(reference_genotypes):
    cell = _v3(reference_genotypes).cells[0].eval()  # three max-pool edges from node 1
    assert [op for op, _ in cell.nodes].count("max_pool_3x3") == 3
    graph = torch.jit.trace(cell, torch.randn(1, 4, 8, 8)).inlined_graph
    assert sum(n.kind() == "aten::max_pool2d" for n in graph.nodes()) == 3


def test_training_layout_is_channels_last_on_cpu_only(reference_genotypes, batch):
    model = _v3(reference_genotypes)
    nchw = _v3(reference_genotypes)
    assert training_layout(model, "cpu") is model
    convs = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    assert all(
        m.weight.is_contiguous() for m in training_layout(nchw, "cuda").modules() if isinstance(m, nn.Conv2d)
    )
    out_cl, grads_cl = _step(model, *batch)
    out, grads = _step(nchw, *batch)
    assert out_cl.is_contiguous()  # the head's output (N, classes) is plain
    # oneDNN sums the convs in another order: same network, values equal up to rounding
    torch.testing.assert_close(out_cl, out, rtol=1e-4, atol=1e-4 * float(out.abs().max()))
    for name, g in grads.items():
        torch.testing.assert_close(grads_cl[name], g, rtol=1e-3, atol=1e-3 * float(g.abs().max()), msg=name)


@pytest.mark.parametrize("stem", ["small", "imagenet"])
def test_grey_images_run_channels_last_from_the_stem_on(reference_genotypes, stem):
    """A 1-channel input and its stem conv's quantised weight fit both layouts; the layout's hook
    makes the stem's output NHWC, so no cell mixes layouts (a mixed add reads one side strided)."""
    torch.manual_seed(0)
    spec = QuantSpec.from_tag("w2a2", version="v3")
    model = build_model("resnet18", reference_genotypes["v3"], spec, 10, in_channels=1, width=4, stem=stem)
    training_layout(training_layout(model, "cpu"), "cpu")  # applying it twice adds no second hook
    assert sum(len(m._forward_hooks) for m in model.modules()) == 1
    nhwc = []
    for part in [model.stem, *model.cells]:
        part.register_forward_hook(lambda m, i, o: nhwc.append(o.stride()[1] == 1 and o.shape[1] > 1))
    model.train()(torch.randn(2, 1, 16, 16))
    assert nhwc == [True] * 5


def test_channels_last_checkpoint_loads_into_a_plain_model(reference_genotypes, batch, tmp_path):
    model = training_layout(_v3(reference_genotypes), "cpu")
    _step(model, *batch)
    torch.save(model.state_dict(), tmp_path / "m.pt")
    fresh = _v3(reference_genotypes)
    fresh.load_state_dict(torch.load(tmp_path / "m.pt"))
    assert all(p.is_contiguous() for p in fresh.parameters())
    x = batch[0]
    torch.testing.assert_close(fresh.eval()(x), model.eval()(x), rtol=1e-4, atol=1e-5)


def test_nash_channels_last_switch(reference_genotypes, monkeypatch):
    monkeypatch.setenv("NASH_CHANNELS_LAST", "0")
    model = training_layout(_v3(reference_genotypes), "cpu")
    assert all(m.weight.is_contiguous() for m in model.modules() if isinstance(m, nn.Conv2d))
    assert not any(m._forward_hooks for m in model.modules())
    monkeypatch.setenv("NASH_CHANNELS_LAST", "yes")
    with pytest.raises(ConfigError, match="NASH_CHANNELS_LAST='yes': use 1 .* or 0"):
        training_layout(model, "cpu")
