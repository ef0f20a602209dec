"""Equivalence check: the exported QONNX graph must compute what the PyTorch model computes.

Both sides run in float32 on the same images. The graph is executed by qonnx
(``execute_onnx``, the reference semantics of the Quant custom ops FINN consumes) and, where the
graph can be lowered to standard ONNX, by onnxruntime as a second, independent runtime.

Tolerance (``max_abs_diff <= atol + rtol * max|logit|``, defaults ``atol=1e-4``, ``rtol=1e-3``):
both sides evaluate the same quantized arithmetic, so the only legitimate differences are float32
summation-order effects (about 1e-6 relative) and, rarely, a pre-activation that lands within
rounding noise of a quantizer's decision boundary and moves one activation by one quantization
step, which the following layers dilute to well under 0.1 % of the logit scale. Real export bugs
(a lost scale, a dropped BatchNorm, a wrong quantizer) change logits by a sizeable fraction of the
logit scale, far above this bound.
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
    "RTOL",
    "TIGHT_RTOL",
    "MIN_AGREEMENT",
    "run_torch",
    "run_qonnx",
    "run_onnxruntime",
    "compare_logits",
]

# Pass criterion. Both sides compute the same quantized arithmetic in float32, but in a different
# summation order, so a pre-activation that sits on a rounding boundary can land one quantization
# step apart; in a trained network that moves a few logits by up to ~1 % of the logit scale (seen:
# 0.06 on a scale of 12, trained w4a4 NASH-v4, top-1 agreement 100 %). Export bugs (lost scale,
# dropped BN, wrong quantizer, wrong sign) move logits by tens of percent. So: top-1 agreement
# >= 99.9 % and max |diff| <= ATOL + RTOL * max|logit| with RTOL = 5 %; the share of images that
# match to TIGHT_RTOL (0.1 %) is reported beside it.
ATOL = 1e-4
RTOL = 5e-2
TIGHT_RTOL = 1e-3
MIN_AGREEMENT = 0.999  # top-1 agreement fraction required


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


def compare_logits(
    reference: np.ndarray, candidate: np.ndarray, atol: float = ATOL, rtol: float = RTOL
) -> dict[str, Any]:
    """Max abs logit difference, top-1 agreement and the pass/fail verdict against the tolerance.

    Args:
        reference: N x K logits from PyTorch.
        candidate: N x K logits from the exported graph.
        atol: absolute part of the tolerance.
        rtol: relative part, times the largest absolute reference logit.

    Returns:
        ``{"max_abs_diff", "tolerance", "tight_match", "logit_scale", "top1_agreement", "n", "ok"}``;
        ``tight_match`` is the share of images whose logits all agree to ``atol + TIGHT_RTOL * scale``.
    """
    if reference.shape != candidate.shape:
        return {
            "n": int(len(reference)),
            "ok": False,
            "error": f"logit shapes differ: torch {reference.shape} vs exported {candidate.shape}",
        }
    scale = float(np.abs(reference).max()) if reference.size else 0.0
    diff = float(np.abs(reference - candidate).max()) if reference.size else 0.0
    agree = float((reference.argmax(1) == candidate.argmax(1)).mean()) if len(reference) else 1.0
    tol = atol + rtol * scale
    per_image = np.abs(reference - candidate).max(axis=1) if reference.size else np.zeros(0)
    tight = float((per_image <= atol + TIGHT_RTOL * scale).mean()) if len(per_image) else 1.0
    return {
        "max_abs_diff": diff,
        "tolerance": tol,
        "tight_match": tight,
        "logit_scale": scale,
        "top1_agreement": agree,
        "n": int(len(reference)),
        "ok": bool(diff <= tol and agree >= MIN_AGREEMENT),
    }
