"""Hardware stage: lower QONNX to FINN-style dataflow layers, fold (PE/SIMD) and estimate cost.

Never imports torch (onnx, qonnx, numpy only). Public API::

    from nash.hw import estimate_model, write_estimate
    est = estimate_model("model.onnx", HwConfig(fold="max", clock_ns=5.0))
    print(est.fps, est.latency_ms, est.totals, est.bottleneck)
"""

from __future__ import annotations

from nash.hw.api import estimate_lowered, estimate_model, fold_layers, lowering_options, write_estimate
from nash.hw.costs import (
    CostContext,
    LayerCost,
    create_cost,
    get_estimator,
    list_estimators,
    register_estimator,
)
from nash.hw.devices import Device, get_device, list_devices, load_catalog
from nash.hw.estimate import Estimate, critical_path
from nash.hw.folding import apply_folding_config, check_folding, folding_config, legal_values, set_folding
from nash.hw.layers import HwLayer
from nash.hw.lowering import LoweredGraph, LoweringOptions, lower_model

__all__ = [
    "estimate_model",
    "estimate_lowered",
    "fold_layers",
    "lowering_options",
    "write_estimate",
    "CostContext",
    "LayerCost",
    "create_cost",
    "get_estimator",
    "list_estimators",
    "register_estimator",
    "Device",
    "get_device",
    "list_devices",
    "load_catalog",
    "Estimate",
    "critical_path",
    "apply_folding_config",
    "check_folding",
    "folding_config",
    "legal_values",
    "set_folding",
    "HwLayer",
    "LoweredGraph",
    "LoweringOptions",
    "lower_model",
]
