"""Every op of the one op table builds in the search supernet and in the derived network, with the
same output shape on normal and size-changing edges, and runs forward (issue 13)."""

from __future__ import annotations

import pytest
import torch

from nash.models import QuantSpec, build_model, create_op
from nash.models.ops import OP_BUILDERS
from nash.search.mixed_op import MixedOp
from nash.search.supernet import PathPlan, Supernet
from nash.space import OP_TABLE, OPS, Genotype, cell_edges, cell_specs
from nash.space.ops import OP_KINDS

EDGES = {"normal": (8, 8, 1), "size_changing": (4, 8, 2)}  # c_in, c_out, stride


def test_every_kind_has_a_builder():
    assert set(OP_BUILDERS) == set(OP_KINDS) >= {spec.kind for spec in OP_TABLE.values()}
    assert OPS == tuple(OP_TABLE)


@pytest.mark.parametrize("edge", sorted(EDGES))
@pytest.mark.parametrize("name", OPS)
def test_op_builds_in_supernet_and_derived_network(name, edge):
    c_in, c_out, stride = EDGES[edge]
    x = torch.randn(2, c_in, 7, 7)
    k = OPS.index(name)
    mixed = MixedOp(c_in, c_out, stride, OPS, (k,)).eval()
    proxy = MixedOp(c_in, c_out, stride, OPS, (k,), weight_bits=1).eval()
    derived = create_op(name, c_in, c_out, stride, QuantSpec.from_tag("w2a2", version="v3").nas_weight_bits)
    if OP_TABLE[name].kind == "zero":
        assert derived is None and mixed((x), (k,), 0) is None and len(mixed.ops) == 0
        return
    outs = [mixed(x, (k,), 0), proxy(x, (k,), 0), derived.eval()(x)]
    assert {tuple(o.shape) for o in outs} == {(2, c_out, 4 if stride == 2 else 7, 4 if stride == 2 else 7)}
    assert type(mixed.ops[name]) is type(derived)  # the same module class, only the quantiser differs


@pytest.mark.parametrize("name", [n for n in OPS if n != "zero"])
def test_op_on_every_node_of_both_networks(name):
    cells = [[(name, j - 1) for j in range(1, s.n_layers + 1)] for s in cell_specs("resnet18")]
    g = Genotype("resnet18", "custom", cells).validate()
    model = build_model("resnet18", g, QuantSpec.from_tag("w2a2", version="v1"), 10, 1, 4, "small")
    x = torch.randn(2, 1, 16, 16)
    assert model(x).shape == (2, 10)
    net = Supernet(cell_specs("resnet18"), lambda edge: OPS, 10, 1, 4, "small")
    rows = [OPS.index(name)] * sum(len(cell_edges(s)) for s in cell_specs("resnet18"))
    plan = PathPlan(torch.tensor(rows).unsqueeze(1), torch.zeros(len(rows), dtype=torch.long))
    assert net(x, plan).shape == (2, 10)
