"""Export to QONNX with a verified equivalence check and a FINN dataflow-conformance check.

Example:
    >>> from nash.export import export_checkpoint            # doctest: +SKIP
    >>> check = export_checkpoint("runs/v3_w2a2/best.pt", "runs/v3_w2a2/model.onnx")
    >>> check["top1_agreement"], check["conformance"]
"""

from __future__ import annotations

from nash.export.checkpoint import check_images, export_checkpoint, load_checkpoint, model_from_checkpoint
from nash.export.conformance import QUANT_OPS, SUPPORTED_OPS, Violation, check_conformance, is_quantized
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
from nash.export.lowering import ExpandQuantToFloatOps, lower_to_standard_onnx
from nash.export.qonnx_export import export_model, load_qonnx, read_metadata
from nash.export.report import check_exported, check_file, qonnx_macs

__all__ = [
    "export_checkpoint",
    "load_checkpoint",
    "model_from_checkpoint",
    "check_images",
    "export_model",
    "load_qonnx",
    "read_metadata",
    "check_exported",
    "check_file",
    "qonnx_macs",
    "Violation",
    "check_conformance",
    "is_quantized",
    "SUPPORTED_OPS",
    "QUANT_OPS",
    "compare_logits",
    "run_torch",
    "run_qonnx",
    "run_onnxruntime",
    "ATOL",
    "TIGHT_RTOL",
    "MAX_FLIP_SHARE",
    "NOISE_FACTOR",
    "MIN_AGREEMENT",
    "ExpandQuantToFloatOps",
    "lower_to_standard_onnx",
]
