"""PyTorch vs exported QONNX (qonnx execution and onnxruntime on the lowered graph)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx

from nash.errors import ExportError
from nash.export import (
    ATOL,
    MAX_FLIP_SHARE,
    NOISE_FACTOR,
    TIGHT_RTOL,
    check_exported,
    compare_logits,
    load_qonnx,
    lower_to_standard_onnx,
    read_metadata,
    run_onnxruntime,
    run_qonnx,
    run_torch,
)


def test_compare_logits_numbers():
    ref = np.array([[1.0, 2.0, -4.0], [0.5, 0.1, 0.0]], np.float32)
    same = compare_logits(ref, ref + 1e-4)
    assert same["ok"] and same["top1_agreement"] == 1.0 and same["flips"] == 0
    assert same["tolerance"] == pytest.approx(ATOL + TIGHT_RTOL * 4.0)
    flipped = compare_logits(ref, np.array([[1.0, 2.0, -4.0], [0.0, 0.1, 0.0]], np.float32))
    assert (
        not flipped["ok"]
        and flipped["top1_agreement"] == 0.5
        and flipped["max_abs_diff"] == pytest.approx(0.5)
    )
    assert not compare_logits(ref, ref[:, :2])["ok"]


def _logits(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ref = rng.normal(0.0, 3.0, size=(n, 10)).astype(np.float32)
    ref[np.arange(n), rng.integers(0, 10, n)] += 8.0  # a clear winner per image
    return ref


def test_boundary_flips_pass_up_to_their_share():
    """Rounding-boundary flips (some images off by a quantization step, top-1 kept) pass however
    large the step, up to MAX_FLIP_SHARE of the images when PyTorch itself is stable."""
    ref = _logits(200)
    allowed = int(MAX_FLIP_SHARE * 200)
    cand = ref.copy()
    cand[:allowed, 3] += 0.08 * np.abs(ref).max()  # 8 % of the logit scale, as a 2-bit flip did
    rows = cand[:allowed]
    rows[np.arange(allowed), ref[:allowed].argmax(1)] += 1.0  # keep each image's top-1
    near = compare_logits(ref, cand)
    assert near["ok"] and near["flips"] == allowed and near["allowed_flip_share"] == MAX_FLIP_SHARE
    assert near["flip_max_abs_diff"] > near["tolerance"] * 10 and near["top1_agreement"] == 1.0
    cand[allowed, 0] += 0.5
    too_many = compare_logits(ref, cand)
    assert not too_many["ok"] and too_many["flips"] == allowed + 1


def test_the_allowance_follows_pytorchs_own_float_noise():
    """When PyTorch float32 vs float64 already flips many images (a large network), the export may
    flip as many (NOISE_FACTOR times), but not more, and its median must stay at the noise floor."""
    ref = _logits(200, seed=3)
    noisy64 = ref.copy()
    noisy64[:80, 2] += 0.3  # PyTorch against itself: 40 % of the images beyond the noise bound
    cand = ref.copy()
    cand[100:190, 5] += 0.3  # the export: 45 %, other images (flips are random events)
    alone = compare_logits(ref, cand)
    assert not alone["ok"] and alone["self_noise"] is None  # without the noise floor: > 25 %
    result = compare_logits(ref, cand, reference64=noisy64)
    assert result["ok"] and result["self_noise"]["flip_share"] == pytest.approx(0.4)
    assert result["allowed_flip_share"] == pytest.approx(min(1.0, NOISE_FACTOR * 0.4 + 0.05))
    # every image moved (a systematic error): median far above 2x the self-noise median -> fails
    assert not compare_logits(ref, ref * 1.05, reference64=noisy64)["ok"]


def test_float64_reference_of_a_real_model_is_its_own_noise_floor(exported, images):
    model, _ = exported("o", "w4a4")
    r32 = run_torch(model, images[:16])
    r64 = run_torch(model, images[:16], dtype=torch.float64)
    assert r32.dtype == np.float32 and r64.dtype == np.float64
    assert next(model.parameters()).dtype == torch.float32  # the model itself is untouched
    noise = compare_logits(r32, r64.astype(np.float32))
    assert noise["ok"] and noise["median_abs_diff"] <= noise["tolerance"]


def test_systematic_errors_fail_whatever_their_size():
    """A lost scale or offset moves every image: it fails even when small and top-1 is unchanged."""
    ref = _logits(200, seed=1)
    for bad in (ref * 1.02, ref + 0.05, ref * 2.0):
        result = compare_logits(ref, bad.astype(np.float32), reference64=ref.astype(np.float64))
        assert result["top1_agreement"] == 1.0 and not result["ok"] and result["flip_share"] > 0.9
    few = compare_logits(ref[:10], ref[:10] * 1.02)
    assert not few["ok"]


def test_top1_disagreement_fails_even_within_the_flip_share():
    ref = _logits(2000, seed=2)
    cand = ref.copy()
    losers = ref[:3].argsort(1)[:, 0]
    cand[np.arange(3), losers] += 100.0  # 3 images change their top-1: 99.85 % < 99.9 %
    result = compare_logits(ref, cand)
    assert result["flip_share"] <= result["allowed_flip_share"] and not result["ok"]


@pytest.mark.parametrize(
    ("op", "bits", "signed", "narrow"),
    [("Quant", 3.0, 1, 1), ("Quant", 12.0, 0, 0), ("BipolarQuant", None, 1, 0)],
)
def test_lowering_matches_qonnx_quant_semantics(op, bits, signed, narrow):
    """The float-op expansion used for onnxruntime computes exactly what qonnx's Quant ops compute."""
    x = np.linspace(-3, 3, 2 * 61, dtype=np.float32).reshape(2, 61)
    inits = [numpy_helper.from_array(np.array(0.37, np.float32), "s")]
    inputs = ["x", "s"]
    attrs = {}
    if op == "Quant":
        inits += [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in (("z", 0.0), ("b", bits))]
        inputs += ["z", "b"]
        attrs = {"signed": signed, "narrow": narrow, "rounding_mode": "ROUND"}
    node = helper.make_node(op, inputs, ["y"], name="q", domain="qonnx.custom_op.general", **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 61])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 61])],
        initializer=inits,
    )
    model = ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    expected = execute_onnx(model, {"x": x})["y"]
    import onnxruntime as ort

    lowered = lower_to_standard_onnx(model)
    assert {n.op_type for n in lowered.graph.node}.isdisjoint({"Quant", "BipolarQuant"})
    got = ort.InferenceSession(lowered.model.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert len(np.unique(expected)) > 1


CASES = [("o", "w1a1"), ("o", "w4a4"), ("v1", "w1a1"), ("v1", "w4a4"), ("v4", "w1a1"), ("v4", "w4a4")]


@pytest.mark.parametrize(("version", "tag"), CASES)
def test_exported_graph_matches_pytorch(exported, images, version, tag):
    model, path = exported(version, tag)
    wrapper = load_qonnx(path)
    ref = run_torch(model, images[:16])
    result = compare_logits(ref, run_qonnx(wrapper, images[:16], batch_size=8))
    assert result["n"] == 16
    assert result["ok"] and result["top1_agreement"] >= 0.999 and result["flips"] == 0
    assert result["logit_scale"] > 0 and float(ref.std(axis=0).max()) > 1e-3  # logits depend on the input
    shape = [d.dim_value for d in wrapper.graph.input[0].type.tensor_type.shape.dim]
    assert shape == [1, 1, 28, 28]
    assert read_metadata(wrapper)["version"] == version and "nash_version" in read_metadata(wrapper)


def test_onnxruntime_on_lowered_graph_matches_pytorch(exported, images):
    """w1a1 exercises both lowerings: BipolarQuant expansion and QuantToQCDQ for the 8-bit quantizers."""
    model, path = exported("v1", "w1a1")
    result = compare_logits(
        run_torch(model, images[:8]), run_onnxruntime(load_qonnx(path), images[:8], batch_size=8)
    )
    assert result["ok"] and result["flips"] == 0


def test_check_fails_and_reports_when_weights_differ(exported, images, tmp_path):
    import json

    import torch

    model, path = exported("o", "w4a4")
    import copy

    other = copy.deepcopy(model)
    with torch.no_grad():
        for p in other.parameters():
            p.mul_(-1.0)
    report = tmp_path / "export_check.json"
    with pytest.raises(ExportError, match="export check failed"):
        check_exported(other, path, images[:4], onnxruntime=False, progress=False, report_path=report)
    saved = json.loads(report.read_text())
    assert saved["ok"] is False and saved["failures"] and saved["n"] == 4
