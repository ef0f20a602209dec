"""Equivalence check: the exported QONNX graph must compute what the PyTorch model computes.

Both sides run in float32 on the same images. The graph is executed by qonnx
(``execute_onnx``, the reference semantics of the Quant custom ops FINN consumes) and, where the
graph can be lowered to standard ONNX, by onnxruntime as a second, independent runtime.

How two correct implementations can still differ: both evaluate the same quantized arithmetic,
but sum convolutions in a different order, so pre-activations differ by float32 rounding (about
1e-6 relative). Almost always that vanishes at the next quantizer. Rarely a pre-activation sits
within that noise of a rounding boundary, one activation moves by a whole quantization step, and
the step travels to the logits: at 2 bits one flipped activation has moved logits by 8 % of the
logit scale (trained w2a2 NASH-v3, top-1 unchanged). A bound on the *largest* difference therefore
either fails correct exports now and then or is so loose it passes real bugs.

So the verdict is per image, and statistical (``compare_logits``):

* an image *matches* when all its logits agree to the float noise bound
  ``atol + TIGHT_RTOL * max|logit|`` (1e-4 + 0.1 %);
* an image that does not is a *flip* (a rounding-boundary event);
* the export passes when top-1 agreement is >= ``MIN_AGREEMENT`` (99.9 %) **and** at most
  ``MAX_FLIP_SHARE`` (5 %, rounded down: fewer than 20 images allow no flip) of the images flip.

Export bugs (a lost scale, a dropped BatchNorm, a wrong quantizer or sign, a mis-ordered channel)
are systematic: they move the logits of nearly every image, so the flip share rises towards
100 % whatever their size; boundary flips stay at a few images in a thousand.
"""

from __future__ import annotations

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
    "MIN_AGREEMENT",
    "run_torch",
    "run_qonnx",
    "run_onnxruntime",
    "compare_logits",
]

# Pass criterion (see the module docstring): float-noise bound per image, top-1 agreement, and the
# share of images allowed to differ by a rounding-boundary flip.
ATOL = 1e-4
TIGHT_RTOL = 1e-3
MIN_AGREEMENT = 0.999  # top-1 agreement fraction required
MAX_FLIP_SHARE = 0.05  # share of images allowed outside the noise bound (rounded down to whole images)


def _batches(images: np.ndarray, batch_size: int, progress: bool, desc: str) -> Iterator[np.ndarray]:
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc=desc, disable=not progress, leave=False):
        yield images[start : start + batch_size]


def run_torch(model: torch.nn.Module, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Logits of ``model`` in eval mode for N x C x H x W float32 ``images`` (training flag restored)."""
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.no_grad():
            for batch in _batches(images, batch_size, False, "torch"):
                out = model(torch.from_numpy(np.ascontiguousarray(batch)))
                outs.append(getattr(out, "value", out).detach().cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(outs).astype(np.float32)


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


def compare_logits(reference: np.ndarray, candidate: np.ndarray, atol: float = ATOL) -> dict[str, Any]:
    """Per-image comparison of two logit sets and the pass/fail verdict (module docstring).

    Args:
        reference: N x K logits from PyTorch.
        candidate: N x K logits from the exported graph.
        atol: absolute part of the per-image float-noise bound.

    Returns:
        ``{"n", "ok", "top1_agreement", "max_abs_diff", "logit_scale", "tolerance", "tight_match",
        "flips", "allowed_flips", "flip_share", "flip_max_abs_diff"}``: ``tolerance`` is the
        per-image noise bound, ``tight_match`` the share of images within it, ``flips`` the number
        of images outside it (``allowed_flips`` = floor(MAX_FLIP_SHARE * n)), ``flip_max_abs_diff``
        the largest difference among them. On a shape mismatch: ``{"n", "ok": False, "error"}``.
    """
    n = int(len(reference))
    if reference.shape != candidate.shape:
        return {
            "n": n,
            "ok": False,
            "error": f"logit shapes differ: torch {reference.shape} vs exported {candidate.shape}",
        }
    ref = reference.astype(np.float64)
    cand = candidate.astype(np.float64)
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    per_image = np.abs(ref - cand).max(axis=1) if ref.size else np.zeros(n)
    tol = atol + TIGHT_RTOL * scale
    flipped = per_image > tol
    flips = int(flipped.sum())
    allowed = int(np.floor(MAX_FLIP_SHARE * n + 1e-9))
    agree = float((ref.argmax(1) == cand.argmax(1)).mean()) if n else 1.0
    return {
        "n": n,
        "ok": bool(agree >= MIN_AGREEMENT and flips <= allowed),
        "top1_agreement": agree,
        "max_abs_diff": float(per_image.max()) if n else 0.0,
        "logit_scale": scale,
        "tolerance": tol,
        "tight_match": float(1.0 - flipped.mean()) if n else 1.0,
        "flips": flips,
        "allowed_flips": allowed,
        "flip_share": float(flipped.mean()) if n else 0.0,
        "flip_max_abs_diff": float(per_image[flipped].max()) if flips else 0.0,
    }
