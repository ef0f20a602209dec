"""Dataflow-conformance rules on hand-built graphs and on the real (tiny) models."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper

from nash.export import SUPPORTED_OPS, check_conformance, check_file

SHAPE = [1, 4, 6, 6]


def _quant(name: str, x: str, out: str, scale: float = 0.1, bits: float = 4.0) -> tuple:
    inits = [
        numpy_helper.from_array(np.array(v, np.float32), f"{name}_{k}")
        for k, v in (("s", scale), ("z", 0.0), ("b", bits))
    ]
    node = helper.make_node(
        "Quant",
        [x, f"{name}_s", f"{name}_z", f"{name}_b"],
        [out],
        name=name,
        domain="qonnx.custom_op.general",
        signed=1,
        narrow=0,
        rounding_mode="ROUND",
    )
    return node, inits


def _graph(nodes: list, inits: list) -> ModelWrapper:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, SHAPE)],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("qonnx.custom_op.general", 1)]
    )
    return ModelWrapper(model)


def _residual(quant_both: bool, second_scale: float = 0.1, pool: bool = False) -> ModelWrapper:
    q1, i1 = _quant("q1", "x", "a")
    w = numpy_helper.from_array(np.ones((4, 4, 1, 1), np.float32), "w")
    qw, iw = _quant("qw", "w", "wq", scale=1.0, bits=2.0)
    conv = helper.make_node("Conv", ["a", "wq"], ["c"], name="conv")
    nodes, inits = [q1, qw, conv], [*i1, *iw, w]
    branch = "c"
    if quant_both:
        q2, i2 = _quant("q2", "c", "cq", scale=second_scale)
        nodes.append(q2)
        inits += i2
        branch = "cq"
    skip = "a"
    if pool:
        nodes.append(
            helper.make_node("MaxPool", ["a"], ["p"], name="pool", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        )
        skip = "p"
    nodes.append(helper.make_node("Add", [branch, skip], ["y"], name="add"))
    return _graph(nodes, inits)


def test_quantized_residual_add_conforms():
    assert check_conformance(_residual(True)) == []
    assert check_conformance(_residual(True, pool=True)) == []


def test_unquantized_add_input_is_flagged_by_node_name():
    rules = [(v.rule, v.node) for v in check_conformance(_residual(False))]
    assert rules == [("add-unquantized-input", "add")]


def test_add_with_different_grids_is_flagged():
    rules = [v.rule for v in check_conformance(_residual(True, second_scale=0.25))]
    assert rules == ["add-grid-mismatch"]


def test_unquantized_conv_weight_and_input_sum_and_unsupported_op():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Sigmoid", ["c"], ["s"], name="sig"),
        helper.make_node("MaxPool", ["s"], ["p"], name="pool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Sum", ["p", "c", "s"], ["y"], name="sum3"),
    ]
    model = _graph(nodes, [numpy_helper.from_array(np.ones((4, 4, 1, 1), np.float32), "w")])
    found = {(v.rule, v.node) for v in check_conformance(model)}
    assert found == {
        ("unsupported-op", "sig"),
        ("unsupported-op", "sum3"),  # the hardware lowering has no multi-input Sum
        ("add-too-many-inputs", "sum3"),
        ("add-unquantized-input", "sum3"),
        ("mac-unquantized-input", "conv"),
        ("mac-unquantized-weight", "conv"),
        ("maxpool-unquantized-input", "pool"),
    }
    assert (
        "Sigmoid" not in SUPPORTED_OPS
        and {"Quant", "BipolarQuant", "Conv", "MaxPool", "Add"} <= SUPPORTED_OPS
    )


def test_check_is_read_only():
    model = _residual(False)
    before = model.model.SerializeToString()
    check_conformance(model)
    assert model.model.SerializeToString() == before


def test_broken_brevitas_model_is_flagged(tmp_path):
    """A Brevitas residual block whose add takes a float (BatchNorm) tensor."""
    import brevitas.nn as qnn
    import torch
    from torch import nn

    from nash.export import export_model

    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
            self.conv = qnn.QuantConv2d(1, 4, 3, padding=1, weight_bit_width=4, bias=False)
            self.bn = nn.BatchNorm2d(4)
            self.conv2 = qnn.QuantConv2d(4, 4, 3, padding=1, weight_bit_width=4, bias=False)
            self.bn2 = nn.BatchNorm2d(4)
            self.act = qnn.QuantReLU(bit_width=4)
            self.fc = qnn.QuantLinear(4 * 8 * 8, 10, weight_bit_width=4, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            a = self.act(self.bn(self.conv(self.inp(x))))
            y = self.bn2(self.conv2(a)) + a  # float BN output + quantized
            return self.fc(self.act(y).flatten(1))

    path = export_model(Broken().eval(), (1, 8, 8), tmp_path / "broken.onnx")
    violations = check_file(path)
    assert [v.rule for v in violations] == ["add-unquantized-input"]
    assert "BatchNormalization" in violations[0].message


# every version and every tag at least once, reusing the equivalence-test models (the rest is slow)
FAST_GRID = [
    ("o", "w1a1"),
    ("o", "w4a4"),
    ("v1", "w1a1"),
    ("v1", "w4a4"),
    ("v4", "w1a1"),
    ("v4", "w4a4"),
    ("v2", "w2a2"),
    ("v3", "w8a8"),
]
FULL_GRID = [(v, t) for v in ("o", "v1", "v2", "v3", "v4") for t in ("w1a1", "w2a2", "w4a4", "w8a8")]
GRID = [pytest.param(*c) if c in FAST_GRID else pytest.param(*c, marks=pytest.mark.slow) for c in FULL_GRID]


@pytest.mark.parametrize(("version", "tag"), GRID)
def test_reference_models_conform(exported, version, tag):
    _, path = exported(version, tag)
    model = ModelWrapper(str(path))
    assert check_conformance(model) == []
    ops = {n.op_type for n in model.graph.node}
    assert ops <= SUPPORTED_OPS
    # 1 bit means binary (BipolarQuant), never a 1-bit integer; v1..v3 NAS branches have 1-bit weights
    assert ("BipolarQuant" in ops) == (tag == "w1a1" or version in ("v1", "v2", "v3"))
    assert len(model.get_nodes_by_op_type("Add")) >= 8  # 8 basic blocks, each with a residual add


# --- conformance = a dry run of the hardware lowering: they agree node by node -----------------

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hw"))
from graphs import GraphBuilder, residual_net, zoo_net  # noqa: E402


def _two_stream_graph(op: str, **attrs) -> tuple:
    b = GraphBuilder((1, 4, 6, 6))
    x = b.quant("inp", 4)
    a = b.quant(b.conv(x, 4, 4, 1, wbits=2), 4)
    y = b.node(op, [a, x], **attrs)
    return b.build(y, (1, 8, 6, 6) if op == "Concat" else (1, 4, 6, 6))


def _crafted() -> dict:
    b = GraphBuilder((1, 4, 6, 6))
    x = b.quant("inp", 4)
    grouped = b.build(
        b.node("Conv", [x, b.quant(b.const(np.ones((4, 2, 3, 3))), 2)], group=2, pads=[1] * 4), SHAPE
    )
    b = GraphBuilder((1, 4, 6, 6))
    x = b.quant("inp", 4)
    sig = b.build(b.node("Sigmoid", [b.node("Tanh", [x])]), SHAPE)
    return {
        "residual": residual_net(nas=False),
        "residual-nas": residual_net(nas=True),
        "zoo": zoo_net(),
        "sum-of-two-quantised": _two_stream_graph("Sum"),  # passed conformance, failed lowering before
        "mul-of-two-streams": _two_stream_graph("Mul"),
        "concat-channels": _two_stream_graph("Concat", axis=1),
        "concat-width": _two_stream_graph("Concat", axis=3),
        "grouped-conv": grouped,
        "sigmoid-tanh": sig,
    }


def _agree(model: ModelWrapper) -> set[str]:
    """Assert conformance and lowering agree on every node; return the rejected node names."""
    from nash.errors import UnsupportedOpError
    from nash.hw import dry_run, lower_model

    flagged = {v.node for v in check_conformance(model) if v.rule == "unsupported-op"}
    assert flagged == {r.node for r in dry_run(model)}
    if flagged:
        with pytest.raises(UnsupportedOpError) as err:
            lower_model(model)
        assert all(f"({name}" in str(err.value) for name in flagged)
    else:
        assert lower_model(model).layers
    return flagged


@pytest.mark.parametrize("name", list(_crafted()))
def test_conformance_agrees_with_lowering_on_crafted_graphs(name):
    flagged = _agree(ModelWrapper(_crafted()[name]))
    expected = {
        "sum-of-two-quantised": {"n_sum"},
        "mul-of-two-streams": {"n_mul"},
        "concat-width": {"n_concat"},
        "grouped-conv": {"n_conv"},
        "sigmoid-tanh": {"n_tanh", "n_sigmoid"},
    }
    assert {n.rstrip("0123456789") for n in flagged} == expected.get(name, set())


@pytest.mark.parametrize(("version", "tag"), FAST_GRID)
def test_conformance_agrees_with_lowering_on_reference_models(exported, version, tag):
    _, path = exported(version, tag)
    assert _agree(ModelWrapper(str(path))) == set()
