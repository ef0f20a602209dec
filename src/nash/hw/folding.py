"""Folding (PE/SIMD) rules, FINN's SetFolding search and the FINN folding-config JSON.

Rules (finn-cost-model.md §4): MVAU PE | MH and SIMD | MW; SWG, FMPadding and DownSampler
SIMD | C; Thresholding, AddStreams, DuplicateStreams, ChannelwiseOp, GlobalAccPool, Pool PE | C;
LabelSelect PE | Labels. ``set_folding`` re-implements SetFolding (§7) including the two-pass
relaxation; ``apply_folding_config`` reads the folding-config format of §7.2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from nash.errors import FoldingError
from nash.hw.costs import CostContext, create_cost
from nash.hw.layers import HwLayer

__all__ = [
    "divisors",
    "legal_values",
    "check_folding",
    "set_folding",
    "apply_folding_config",
    "folding_config",
]

_MEM_ALIASES = {"const": "internal_embedded", "decoupled": "internal_decoupled"}
_ATTR_FIELDS = {
    "PE": "pe",
    "SIMD": "simd",
    "parallel_window": "parallel_window",
    "ram_style": "ram_style",
    "ram_style_thresholds": "ram_style_thresholds",
    "resType": "res_type",
    "mem_mode": "mem_mode",
}
# Keys FINN writes that do not change the analytical estimate.
_IGNORED_ATTRS = {
    "runtime_writeable_weights",
    "depth_trigger_uram",
    "depth_trigger_bram",
    "depth",
    "impl_style",
    "inFIFODepths",
    "outFIFODepths",
    "preferred_impl_style",
}


def divisors(n: int) -> list[int]:
    """Divisors of ``n`` in increasing order."""
    return [d for d in range(1, n + 1) if n % d == 0]


def _pe_bound(layer: HwLayer) -> int:
    return layer.mh if layer.op_type == "MVAU" else layer.channels


def legal_values(layer: HwLayer) -> dict[str, list[int]]:
    """Legal values of each folding attribute of ``layer`` (empty for unfoldable layers)."""
    out: dict[str, list[int]] = {}
    if "PE" in layer.fold_dim:
        out["PE"] = divisors(_pe_bound(layer))
    if "SIMD" in layer.fold_dim:
        out["SIMD"] = divisors(layer.mw if layer.op_type == "MVAU" else layer.channels)
    return out


def check_folding(layer: HwLayer) -> None:
    """Raise ``FoldingError`` naming the layer and the legal values when PE/SIMD break FINN's rules."""
    for key, legal in legal_values(layer).items():
        value = getattr(layer, key.lower())
        if value not in legal:
            raise FoldingError(f"{layer.name}: {key}={value} is illegal; legal values: {legal}")
    if (
        layer.op_type == "ConvolutionInputGenerator"
        and layer.parallel_window
        and not layer.depthwise
        and layer.kernel != (1, 1)
        and layer.simd != layer.channels
    ):
        raise FoldingError(f"{layer.name}: parallel_window=1 needs SIMD={layer.channels} (= IFMChannels)")


def _optimise(layer: HwLayer, field: str, bound: int, target: float, ctx: CostContext) -> HwLayer:
    # §7 helper: smallest divisor of ``bound`` with cycles < target, else the full unfold.
    for d in divisors(bound):
        layer = dataclasses.replace(layer, **{field: d})
        if create_cost(layer, ctx).cycles < target:
            break
    return layer


def _fold_mvau(layer: HwLayer, target: float, wwidth_max: int, ctx: CostContext) -> HwLayer:
    layer = prev = dataclasses.replace(layer, pe=1, simd=1)
    for d in divisors(layer.mw):
        cand = dataclasses.replace(layer, simd=d)
        if create_cost(cand, ctx).cycles < target:
            prev = cand
            break
        if layer.weight_bits_quant * d > wwidth_max:
            break  # revert to the previous SIMD (the target check came first, as in FINN)
        prev = cand
    return _optimise(prev, "pe", layer.mh, target, ctx)


def _fold_one(layer: HwLayer, target: float, wwidth_max: int, ctx: CostContext) -> HwLayer:
    op = layer.op_type
    if op == "MVAU":
        return _fold_mvau(layer, target, wwidth_max, ctx)
    if op in (
        "AddStreams",
        "ChannelwiseOp",
        "DuplicateStreams",
        "GlobalAccPool",
        "Thresholding",
        "LabelSelect",
        "Pool",
    ):
        return _optimise(layer, "pe", layer.channels, target, ctx)
    if op == "ConvolutionInputGenerator" and not layer.depthwise:
        layer = _optimise(
            dataclasses.replace(layer, parallel_window=False), "simd", layer.channels, target, ctx
        )
        if (
            layer.backend == "rtl"
            and layer.simd == layer.channels
            and create_cost(layer, ctx).cycles > target
        ):
            layer = dataclasses.replace(layer, parallel_window=True)
        return layer
    if op in ("DownSampler",) or (op == "FMPadding" and layer.backend == "hls"):
        return _optimise(layer, "simd", layer.channels, target, ctx)
    return layer  # StreamingMaxPool, FMPadding_rtl, StreamingConcat, depthwise SWG: untouched (§7)


def _set_once(layers: list[HwLayer], target: float, wwidth_max: int, ctx: CostContext) -> list[HwLayer]:
    out = [_fold_one(la, target, wwidth_max, ctx) for la in layers]
    index = {la.name: i for i, la in enumerate(out)}
    for la in out:  # a Pool sets the SIMD of its depthwise SWG producer to its PE
        if la.op_type == "Pool":
            for p in la.preds:
                if out[index[p]].op_type == "ConvolutionInputGenerator":
                    out[index[p]] = dataclasses.replace(out[index[p]], simd=la.pe)
    return out


def set_folding(
    layers: list[HwLayer] | tuple[HwLayer, ...],
    target_cycles: float,
    ctx: CostContext | None = None,
    mvau_wwidth_max: int = 36,
    two_pass_relaxation: bool = True,
) -> list[HwLayer]:
    """FINN SetFolding (§7): per layer, the least parallelism with cycles < target_cycles.

    With two-pass relaxation, if the bottleneck cannot reach the target, fold again with the target
    set to the achieved max cycles so every other layer is relaxed to just below the bottleneck.
    """
    ctx = ctx or CostContext()
    out = _set_once(list(layers), target_cycles, mvau_wwidth_max, ctx)
    achieved = max((create_cost(la, ctx).cycles for la in out), default=0)
    if two_pass_relaxation and achieved > target_cycles:
        out = _set_once(out, achieved, mvau_wwidth_max, ctx)
    return out


def _coerce_attr(layer: HwLayer, key: str, value: Any) -> tuple[str, Any]:
    field = _ATTR_FIELDS[key]
    if field in ("pe", "simd"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise FoldingError(f"{layer.name}: {key} must be an integer, got {value!r}")
    elif field == "parallel_window":
        value = bool(value)
    elif field == "mem_mode":
        value = _MEM_ALIASES.get(value, value)
    return field, value


def _apply_attrs(layer: HwLayer, attrs: Mapping[str, Any]) -> HwLayer:
    changes = {}
    for key, value in attrs.items():
        if key in _IGNORED_ATTRS:
            continue
        if key not in _ATTR_FIELDS:
            raise FoldingError(
                f"{layer.name}: unknown folding attribute {key!r}; known: {', '.join(_ATTR_FIELDS)}"
            )
        if _ATTR_FIELDS[key] in ("pe", "simd") and key not in layer.fold_dim:
            continue  # FINN ignores attributes a node does not have
        field, value = _coerce_attr(layer, key, value)
        changes[field] = value
    return dataclasses.replace(layer, **changes)


def _defaults_for(layer: HwLayer, defaults: Mapping[str, Any]) -> dict[str, Any]:
    prefix = layer.name.rsplit("_", 1)[0]
    out = {}
    for key, spec in defaults.items():
        value, ops = spec
        if ops == "all" or prefix in ops or layer.op_type in ops:
            out[key] = value
    return out


def apply_folding_config(
    layers: list[HwLayer] | tuple[HwLayer, ...], config: Mapping[str, Any]
) -> list[HwLayer]:
    """Apply a FINN folding-config dict (§7.2): ``Defaults`` first, then per-node entries; validate.

    Raises:
        FoldingError: unknown node name (FIFO/DWC entries are ignored), unknown attribute, or a
            PE/SIMD value that breaks the divisibility rules (naming the legal values).
    """
    names = {la.name for la in layers}
    unknown = [
        k
        for k in config
        if k != "Defaults"
        and k not in names
        and not k.startswith(("StreamingFIFO", "StreamingDataWidthConverter"))
    ]
    if unknown:
        raise FoldingError(f"folding config names unknown node(s) {unknown}; valid names: {sorted(names)}")
    out = []
    for la in layers:
        la = _apply_attrs(la, _defaults_for(la, config.get("Defaults", {})))
        la = _apply_attrs(la, config.get(la.name, {}))
        check_folding(la)
        out.append(la)
    return out


def folding_config(layers: list[HwLayer] | tuple[HwLayer, ...]) -> dict[str, Any]:
    """FINN-compatible folding config (§7.2) of a folded design, keys = node names."""
    cfg: dict[str, Any] = {"Defaults": {}}
    for la in layers:
        entry: dict[str, Any] = {}
        if "PE" in la.fold_dim:
            entry["PE"] = la.pe
        if "SIMD" in la.fold_dim:
            entry["SIMD"] = la.simd
        if la.op_type == "ConvolutionInputGenerator":
            entry.update(ram_style=la.ram_style, parallel_window=int(la.parallel_window))
        if la.op_type == "MVAU":
            entry.update(
                ram_style=la.ram_style, resType=la.res_type, mem_mode=la.mem_mode, runtime_writeable_weights=0
            )
        if la.op_type in ("Thresholding", "ChannelwiseOp") and la.backend == "hls":
            entry["ram_style"] = la.ram_style
        if entry:
            cfg[la.name] = entry
    return cfg
