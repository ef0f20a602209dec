"""nash.qonnx_speed: the linear-time qonnx passes give qonnx's own results, bit for bit."""

from __future__ import annotations

import copy
import random

import onnx
import pytest
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.general import GiveUniqueParameterTensors, SortGraph
from qonnx.transformation.infer_shapes import InferShapes

from nash import qonnx_speed
from nash.export.lowering import lower_to_standard_onnx


@pytest.fixture(scope="module")
def graphs(exported, tmp_path_factory) -> dict[str, onnx.ModelProto]:
    """Exported QONNX graphs, a standard-ONNX lowering, and variants that take qonnx's other branches."""
    assert qonnx_speed.installed()  # nash.export installs it
    out = {}
    for version, tag in (("v3", "w2a2"), ("o", "w1a1")):
        out[f"{version}-{tag}"] = onnx.load(str(exported(version, tag)[1]))
    out["lowered"] = lower_to_standard_onnx(ModelWrapper(copy.deepcopy(out["v3-w2a2"]))).model
    shuffled = copy.deepcopy(out["v3-w2a2"])
    nodes = list(shuffled.graph.node)
    random.Random(0).shuffle(nodes)
    del shuffled.graph.node[:]
    shuffled.graph.node.extend(nodes)
    no_vi = copy.deepcopy(shuffled)  # value infos and initializer shapes to be re-created
    del no_vi.graph.value_info[:]
    shared = copy.deepcopy(out["o-w1a1"])  # one parameter read by two nodes: qonnx copies it
    quants = [n for n in shared.graph.node if n.op_type == "Quant"]
    quants[1].input[1] = quants[0].input[1]
    out.update(shuffled=shuffled, no_value_info=no_vi, shared_parameter=shared)
    return out


def _ours_and_theirs(proto, run):
    a = ModelWrapper(copy.deepcopy(proto), fix_missing_initializer_valueinfo=False)
    b = ModelWrapper(copy.deepcopy(proto), fix_missing_initializer_valueinfo=False)
    ra = run(a, fast=True)
    rb = run(b, fast=False)
    return (ra, a.model.SerializeToString()), (rb, b.model.SerializeToString())


def _check(model, fast):
    f = qonnx_speed.check_all_tensor_shapes_specified if fast else qonnx_speed.original("check")
    return f(model, fix_missing_init_shape=True), f(model)


def _sort(model, fast):
    f = qonnx_speed.sort_graph if fast else qonnx_speed.original("sort")
    return f(SortGraph(), model)[1]


def _unique(model, fast):
    f = qonnx_speed.unique_parameter_tensors if fast else qonnx_speed.original("unique")
    random.seed(0)  # qonnx names a copied parameter with random.choice
    f(GiveUniqueParameterTensors(), model)
    return len(model.graph.initializer)


PASSES = {"check": _check, "sort": _sort, "unique": _unique}
NAMES = ["v3-w2a2", "o-w1a1", "lowered", "shuffled", "no_value_info", "shared_parameter"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("which", list(PASSES))
def test_same_result_as_qonnx(graphs, name, which):
    ours, theirs = _ours_and_theirs(graphs[name], PASSES[which])
    assert ours == theirs


def test_the_variants_exercise_the_passes(graphs):
    """The variants are not no-ops: sorting moves nodes, the check adds value infos, a shared parameter is copied."""
    shuffled = ModelWrapper(copy.deepcopy(graphs["shuffled"]), fix_missing_initializer_valueinfo=False)
    before = [n.name for n in shuffled.graph.node]
    qonnx_speed.sort_graph(SortGraph(), shuffled)
    assert [n.name for n in shuffled.graph.node] != before
    bare = ModelWrapper(copy.deepcopy(graphs["no_value_info"]), fix_missing_initializer_valueinfo=False)
    assert not bare.graph.value_info
    qonnx_speed.check_all_tensor_shapes_specified(bare, fix_missing_init_shape=True)
    assert len(bare.graph.value_info) >= len(bare.graph.initializer)
    shared = ModelWrapper(copy.deepcopy(graphs["shared_parameter"]), fix_missing_initializer_valueinfo=False)
    n = len(shared.graph.initializer)
    qonnx_speed.unique_parameter_tensors(GiveUniqueParameterTensors(), shared)
    assert len(shared.graph.initializer) == n + 1


def test_a_whole_transform_is_unchanged(graphs, monkeypatch):
    """InferShapes with its clean-up (every pass above) on a shuffled graph: same bytes with qonnx's code."""
    from qonnx.core import modelwrapper

    def run():
        model = ModelWrapper(copy.deepcopy(graphs["shuffled"])).transform(SortGraph(), cleanup=False)
        return model.transform(InferShapes()).model.SerializeToString()

    ours = run()
    monkeypatch.setattr(
        modelwrapper.ModelWrapper, "check_all_tensor_shapes_specified", qonnx_speed.original("check")
    )
    monkeypatch.setattr(SortGraph, "apply", qonnx_speed.original("sort"))
    monkeypatch.setattr(GiveUniqueParameterTensors, "apply", qonnx_speed.original("unique"))
    assert run() == ours
