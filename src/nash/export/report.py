"""The export check: equivalence + conformance + MAC counts, written to ``export_check.json``."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from qonnx.core.modelwrapper import ModelWrapper

from nash.errors import ExportError
from nash.export.conformance import Violation, check_conformance
from nash.export.equivalence import (
    ATOL,
    MAX_FLIP_SHARE,
    MIN_AGREEMENT,
    NOISE_FACTOR,
    TIGHT_RTOL,
    compare_logits,
    run_onnxruntime,
    run_qonnx,
    run_torch,
)
from nash.export.qonnx_export import load_qonnx
from nash.io import atomic_write_json

__all__ = ["check_exported", "check_file", "qonnx_macs"]


def qonnx_macs(model: ModelWrapper) -> int | None:
    """Total MACs by qonnx's ``inference_cost`` (dense count, no sparsity discount); None if it fails."""
    from qonnx.util.inference_cost import inference_cost

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # preprocess=False: our export already ran qonnx's clean-up and shape inference; the
            # tool's own preprocessing repeats it and takes ~10x longer (28 s vs 2.3 s on a NASH
            # ResNet18, identical MAC count).
            cost = inference_cost(model, discount_sparsity=False, preprocess=False)
    except Exception:  # noqa: BLE001 - qonnx raises bare Exceptions; the count is informative only
        return None
    return int(cost["total_cost"]["total_macs"])


def check_file(onnx_path: str | os.PathLike[str]) -> list[Violation]:
    """Conformance violations of any QONNX file (no PyTorch model needed)."""
    return check_conformance(load_qonnx(onnx_path))


def _onnxruntime_result(
    wrapper: ModelWrapper, images: np.ndarray, ref: np.ndarray, ref64: np.ndarray, progress: bool
) -> dict:
    try:
        logits = run_onnxruntime(wrapper, images, batch_size=min(64, len(images)), progress=progress)
    except (ExportError, RuntimeError, ValueError, onnx.checker.ValidationError) as exc:
        return {"skipped": f"graph not runnable by onnxruntime: {str(exc).splitlines()[0][:200]}"}
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own Fail/InvalidGraph types
        return {"skipped": f"onnxruntime failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    return compare_logits(ref, logits, reference64=ref64)


def _mismatch(result: dict[str, Any]) -> str:
    return (
        f"{result['flips']} of {result['n']} images outside the float-noise bound "
        f"{result['tolerance']:.3g} ({100 * result['flip_share']:.1f}%, allowed "
        f"{100 * result['allowed_flip_share']:.1f}%), median abs diff {result['median_abs_diff']:.3g} "
        f"(limit {result['median_limit']:.3g}), max abs diff {result['max_abs_diff']:.3g}, top-1 "
        f"agreement {100 * result['top1_agreement']:.2f}% (need {100 * MIN_AGREEMENT:.1f}%)"
    )


def _verdict(check: dict[str, Any], strict: bool) -> list[str]:
    reasons = []
    qonnx = check["qonnx"]
    if not qonnx.get("ok"):
        reasons.append(qonnx.get("error") or f"qonnx logits differ: {_mismatch(qonnx)}")
    ort = check["onnxruntime"]
    if "ok" in ort and not ort["ok"]:
        reasons.append(ort.get("error") or f"onnxruntime logits differ: {_mismatch(ort)}")
    if strict and check["conformance"]:
        reasons.append(f"{len(check['conformance'])} dataflow-conformance violations (--strict)")
    return reasons


def check_exported(
    model: torch.nn.Module,
    onnx_path: str | os.PathLike[str],
    images: np.ndarray,
    *,
    strict: bool = False,
    onnxruntime: bool = True,
    progress: bool = True,
    nash_macs: int | None = None,
    report_path: str | os.PathLike[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Compare an exported QONNX file with its PyTorch model and check dataflow conformance.

    Args:
        model: the PyTorch/Brevitas model the file was exported from.
        onnx_path: the exported file.
        images: N x C x H x W float32 inputs (already normalised).
        strict: treat conformance violations as failure.
        onnxruntime: also compare onnxruntime on the lowered graph (skipped and noted when False).
        progress: show tqdm progress bars.
        nash_macs: our own MAC count, reported next to qonnx's.
        report_path: where to write the JSON report (default: ``export_check.json`` beside the file).
        extra: more entries for the report.

    Returns:
        The report dict; ``max_abs_diff``/``top1_agreement``/``n`` are the qonnx-execution numbers.

    Raises:
        ExportError: the check failed (the report is written first, with ``"ok": false``).
    """
    start = time.perf_counter()
    images = np.ascontiguousarray(images, dtype=np.float32)
    wrapper = load_qonnx(onnx_path)
    ref = run_torch(model, images)
    ref64 = run_torch(model, images, dtype=torch.float64)  # PyTorch's own float-noise floor
    qonnx = compare_logits(
        ref,
        run_qonnx(wrapper, images, batch_size=min(64, len(images)), progress=progress),
        reference64=ref64,
    )
    violations = check_conformance(wrapper)
    check: dict[str, Any] = {
        "max_abs_diff": qonnx.get("max_abs_diff"),
        "top1_agreement": qonnx.get("top1_agreement"),
        "n": qonnx["n"],
        "flips": qonnx.get("flips"),
        "tolerance": {
            "atol": ATOL,
            "tight_rtol": TIGHT_RTOL,
            "max_flip_share": MAX_FLIP_SHARE,
            "noise_factor": NOISE_FACTOR,
            "min_top1_agreement": MIN_AGREEMENT,
        },
        "qonnx": qonnx,
        "onnxruntime": _onnxruntime_result(wrapper, images, ref, ref64, progress)
        if onnxruntime
        else {"skipped": "disabled by the caller"},
        "conformance": [v.to_dict() for v in violations],
        "macs": {"qonnx_inference_cost": qonnx_macs(wrapper), "nash": nash_macs},
        **(extra or {}),
    }
    reasons = _verdict(check, strict)
    check.update(ok=not reasons, failures=reasons, seconds=round(time.perf_counter() - start, 3))
    atomic_write_json(report_path or Path(onnx_path).parent / "export_check.json", check)
    if reasons:
        raise ExportError(f"export check failed for {onnx_path}: {'; '.join(reasons)}")
    return check
