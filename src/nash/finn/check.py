"""Integer-graph check: does the network FINN+ would build compute what we trained?

Three executions of the same test images are compared:

* **PyTorch**: the checkpoint's model (``nash.models.model_from_arch`` + weights), eval mode, fed
  the normalised images exactly as training/evaluation feeds them.
* **Streamlined graph** (after our streamlining, before HW conversion): every activation is an
  integer and every quantiser a ``MultiThreshold``; it reads the raw 8-bit pixels and ends in the
  classifier's integer accumulator times one float ``Mul`` (the classifier's output scale), so its
  output is directly comparable with the PyTorch logits. Executed batched by qonnx/FINN in Python.
* **HW-layer graph** (after conversion to FINN+ HW layers, before specialisation): the layers the
  accelerator is made of (Thresholding, MVAU, ConvolutionInputGenerator, ElementwiseAdd,
  DuplicateStreams, Pool, GlobalAccPool, LabelSelect), executed by their Python models one image at
  a time (FINN+ HW layers have a fixed batch of 1). Its output is the LabelSelect index; the MVAU
  accumulator in front of it (integer logits) is compared exactly with the streamlined graph's.

Both graphs get the same pixels as PyTorch: the images are rounded back to 8-bit pixels first
(``pixels = round((x * std + mean) * 255)``), and PyTorch is fed those pixels normalised again,
so all three see identical inputs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from tqdm.auto import tqdm

__all__ = ["to_pixels", "from_pixels", "run_graph_batched", "run_hw_graph", "integer_check", "output_scale"]

MIN_AGREEMENT = 0.999


def to_pixels(images: np.ndarray, prep: Mapping[str, Any]) -> np.ndarray:
    """Normalised N x C x H x W images -> the 8-bit pixels they came from (``float32`` integers)."""
    scale, shift = _channel_params(prep, images.shape[1])
    pixels = (images - shift) / scale
    return np.clip(np.rint(pixels), 0, 255).astype(np.float32)


def from_pixels(pixels: np.ndarray, prep: Mapping[str, Any]) -> np.ndarray:
    """8-bit pixels -> the model input ``pixels * scale + shift`` in float32 (the graph's preprocessing)."""
    scale, shift = _channel_params(prep, pixels.shape[1])
    return (pixels.astype(np.float32) * scale + shift).astype(np.float32)


def _channel_params(prep: Mapping[str, Any], channels: int) -> tuple[np.ndarray, np.ndarray]:
    scale = np.asarray(prep["scale"], np.float32)
    shift = np.asarray(prep["shift"], np.float32)
    if scale.size == 1:
        scale = np.full(channels, scale.item(), np.float32)
    if shift.size == 1:
        shift = np.full(channels, shift.item(), np.float32)
    return scale.reshape(1, -1, 1, 1), shift.reshape(1, -1, 1, 1)


def _batches(n: int, size: int, progress: bool, desc: str) -> Iterator[slice]:
    for start in tqdm(range(0, n, size), desc=desc, disable=not progress, leave=False):
        yield slice(start, min(n, start + size))


def run_graph_batched(
    model: Any, pixels: np.ndarray, batch_size: int = 200, progress: bool = False
) -> np.ndarray:
    """Outputs of a streamlined graph for N x C x H x W ``pixels`` (``nash.finn.execute``, batched)."""
    from nash.finn.execute import execute_batched

    outs = []
    for sl in _batches(len(pixels), batch_size, progress, "streamlined graph"):
        outs.append(execute_batched(model, pixels[sl]).reshape(sl.stop - sl.start, -1))
    return np.concatenate(outs).astype(np.float32)


def output_scale(model: Any) -> float | None:
    """The float scale of a graph that ends in ``Mul(int_accumulator, c)`` (None otherwise)."""
    out = model.graph.output[0].name
    prod = model.find_producer(out)
    if prod is None or prod.op_type != "Mul":
        return None
    c = model.get_initializer(prod.input[1])
    if c is None or np.asarray(c).size != 1:
        return None
    return float(np.asarray(c).reshape(()))


def run_hw_graph(
    model: Any, pixels: np.ndarray, progress: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """(LabelSelect output, integer logits feeding it or None) of the HW-layer graph, image by image."""
    from finn.core.onnx_exec import execute_onnx

    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    ls = [n for n in model.graph.node if n.op_type.startswith("LabelSelect")]
    logits_name = ls[0].input[0] if ls else None
    labels, logits = [], []
    for k in tqdm(range(len(pixels)), desc="HW-layer graph", disable=not progress, leave=False):
        ctx = execute_onnx(
            model, {iname: pixels[k : k + 1].astype(np.float32)}, return_full_exec_context=True
        )
        labels.append(np.asarray(ctx[oname]).reshape(-1))
        if logits_name is not None:
            logits.append(np.asarray(ctx[logits_name]).reshape(-1))
    return np.stack(labels), (np.stack(logits) if logits else None)


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b)) if len(a) else float("nan")


def integer_check(
    torch_logits: np.ndarray,
    pixels: np.ndarray,
    streamlined: Any,
    hw: Any | None = None,
    *,
    n_hw: int | None = None,
    batch_size: int = 200,
    cross_images: int = 4,
    progress: bool = False,
) -> dict[str, Any]:
    """Compare PyTorch logits with the streamlined graph (all images) and the HW-layer graph (``n_hw``).

    Returns the ``finn_check.json`` dict: per graph ``n``, ``top1_agreement`` (fraction), and for the
    streamlined graph ``max_abs_diff`` of the logits (float units), ``logit_scale`` (max |PyTorch
    logit|), ``output_scale`` (the classifier scale c of the final ``Mul``) and ``max_diff_lsb``
    (``max_abs_diff / c``: how many integer accumulator steps the worst logit is off); for the HW
    graph the agreement of its LabelSelect with PyTorch and with the streamlined graph, and whether
    its integer logits equal the streamlined graph's exactly.
    """
    from nash.finn.execute import cross_check

    t0 = time.perf_counter()
    n = len(pixels)
    # our batched executor against FINN's own execute_onnx, image by image, on the first images
    n_cross = min(n, cross_images)
    cross = cross_check(streamlined, pixels[:n_cross]) if n_cross else 0.0
    ref_top1 = np.argmax(torch_logits, axis=1)
    out = run_graph_batched(streamlined, pixels, batch_size, progress)
    logits = out.reshape(n, -1)
    scale = output_scale(streamlined)
    diff = np.abs(logits - torch_logits)
    per_image = diff.max(axis=1)
    top1 = np.argmax(logits, axis=1)
    res: dict[str, Any] = {
        "n": n,
        "streamlined": {
            "n": n,
            "top1_agreement": _agreement(top1, ref_top1),
            "disagreements": int(np.sum(top1 != ref_top1)),
            "max_abs_diff": float(diff.max()) if n else 0.0,
            "mean_abs_diff": float(diff.mean()) if n else 0.0,
            "logit_scale": float(np.abs(torch_logits).max()) if n else 0.0,
            "output_scale": scale,
            "max_diff_lsb": (float(diff.max() / scale) if scale and n else None),
            "images_exact": int(np.sum(per_image <= 1e-5 * max(1.0, float(np.abs(torch_logits).max())))),
            "executor_cross_check": {"n": n_cross, "max_abs_diff": cross},
            "seconds": round(time.perf_counter() - t0, 2),
        },
    }
    if hw is not None and (n_hw is None or n_hw > 0):
        t1 = time.perf_counter()
        m = n if n_hw is None else min(n, n_hw)
        labels, hw_logits = run_hw_graph(hw, pixels[:m], progress)
        hw_top1 = labels[:, 0].astype(np.int64)
        entry: dict[str, Any] = {
            "n": m,
            "top1_agreement": _agreement(hw_top1, ref_top1[:m]),
            "top1_agreement_streamlined": _agreement(hw_top1, top1[:m]),
        }
        if hw_logits is not None and scale:
            ints = np.rint(logits[:m] / scale)
            entry["integer_logits_equal"] = bool(np.array_equal(hw_logits.astype(np.float64), ints))
            entry["max_integer_logit_diff"] = float(np.abs(hw_logits - ints).max()) if m else 0.0
            # a disagreement that is only a tie between equal integer logits (index order)
            best = hw_logits.max(axis=1)
            entry["tie_disagreements"] = int(
                np.sum((hw_top1 != ref_top1[:m]) & (hw_logits[np.arange(m), ref_top1[:m]] == best))
            )
        entry["seconds"] = round(time.perf_counter() - t1, 2)
        res["hw"] = entry
    agreements = [res["streamlined"]["top1_agreement"]]
    if "hw" in res:
        agreements.append(res["hw"]["top1_agreement"])
    res["top1_agreement"] = min(agreements)
    res["max_abs_diff"] = res["streamlined"]["max_abs_diff"]
    res["min_agreement"] = MIN_AGREEMENT
    res["ok"] = bool(all(a >= MIN_AGREEMENT for a in agreements))
    return res
