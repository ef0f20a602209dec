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
from nash.hw.costs import CostContext
from nash.hw.enums import Generation, MemMode, RamStyle, ResType, parse_choice
from nash.hw.layers import HwLayer, divisors, meets

__all__ = [
    "divisors",
    "legal_values",
    "check_folding",
    "set_folding",
    "apply_folding_config",
    "folding_config",
]

# FINN folding-config attribute -> (layer field, parser of the value).
_ATTRS: dict[str, tuple[str, Any]] = {
    "PE": ("pe", int),
    "SIMD": ("simd", int),
    "parallel_window": ("parallel_window", bool),
    "ram_style": ("ram_style", RamStyle),
    "ram_style_thresholds": ("ram_style_thresholds", RamStyle),
    "resType": ("res_type", ResType),
    "mem_mode": ("mem_mode", MemMode),
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


def legal_values(layer: HwLayer) -> dict[str, list[int]]:
    """Legal values of each folding attribute of ``layer`` (empty for unfoldable layers)."""
    return layer.legal_values()


def check_folding(layer: HwLayer) -> None:
    """Raise ``FoldingError`` naming the layer and the legal values when PE/SIMD break FINN's rules."""
    layer.check_folding()


def _raise_shared(
    consumer: HwLayer, swg: HwLayer, target: float, ctx: CostContext
) -> tuple[HwLayer, HwLayer]:
    """FINN+ SetFolding: a depthwise SWG slower than the target raises the PE it shares with its
    Pool/VVAU consumer (next divisors of the channels) until the SWG meets the target."""
    folded = consumer.fold_producer(swg)
    if meets(folded.cost(ctx).cycles, target, ctx):
        return consumer, folded
    for pe in divisors(consumer.channels):
        if pe <= consumer.pe:
            continue
        consumer = dataclasses.replace(consumer, pe=pe)
        folded = consumer.fold_producer(swg)
        if meets(folded.cost(ctx).cycles, target, ctx):
            break
    return consumer, folded


def _set_once(layers: list[HwLayer], target: float, wwidth_max: int, ctx: CostContext) -> list[HwLayer]:
    out = [la.fold(target, ctx, wwidth_max) for la in layers]
    index = {la.name: i for i, la in enumerate(out)}
    plus = ctx.generation == Generation.FINN_PLUS
    for i in range(len(out)):  # cross-layer rules, e.g. a Pool sets the SIMD of its SWG producer
        for p in out[i].preds:
            producer = out[index[p]]
            shared = getattr(producer, "depthwise", False) and out[i].kind in ("Pool", "VVAU")
            if plus and shared and producer.kind == "ConvolutionInputGenerator":
                out[i], out[index[p]] = _raise_shared(out[i], producer, target, ctx)
            else:
                out[index[p]] = out[i].fold_producer(producer)
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
    achieved = max((la.cost(ctx).cycles for la in out), default=0)
    if two_pass_relaxation and achieved > target_cycles:
        out = _set_once(out, achieved, mvau_wwidth_max, ctx)
    return out


def _coerce_attr(layer: HwLayer, key: str, value: Any) -> Any:
    field, parse = _ATTRS[key]
    if parse is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise FoldingError(f"{layer.name}: {key} must be an integer, got {value!r}")
        return value
    if parse is bool:
        if value not in (0, 1, True, False):
            raise FoldingError(f"{layer.name}: {key} {value!r} is not valid; valid values: 0, 1")
        return bool(value)
    return parse_choice(parse, value, f"{layer.name}: {key}", FoldingError)


def _apply_attrs(layer: HwLayer, attrs: Mapping[str, Any]) -> HwLayer:
    known = {f.name for f in dataclasses.fields(layer)}
    changes = {}
    for key, value in attrs.items():
        if key in _IGNORED_ATTRS:
            continue
        if key not in _ATTRS:
            raise FoldingError(f"{layer.name}: unknown folding attribute {key!r}; known: {', '.join(_ATTRS)}")
        value = _coerce_attr(layer, key, value)  # validated even where the kind ignores it
        field = _ATTRS[key][0]
        if field in known and (field not in ("pe", "simd") or key in layer.fold_dim):
            changes[field] = value  # FINN ignores attributes a node does not have
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
        la.check_folding()
        out.append(la)
    return out


def folding_config(layers: list[HwLayer] | tuple[HwLayer, ...]) -> dict[str, Any]:
    """FINN-compatible folding config (§7.2) of a folded design, keys = node names."""
    cfg: dict[str, Any] = {"Defaults": {}}
    for la in layers:
        entry = la.folding_entry()
        if entry:
            cfg[la.name] = entry
    return cfg
