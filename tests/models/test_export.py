"""QONNX export of tiny models through ``nash.export.export_checkpoint`` (the path ``nash export``
takes): it succeeds and verifies, and every Add takes two Quant outputs of one scale."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from nash.errors import DataError
from nash.export import export_checkpoint
from nash.models import NashResNet, QuantSpec, arch_dict, count_adds, model_from_arch
from nash.space import cell_specs

QUANT_OPS = ("Quant", "BipolarQuant")


def _checkpoint(tmp_path, version, bits, genotype=None, size=16, data_root=None):
    """A ``nash train``-style checkpoint of an untrained model (one statistics step in train mode)."""
    arch = arch_dict("resnet18", version, bits, genotype, 10, 1, 4, "small", (1, size, size))
    torch.manual_seed(0)
    model = model_from_arch(arch)
    model.train()(torch.randn(8, 1, size, size))
    data = {"dataset": "fashion-mnist", "data_root": data_root}
    path = tmp_path / "best.pt"
    torch.save({"arch": arch, "model": model.eval().state_dict(), "data": data}, path)
    return path, model


def _export(tmp_path, ckpt, size=16) -> tuple[onnx.GraphProto, dict]:
    images = np.random.default_rng(0).standard_normal((4, 1, size, size)).astype(np.float32)
    out = tmp_path / "model.onnx"
    check = export_checkpoint(ckpt, out, n_check=4, images=images, onnxruntime=False, progress=False)
    assert check["ok"] and check["top1_agreement"] == 1.0
    return onnx.load(str(out)).graph, check


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
    ckpt, model = _checkpoint(tmp_path, "o", "w2a2")
    graph, _ = _export(tmp_path, ckpt)
    assert _check_adds(graph) == count_adds(model) == 8
    assert sum(n.op_type == "Conv" for n in graph.node) == 16 + 3 + 1  # main, shortcut, stem


def test_export_nash_v1_w1a1(tmp_path, reference_genotypes):
    ckpt, model = _checkpoint(tmp_path, "v1", "w1a1", reference_genotypes["v1"])
    graph, _ = _export(tmp_path, ckpt)
    assert _check_adds(graph) == count_adds(model) == 24
    # binary weights and bipolar activations export as BipolarQuant (never a 1-bit integer Quant)
    one_bit = [
        n
        for n in graph.node
        if n.op_type == "Quant"
        and any(t.name == n.input[3] and numpy_helper.to_array(t) == 1 for t in graph.initializer)
    ]
    assert not one_bit and sum(n.op_type == "BipolarQuant" for n in graph.node) > 20


def test_export_reads_the_checkpoints_data_root(tmp_path, reference_genotypes):
    """Without images or --data, export takes the check images from the run's own data_root (as eval)."""
    empty = tmp_path / "no-data-here"
    empty.mkdir()
    ckpt, _ = _checkpoint(tmp_path, "v3", "w2a2", reference_genotypes["v3"], data_root=str(empty))
    with pytest.raises(DataError, match="no-data-here"):
        export_checkpoint(ckpt, tmp_path / "model.onnx", n_check=2, onnxruntime=False, progress=False)


SIZE_CHANGING = {  # x0 edges of cells 1..3 are size-changing (stride 2, channels x2)
    "identity": [
        [("conv_3x3", 0)] * 4,
        [("identity", 0), ("conv_1x1", 0), ("conv_3x3", 1), ("conv_5x5", 0)],
        [("conv_3x3", 0), ("identity", 1), ("identity", 0), ("max_pool_3x3", 3)],
        [("conv_1x1", 0)] * 4,
    ],
    "max_pool": [
        [("conv_3x3", 0)] * 4,
        [("identity", 0), ("max_pool_3x3", 0), ("conv_3x3", 1), ("conv_5x5", 0)],
        [("max_pool_3x3", 0), ("identity", 1), ("identity", 0), ("max_pool_3x3", 3)],
        [("conv_1x1", 0)] * 4,
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        "identity",
        pytest.param(
            "max_pool",
            marks=pytest.mark.xfail(
                reason="nash.export's graph cleanup leaves the Concat of a duplicated max-pool out of "
                "topological order (onnx ValidationError); such genotypes are refused at build"
            ),
        ),
    ],
)
def test_export_size_changing_ops_match_pytorch(tmp_path, case):
    """Concat paths (factorized reduction, max-pool duplication) on odd sizes; QONNX equals PyTorch."""
    spec = QuantSpec.from_tag("w2a2", version="v1")
    torch.manual_seed(0)  # built below the genotype rule check: unfriendly ops on size-changing edges
    model = NashResNet(cell_specs("resnet18"), spec, 10, SIZE_CHANGING[case], 1, 4, "small").eval()
    arch = arch_dict("resnet18", "v1", "w2a2", None, 10, 1, 4, "small", (1, 15, 15), quant=spec)
    path = tmp_path / "best.pt"
    torch.save({"arch": arch, "model": model.state_dict(), "data": {"dataset": "fashion-mnist"}}, path)
    with pytest.MonkeyPatch.context() as mp:  # the checkpoint's arch alone would rebuild the original
        mp.setattr("nash.export.checkpoint.model_from_checkpoint", lambda ckpt: model)
        graph, check = _export(tmp_path, path, size=15)
    assert _check_adds(graph) == count_adds(model) and sum(n.op_type == "Concat" for n in graph.node) >= 2
    assert check["max_abs_diff"] < 1e-4
