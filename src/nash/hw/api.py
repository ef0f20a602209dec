"""Entry points: ``estimate_model(onnx_path, cfg)`` and ``write_estimate(estimate, out_dir)``.

The pipeline is lower (``lowering.py``) -> fold (``folding.py``: max / target_fps / fit / file) ->
cost (``layer.cost``, the kinds of ``kinds/``) -> aggregate (``estimate.py``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tqdm import tqdm

from nash.config.base import to_dict
from nash.config.hw import FoldMode, HwConfig
from nash.errors import FoldingError
from nash.hw.costs import CostContext
from nash.hw.datatypes import int_type
from nash.hw.devices import Device, dsp_block, get_device
from nash.hw.estimate import Estimate, cost_layers
from nash.hw.folding import apply_folding_config, set_folding
from nash.hw.layers import HwLayer
from nash.hw.lowering import LoweredGraph, LoweringOptions, lower_model
from nash.io import atomic_write_json, atomic_write_text

__all__ = [
    "estimate_model",
    "estimate_lowered",
    "fold_label",
    "fold_layers",
    "lowering_options",
    "write_estimate",
]

# What each folding does, printed beside the estimate and stored in estimate.json ("folding").
_FOLD_TEXT = {
    "max-relaxed": "maximum parallelism, then FINN's two-pass relaxation folds every non-bottleneck layer "
    "back to the bottleneck's rate: same fps, fewer resources; --fold max-unrelaxed keeps every layer "
    "at maximum parallelism",
    "max-unrelaxed": "every layer at its maximum parallelism, no relaxation",
    "target_fps": "SetFolding, the least parallelism per layer that reaches",
    "fit": "the fastest SetFolding target whose resources fit the device",
    "file": "PE/SIMD from a FINN folding-config file",
}


def fold_label(cfg: HwConfig) -> str:
    """Name of the folding ``cfg`` asks for: ``max-relaxed``/``max-unrelaxed``, ``target_fps``, ``fit``, ``file``."""
    if cfg.fold == FoldMode.MAX:
        return "max-relaxed" if cfg.two_pass_relaxation else "max-unrelaxed"
    return cfg.fold.value


def _fold_text(cfg: HwConfig) -> str:
    label = fold_label(cfg)
    detail = _FOLD_TEXT[label]
    if cfg.fold == FoldMode.TARGET_FPS:
        detail = f"{detail} {cfg.target_fps:g} fps"
    return f"{label}: {detail}"


def _context(cfg: HwConfig, device: Device | None) -> CostContext:
    return CostContext(
        generation=cfg.generation.value, dsp_block=dsp_block(device.part) if device else "DSP48E2"
    )


def _build(
    layers: list[HwLayer],
    cfg: HwConfig,
    ctx: CostContext,
    device: Device | None,
    lowered: LoweredGraph,
    clock_ns: float,
    log: tuple = (),
) -> Estimate:
    costs, unsupported = cost_layers(tuple(layers), ctx)
    return Estimate(
        tuple(layers),
        costs,
        clock_ns,
        settings=to_dict(cfg) | {"clock_ns": clock_ns, "fold_mode": fold_label(cfg)},
        assumptions=lowered.assumptions,
        warnings=lowered.warnings,
        folding=_fold_text(cfg),
        absorbed=lowered.absorbed,
        unsupported=tuple(unsupported),
        device=device,
        utilization_limit=cfg.utilization,
        search_log=log,
    )


def _fit(
    lowered: LoweredGraph, cfg: HwConfig, ctx: CostContext, device: Device, clock_ns: float, progress: bool
) -> Estimate:
    """Highest fps that fits, found from the fast end: SetFolding targets from maximum parallelism
    down in steps of sqrt(2) until one fits, then bisection between it and the last that did not.

    Resources are not monotone in the target: memory packing can make a slower folding use *more*
    BRAM18 (measured: a NASH ResNet18 at 224 px, w2a2, needs 2,514 BRAM18 at 3.5 fps, 3,004 at
    5 fps and 2,423 at 324.5 fps), so a bisection over the whole range can settle in a dip at the
    slow end. Scanning from the fast end returns the fastest fitting target of the sqrt(2) grid
    (refined between two neighbouring grid points), whatever happens at slower targets.
    """
    fold = lambda t: set_folding(lowered.layers, t, ctx, cfg.mvau_wwidth_max, cfg.two_pass_relaxation)  # noqa: E731
    log: list[dict[str, Any]] = []

    def probe(target: int) -> Estimate:
        est = _build(fold(target), cfg, ctx, device, lowered, clock_ns)
        log.append(
            {
                "target_cycles": target,
                "max_cycles": est.max_cycles,
                "fps": est.fps,
                "fits": est.fits,
                **est.totals,
            }
        )
        return est

    def done(est: Estimate) -> Estimate:
        return _build(list(est.layers), cfg, ctx, device, lowered, clock_ns, tuple(log))

    fastest = probe(0)  # every layer at its maximum parallelism
    if fastest.fits:
        return done(fastest)
    slowest = probe(10**12)  # every layer at its least parallel setting
    slow_end = slowest.max_cycles
    hi, found = fastest.max_cycles, None  # hi: a target that does not fit
    with tqdm(desc="fit", disable=not progress) as bar:
        while hi < slow_end:
            target = min(slow_end, max(hi + 1, math.ceil(hi * math.sqrt(2))))
            est = probe(target)
            bar.update(1)
            if est.fits:
                found = (target, est)
                break
            hi = target
        if found is None:
            return done(slowest)  # nothing fits: report the least parallel design
        lo_target, best = found  # bisect (hi, lo_target]: the fastest fitting target near the grid point
        while hi + 1 < lo_target:
            mid = (hi + lo_target) // 2
            est = probe(mid)
            bar.update(1)
            if est.fits:
                lo_target, best = mid, (est if est.fps >= best.fps else best)
            else:
                hi = mid
    return done(best)


def fold_layers(lowered: LoweredGraph, cfg: HwConfig, ctx: CostContext, clock_ns: float) -> list[HwLayer]:
    """Fold the lowered layers per ``cfg.fold`` (max, target_fps or a folding file; not fit)."""
    layers = lowered.layers
    if cfg.fold == FoldMode.MAX:  # unreachable target: SIMD at the width cap, PE = MH, SWG SIMD = C
        return set_folding(layers, 0, ctx, cfg.mvau_wwidth_max, cfg.two_pass_relaxation)
    if cfg.fold == FoldMode.TARGET_FPS:
        target = int((1e9 / clock_ns) / cfg.target_fps)
        return set_folding(layers, target, ctx, cfg.mvau_wwidth_max, cfg.two_pass_relaxation)
    path = Path(cfg.folding_file or "")
    if not path.is_file():
        raise FoldingError(f"folding file {path} not found; pass an existing FINN folding-config JSON")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FoldingError(f"{path}: not valid JSON (line {exc.lineno}); fix the syntax") from None
    return apply_folding_config(layers, config)


def estimate_lowered(
    lowered: LoweredGraph, cfg: HwConfig | None = None, *, progress: bool = False
) -> Estimate:
    """Fold and cost an already lowered graph."""
    cfg = cfg or HwConfig()
    device = get_device(cfg.device) if cfg.device else None
    clock_ns = cfg.clock_ns or (device.clock_ns if device else 5.0)
    ctx = _context(cfg, device)
    if cfg.fold == FoldMode.FIT:
        return _fit(lowered, cfg, ctx, device, clock_ns, progress)
    return _build(fold_layers(lowered, cfg, ctx, clock_ns), cfg, ctx, device, lowered, clock_ns)


def lowering_options(cfg: HwConfig) -> LoweringOptions:
    """``LoweringOptions`` implied by a ``HwConfig``."""
    device = get_device(cfg.device) if cfg.device else None
    return LoweringOptions(
        generation=cfg.generation.value,
        label_select=cfg.label_select,
        minimize_bit_width=cfg.minimize_bit_width,
        input_dtype=int_type(cfg.input_bits, cfg.input_signed),
        dsp_block=dsp_block(device.part) if device else "DSP48E2",
        mem_mode=cfg.resolved_mem_mode(),
    )


def estimate_model(onnx_path: Any, cfg: HwConfig | None = None, *, progress: bool = False) -> Estimate:
    """Lower, fold and estimate a QONNX/ONNX model (path, ModelProto or qonnx ModelWrapper).

    Example:
        >>> est = estimate_model("model.onnx", HwConfig(fold="max", clock_ns=5.0))  # doctest: +SKIP
        >>> print(est.table())                                                       # doctest: +SKIP

    Raises:
        UnsupportedOpError: the graph holds ops without a dataflow layer.
        FoldingError: an illegal user folding.
        HardwareError: unreadable model or unknown device.
    """
    cfg = cfg or HwConfig()
    return estimate_lowered(lower_model(onnx_path, lowering_options(cfg)), cfg, progress=progress)


def write_estimate(estimate: Estimate, out_dir: Any) -> dict[str, Path]:
    """Write ``estimate.json``, ``folding_config.json`` and ``estimate.txt`` atomically into ``out_dir``."""
    out = Path(out_dir)
    return {
        "estimate": atomic_write_json(out / "estimate.json", estimate.to_dict()),
        "folding_config": atomic_write_json(out / "folding_config.json", estimate.folding_config()),
        "table": atomic_write_text(out / "estimate.txt", estimate.table() + "\n"),
    }
