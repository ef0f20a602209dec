"""The one-sweep renaming (nash.export.tensor_names) gives exactly qonnx's GiveReadableTensorNames names."""

from __future__ import annotations

import copy

import onnx
import pytest
import torch
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.general import GiveReadableTensorNames

from nash.export.tensor_names import ReadableTensorNames, readable_names


def _export(model: torch.nn.Module, path) -> bytes:
    from nash.export import export_model

    export_model(model, (1, 28, 28), path)
    return onnx.load(str(path)).SerializeToString()


@pytest.mark.parametrize("version, tag", [("v3", "w2a2")])
def test_export_is_the_same_file_as_with_qonnx_renaming(exported, tmp_path, monkeypatch, version, tag):
    import nash.export.qonnx_export as qe
    import nash.export.tensor_names as tn

    model = exported(version, tag)[0]
    with monkeypatch.context() as patch:  # the one-sweep path, never qonnx's pass as a fallback
        patch.setattr(tn, "GiveReadableTensorNames", None)
        ours = _export(model, tmp_path / "ours.onnx")
    monkeypatch.setattr(qe, "_READABLE_NAMES", GiveReadableTensorNames)
    theirs = _export(model, tmp_path / "theirs.onnx")
    assert ours == theirs
    renamed = onnx.load_from_string(ours).graph
    assert renamed.input[0].name == "global_in" and renamed.output[0].name == "global_out"
    assert {o for n in renamed.node for o in n.output} == {f"{n.name}_out0" for n in renamed.node} - {
        f"{renamed.node[-1].name}_out0"
    } | {"global_out"}


def _both(wrapper: ModelWrapper) -> tuple[bytes, bytes]:
    ours = copy.deepcopy(wrapper).transform(ReadableTensorNames(), cleanup=False)
    theirs = copy.deepcopy(wrapper).transform(GiveReadableTensorNames(), cleanup=False)
    return ours.model.SerializeToString(), theirs.model.SerializeToString()


@pytest.mark.parametrize("version, tag", [("o", "w1a1"), ("v1", "w1a1")])
def test_same_names_on_binary_networks(exported, version, tag):
    """BipolarQuant graphs (an exported file, node names shuffled so every tensor is renamed)."""
    wrapper = ModelWrapper(str(exported(version, tag)[1]))
    for n, node in enumerate(reversed(wrapper.graph.node)):
        node.name = f"{node.op_type}_{n}"
    assert readable_names(wrapper) is not None
    ours, theirs = _both(wrapper)
    assert ours == theirs


def test_falls_back_to_qonnx_where_its_renames_collide():
    # Add(x, x): qonnx renames only the first of the two inputs; a tensor already named tensor_0
    x = helper.make_tensor_value_info("tensor_0", TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
    graph = helper.make_graph(
        [helper.make_node("Add", ["tensor_0", "tensor_0"], ["y"], name="Add_0")], "g", [x], [y]
    )
    wrapper = ModelWrapper(helper.make_model(graph))
    assert readable_names(wrapper) is None
    ours, theirs = _both(wrapper)
    assert ours == theirs
