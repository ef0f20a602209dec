"""Brevitas -> QONNX export of tiny models: it succeeds, and every Add takes two Quant outputs of one scale."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from brevitas.export import export_qonnx
from onnx import numpy_helper

from nash.models import QuantSpec, build_model, count_adds
from nash.space import Genotype

QUANT_OPS = ("Quant", "BipolarQuant")


def _export(model, tmp_path, size: int = 16) -> onnx.ModelProto:
    model.eval()
    path = tmp_path / "model.onnx"
    # TorchScript export: 5-10x faster than the dynamo path on this machine; both give the same ops.
    export_qonnx(model, torch.randn(1, 1, size, size), export_path=str(path), dynamo=False)
    return onnx.load(str(path))


def _check_adds(graph: onnx.GraphProto) -> int:
    producer = {out: node for node in graph.node for out in node.output}
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    adds = [n for n in graph.node if n.op_type == "Add"]
    for add in adds:
        parents = [producer.get(name) for name in add.input]
        assert len(parents) == 2 and all(p is not None and p.op_type in QUANT_OPS for p in parents), add.name
        scales = [inits.get(p.input[1]) for p in parents]  # Quant(x, scale, zero_point, bit_width)
        assert scales[0] is not None and np.array_equal(scales[0], scales[1]), f"{add.name}: different scales"
    return len(adds)


def test_export_original(tmp_path):
    model = build_model(
        "resnet18", None, QuantSpec.from_tag("w2a2", version="o"), 10, in_channels=1, width=4, stem="small"
    )
    graph = _export(model, tmp_path).graph
    assert _check_adds(graph) == count_adds(model) == 8
    assert sum(n.op_type == "Conv" for n in graph.node) == 16 + 3 + 1  # main, shortcut, stem


def test_export_nash_v1_w1a1(tmp_path, reference_genotypes):
    model = build_model(
        "resnet18",
        reference_genotypes["v1"],
        QuantSpec.from_tag("w1a1", version="v1"),
        10,
        in_channels=1,
        width=4,
        stem="small",
    )
    graph = _export(model, tmp_path).graph
    assert _check_adds(graph) == count_adds(model) == 24
    # binary weights and bipolar activations export as BipolarQuant (never a 1-bit integer Quant)
    one_bit = [
        n
        for n in graph.node
        if n.op_type == "Quant"
        and any(t.name == n.input[3] and numpy_helper.to_array(t) == 1 for t in graph.initializer)
    ]
    assert not one_bit and sum(n.op_type == "BipolarQuant" for n in graph.node) > 20


@pytest.mark.slow
def test_export_size_changing_ops_match_pytorch(tmp_path):
    """Concat paths (max pool duplication, factorized reduction) on odd sizes; QONNX run equals PyTorch."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    g = Genotype(
        "resnet18",
        "custom",
        [
            [("conv_3x3", 0)] * 4,
            [("identity", 0), ("max_pool_3x3", 0), ("zero", 1), ("conv_5x5", 0)],
            [("max_pool_3x3", 0), ("identity", 1), ("identity", 0), ("max_pool_3x3", 3)],
            [("conv_1x1", 0)] * 4,
        ],
    ).validate()
    model = build_model(
        "resnet18", g, QuantSpec.from_tag("w2a2", version="v1"), 10, in_channels=1, width=4, stem="small"
    )
    graph = _export(model, tmp_path, size=15).graph
    assert _check_adds(graph) == count_adds(model) and sum(n.op_type == "Concat" for n in graph.node) >= 4
    x = torch.randn(1, 1, 15, 15)
    wrapper = ModelWrapper(str(tmp_path / "model.onnx")).transform(InferShapes())
    out = execute_onnx(wrapper, {wrapper.graph.input[0].name: x.numpy()})[wrapper.graph.output[0].name]
    assert np.abs(out - model(x).detach().numpy()).max() < 1e-4
