"""Hardware stage: lower QONNX to FINN-style dataflow layers, fold (PE/SIMD) and estimate cost.

Never imports torch (onnx, qonnx, numpy only). Public API::

    from nash.hw import estimate_model, write_estimate
    est = estimate_model("model.onnx", HwConfig(fold="max", clock_ns=5.0))
    print(est.fps, est.latency_ms, est.totals, est.bottleneck)

FINN layer kinds (one module each in ``nash.hw.kinds``) are registered in ``LAYER_KINDS``.
"""

from __future__ import annotations

from nash.hw.api import (
    estimate_lowered,
    estimate_model,
    fold_label,
    fold_layers,
    lowering_options,
    write_estimate,
)
from nash.hw.costs import CostContext, LayerCost, NoCostModelError, create_cost
from nash.hw.devices import Device, get_device, list_devices, load_catalog
from nash.hw.enums import Backend, Generation, MemMode, RamStyle, ResType
from nash.hw.estimate import Estimate, critical_path
from nash.hw.folding import apply_folding_config, check_folding, folding_config, legal_values, set_folding
from nash.hw.kinds import LAYER_KINDS, create_layer, get_kind, list_kinds, register_kind
from nash.hw.layers import HwLayer
from nash.hw.lowering import SUPPORTED_OPS, LoweredGraph, LoweringOptions, Rejection, dry_run, lower_model
from nash.hw.state import LoweringState

__all__ = [
    "apply_folding_config",
    "Backend",
    "check_folding",
    "CostContext",
    "create_cost",
    "create_layer",
    "critical_path",
    "Device",
    "dry_run",
    "Estimate",
    "estimate_lowered",
    "estimate_model",
    "fold_label",
    "fold_layers",
    "folding_config",
    "Generation",
    "get_device",
    "get_kind",
    "HwLayer",
    "LAYER_KINDS",
    "LayerCost",
    "legal_values",
    "list_devices",
    "list_kinds",
    "load_catalog",
    "lower_model",
    "LoweredGraph",
    "lowering_options",
    "LoweringOptions",
    "LoweringState",
    "MemMode",
    "NoCostModelError",
    "RamStyle",
    "register_kind",
    "Rejection",
    "ResType",
    "set_folding",
    "SUPPORTED_OPS",
    "write_estimate",
]
