"""Equivalence check: the exported QONNX graph must compute what the PyTorch model computes.

Both sides run on the same images. The graph is executed by qonnx (``execute_onnx``, the reference
semantics of the Quant custom ops FINN consumes) and, where the graph can be lowered to standard
ONNX, by onnxruntime as a second, independent runtime.

How two correct implementations still differ: both evaluate the same quantized arithmetic in
float32 but sum convolutions in a different order, so pre-activations differ by float rounding
(about 1e-7 relative). Almost always that vanishes at the next quantizer; but with 10^5 activations
per image, now and then one sits within that noise of a rounding boundary, moves by a whole
quantization step, and the step travels to the logits. PyTorch does the same to itself: on the
demo's trained w4a4 NASH-v3 (width 8, 32x32), PyTorch float32 vs PyTorch float64 differ beyond
float noise on 10 of 256 images (max 0.23 on a logit scale of 10.6), exactly as PyTorch vs qonnx
do (11 of 256, max 0.23). At 2 bits one such flip moved logits by 8 % of the scale. So neither the
largest difference nor a fixed share of differing images separates a correct export from a
broken one; the *self-noise* of the reference does.

The verdict (``compare_logits``), per image ``d = max_k |torch32 - exported|`` and the noise bound
``tol = atol + TIGHT_RTOL * max|logit|``:

* top-1 agreement >= ``MIN_AGREEMENT`` (99.9 %);
* the share of images with ``d > tol`` ("flips") is at most ``max(MAX_FLIP_SHARE, 2 x the share
  PyTorch shows against itself in float64 + 5 points)``;
* the median ``d`` is at most ``max(tol, 2 x the median self-noise)``.

Export bugs (a lost scale, a dropped BatchNorm, a wrong quantizer or sign, a mis-ordered channel)
are systematic: every image moves, the median leaves the noise floor and the flip share nears
100 %, so they fail however small they are. What this cannot see is a bug that touches only a
minority of images without changing their top-1 (say a wrong padding value on images whose
border is already zero); the report keeps ``flips`` and ``flip_max_abs_diff`` for a reader.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_shapes import InferShapes
from tqdm.auto import tqdm

__all__ = [
    "ATOL",
    "TIGHT_RTOL",
    "MAX_FLIP_SHARE",
    "NOISE_FACTOR",
    "MIN_AGREEMENT",
    "run_torch",
    "run_qonnx",
    "run_onnxruntime",
    "compare_logits",
]

# Pass criterion (see the module docstring).
ATOL = 1e-4
TIGHT_RTOL = 1e-3
MIN_AGREEMENT = 0.999  # top-1 agreement fraction required
MAX_FLIP_SHARE = 0.25  # share of images allowed outside the noise bound when PyTorch itself is stable
NOISE_FACTOR = 2.0  # the export may be this many times noisier than PyTorch float32 vs float64


def _batches(images: np.ndarray, batch_size: int, progress: bool, desc: str) -> Iterator[np.ndarray]:
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc=desc, disable=not progress, leave=False):
        yield images[start : start + batch_size]


def run_torch(
    model: torch.nn.Module, images: np.ndarray, batch_size: int = 64, dtype: torch.dtype = torch.float32
) -> np.ndarray:
    """Logits of ``model`` in eval mode for N x C x H x W ``images`` (training flag restored).

    ``dtype=torch.float64`` evaluates a float64 copy of the model (the model itself is untouched):
    the reference's own float-noise floor, see the module docstring. Returned as ``dtype``.
    """
    was_training = model.training
    net = model if dtype == torch.float32 else copy.deepcopy(model).to(dtype)
    net.eval()
    outs = []
    try:
        with torch.no_grad():
            for batch in _batches(images, batch_size, False, "torch"):
                out = net(torch.from_numpy(np.ascontiguousarray(batch)).to(dtype))
                outs.append(getattr(out, "value", out).detach().cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(outs)


def _with_batch(model: ModelWrapper, n: int) -> ModelWrapper:
    return model.transform(ChangeBatchSize(n)).transform(InferShapes())


def run_qonnx(
    model: ModelWrapper, images: np.ndarray, batch_size: int = 64, progress: bool = False
) -> np.ndarray:
    """Logits of a QONNX graph executed by qonnx for N x C x H x W ``images`` (model not mutated)."""
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    resized: dict[int, ModelWrapper] = {}
    outs = []
    for batch in _batches(images, batch_size, progress, "qonnx exec"):
        if len(batch) not in resized:
            resized[len(batch)] = _with_batch(model, len(batch))
        result = execute_onnx(resized[len(batch)], {iname: batch.astype(np.float32)})
        outs.append(np.asarray(result[oname]).reshape(len(batch), -1))
    return np.concatenate(outs).astype(np.float32)


def run_onnxruntime(
    model: ModelWrapper, images: np.ndarray, batch_size: int = 64, progress: bool = False
) -> np.ndarray:
    """Logits from onnxruntime on the graph lowered to standard ONNX (see ``nash.export.lowering``)."""
    import onnxruntime as ort

    from nash.export.lowering import lower_to_standard_onnx

    lowered = lower_to_standard_onnx(_with_batch(model, batch_size))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        lowered.model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    iname = session.get_inputs()[0].name
    outs = []
    for batch in _batches(images, batch_size, progress, "onnxruntime"):
        padded = np.zeros((batch_size, *batch.shape[1:]), np.float32)  # graph has a fixed batch size
        padded[: len(batch)] = batch
        outs.append(np.asarray(session.run(None, {iname: padded})[0])[: len(batch)].reshape(len(batch), -1))
    return np.concatenate(outs).astype(np.float32)


def _per_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.float64) - b.astype(np.float64)).max(axis=1)


def compare_logits(
    reference: np.ndarray,
    candidate: np.ndarray,
    atol: float = ATOL,
    *,
    reference64: np.ndarray | None = None,
) -> dict[str, Any]:
    """Per-image comparison of two logit sets and the pass/fail verdict (module docstring).

    Args:
        reference: N x K logits from PyTorch (float32).
        candidate: N x K logits from the exported graph.
        atol: absolute part of the per-image float-noise bound.
        reference64: the same PyTorch model's logits in float64 (``run_torch(..., dtype=float64)``):
            its distance to ``reference`` is the self-noise the candidate is measured against.
            Without it the self-noise is taken as zero (the strictest verdict).

    Returns:
        ``{"n", "ok", "top1_agreement", "max_abs_diff", "median_abs_diff", "logit_scale",
        "tolerance", "tight_match", "flips", "flip_share", "allowed_flip_share", "flip_max_abs_diff",
        "self_noise": {"flip_share", "median_abs_diff", "max_abs_diff"} | None, "median_limit"}``.
        On a shape mismatch: ``{"n", "ok": False, "error"}``.
    """
    n = int(len(reference))
    if reference.shape != candidate.shape:
        return {
            "n": n,
            "ok": False,
            "error": f"logit shapes differ: torch {reference.shape} vs exported {candidate.shape}",
        }
    if n == 0:
        return {"n": 0, "ok": False, "error": "no images were compared"}
    scale = float(np.abs(reference).max())
    tol = atol + TIGHT_RTOL * scale
    diff = _per_image(reference, candidate)
    flipped = diff > tol
    self_noise = None
    allowed_share, median_limit = MAX_FLIP_SHARE, tol
    if reference64 is not None:
        noise = _per_image(reference, reference64)
        self_noise = {
            "flip_share": float((noise > tol).mean()),
            "median_abs_diff": float(np.median(noise)),
            "max_abs_diff": float(noise.max()),
        }
        allowed_share = max(MAX_FLIP_SHARE, NOISE_FACTOR * self_noise["flip_share"] + 0.05)
        median_limit = max(tol, NOISE_FACTOR * self_noise["median_abs_diff"])
    agree = float((reference.argmax(1) == candidate.argmax(1)).mean())
    share = float(flipped.mean())
    median = float(np.median(diff))
    return {
        "n": n,
        "ok": bool(agree >= MIN_AGREEMENT and share <= allowed_share and median <= median_limit),
        "top1_agreement": agree,
        "max_abs_diff": float(diff.max()),
        "median_abs_diff": median,
        "median_limit": median_limit,
        "logit_scale": scale,
        "tolerance": tol,
        "tight_match": 1.0 - share,
        "flips": int(flipped.sum()),
        "flip_share": share,
        "allowed_flip_share": min(1.0, allowed_share),
        "flip_max_abs_diff": float(diff[flipped].max()) if flipped.any() else 0.0,
        "self_noise": self_noise,
    }
