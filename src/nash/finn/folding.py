"""Folding for the FINN+ build: our folding JSON, FINN+'s SetFolding for a target, or a device fit.

``nash hw estimate --out DIR`` writes ``folding_config.json`` in FINN's format with *its own*
layer names (``MVAU_hls_3``, ``AddStreams_hls_1``, ``DownSampler_hls_0`` ...). FINN+ names its layers
after its own lowering, which differs in places (``ElementwiseAdd`` for ``AddStreams``, max-pool as
sliding window + ``Pool``, back-end suffixes). :func:`apply_folding_file` therefore maps the file
onto the FINN+ graph:

1. if the keys are exactly the HW nodes of the FINN+ graph (e.g. FINN+'s own
   ``auto_folding_config.json`` of the same model), the file is applied as it is (equal names alone
   are not enough: ``ConvolutionInputGenerator_rtl_2`` may be a different layer on each side);
2. otherwise layers are matched by kind and order: the k-th layer of a kind in the file, in the
   file's order (``nash hw`` writes its layers in graph order; kinds compared without the
   ``_hls``/``_rtl`` suffix, ``AddStreams`` = ``ElementwiseAdd``), gets the k-th FINN+ node of that
   kind in graph order. Every matched value is checked against FINN's
   divisibility rules on the FINN+ node; a kind whose count differs, or an illegal value, is a
   ``FoldingError`` naming the entries.

Only attributes the FINN+ node has are transferred (``PE``, ``SIMD``, ``ram_style``, ``resType``,
``mem_mode``, ``runtime_writeable_weights``, ``parallel_window`` ...).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nash.errors import FoldingError

__all__ = [
    "HW_ATTRS",
    "layer_kind",
    "load_folding_file",
    "load_shapes_beside",
    "apply_folding_file",
    "set_folding",
    "fit_device",
    "folding_of",
]

# the attributes FINN+'s builder writes into auto/applied folding configs
HW_ATTRS = (
    "PE",
    "SIMD",
    "parallel_window",
    "ram_style",
    "ram_style_thresholds",
    "resType",
    "mem_mode",
    "runtime_writeable_weights",
    "depth_trigger_uram",
    "depth_trigger_bram",
)

# nash.hw kind -> FINN+ kind (FINN+ makes a strided 1x1 conv's input a ConvolutionInputGenerator)
_ALIASES = {
    "AddStreams": "ElementwiseAdd",
    "MatrixVectorActivation": "MVAU",
    "StreamingMaxPool": "Pool",
    "DownSampler": "ConvolutionInputGenerator",
    "ConvolutionInputGenerator1D": "ConvolutionInputGenerator",
}


def layer_kind(name_or_op: str) -> str:
    """``"MVAU_hls_3"`` -> ``"MVAU"``; ``"AddStreams_hls_1"`` -> ``"ElementwiseAdd"``."""
    base = re.sub(r"_\d+$", "", name_or_op)
    base = re.sub(r"_(hls|rtl)$", "", base)
    return _ALIASES.get(base, base)


def load_folding_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a FINN folding-config JSON; a missing or malformed file is a one-line ``FoldingError``."""
    p = Path(path)
    if not p.is_file():
        raise FoldingError(f"folding file {p} not found; write one with `nash hw estimate ... --out DIR`")
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise FoldingError(f"folding file {p} is not valid JSON ({exc}); fix or regenerate it") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise FoldingError(f"folding file {p} is not a FINN folding config ({{layer: {{attr: value}}}})")
    return {k: v for k, v in data.items() if k != "Defaults"}


def _legal(inst: Any, attr: str, value: Any) -> str | None:
    """None when ``value`` is a legal ``attr`` for the FINN+ node ``inst``, else the reason."""
    if attr not in ("PE", "SIMD"):
        return None
    if not isinstance(value, int) or value < 1:
        return f"{attr}={value!r} is not a positive integer"
    op = layer_kind(inst.onnx_node.op_type)
    g = inst.get_nodeattr
    dims: dict[tuple[str, str], int] = {}
    try:
        if op == "MVAU":
            dims = {("MVAU", "PE"): g("MH"), ("MVAU", "SIMD"): g("MW")}
        elif op in ("Thresholding", "DuplicateStreams", "GlobalAccPool"):
            dims = {(op, "PE"): g("NumChannels")}
        elif op in ("ConvolutionInputGenerator",):
            dims = {(op, "SIMD"): g("IFMChannels")}
        elif op in ("FMPadding",):
            dims = {(op, "SIMD"): g("NumChannels")}
        elif op == "LabelSelect":
            dims = {(op, "PE"): g("Labels")}
        elif op == "Pool":
            dims = {(op, "PE"): g("Channels")}
        elif op == "ElementwiseAdd":
            dims = {(op, "PE"): int(list(g("out_shape"))[-1])}
    except (AttributeError, KeyError, ValueError):
        return None
    bound = dims.get((op, attr))
    if bound is not None and bound % value:
        return f"{attr}={value} does not divide {bound}"
    return None


def _apply(model: Any, node: Any, values: Mapping[str, Any], errors: list[str], label: str) -> None:
    from qonnx.custom_op.registry import getCustomOp

    inst = getCustomOp(node)
    known = inst.get_nodeattr_types()
    for attr, value in values.items():
        if attr not in known:
            continue
        reason = _legal(inst, attr, value)
        if reason:
            errors.append(f"{label} -> {node.name}: {reason}")
            continue
        inst.set_nodeattr(attr, value)


def _node_signature(node: Any) -> tuple | None:
    """Shape signature of a FINN+ node for matching (None when not needed for its kind)."""
    from qonnx.custom_op.registry import getCustomOp

    inst = getCustomOp(node)
    kind = layer_kind(node.op_type)
    try:
        if kind == "MVAU":
            return (int(inst.get_nodeattr("MW")), int(inst.get_nodeattr("MH")))
        if kind == "ConvolutionInputGenerator":
            return (
                int(inst.get_nodeattr("IFMChannels")),
                int(list(inst.get_nodeattr("IFMDim"))[0]),
                int(list(inst.get_nodeattr("ConvKernelDim"))[0]),
                int(list(inst.get_nodeattr("Stride"))[0]),
            )
    except (AttributeError, KeyError, ValueError, IndexError):
        return None
    return None


def _layer_signature(row: Mapping[str, Any]) -> tuple | None:
    """The same signature from a ``nash hw`` estimate.json layer row."""
    kind = layer_kind(str(row.get("name", "")))
    try:
        if kind == "MVAU":
            return (int(row["MW"]), int(row["MH"]))
        if kind == "ConvolutionInputGenerator":
            kernel = int(_first(row.get("kernel") or 1))
            return (int(row["channels"]), int(_first(row["ifm_dim"])), kernel, int(_first(row["stride"])))
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _first(v: Any) -> Any:
    return v[0] if isinstance(v, (list, tuple)) else v


def apply_folding_file(
    model: Any, config: Mapping[str, Mapping[str, Any]], shapes: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[Any, dict[str, str]]:
    """Apply a folding config (ours or FINN+'s) to the specialised FINN+ graph.

    ``shapes`` (layer name -> ``nash hw`` estimate.json row, optional) lets MVAUs and sliding
    windows be matched by shape as well as order: a FINN+ node of the same kind and shape is
    taken in order, so branches that the two tools list in a different order still match.
    Returns the model and the mapping ``{file key: FINN+ node name}`` that was used.
    """
    nodes = [n for n in model.graph.node if n.domain.startswith("finn.custom_op.fpgadataflow")]
    by_name = {n.name: n for n in nodes}
    errors: list[str] = []
    ignored = {k for k in config if layer_kind(k) in ("StreamingFIFO", "StreamingDataWidthConverter")}
    keys = [k for k in config if k not in ignored]
    if keys and set(keys) == set(by_name):
        mapping = {k: k for k in keys}
    else:
        mapping = {}
        file_kinds: dict[str, list[str]] = {}
        for k in keys:
            file_kinds.setdefault(layer_kind(k), []).append(k)
        graph_kinds: dict[str, list[Any]] = {}
        for n in nodes:
            graph_kinds.setdefault(layer_kind(n.op_type), []).append(n)
        for kind, names in file_kinds.items():
            targets = graph_kinds.get(kind, [])
            if len(targets) != len(names):
                errors.append(
                    f"{len(names)} {kind} entries in the file ({names[0]}...) but FINN+ has {len(targets)}"
                )
                continue
            sigs = [_layer_signature(shapes[k]) if shapes and k in shapes else None for k in names]
            if all(sig is not None for sig in sigs):
                free = list(targets)
                for k, sig in zip(names, sigs):
                    hit = next((n for n in free if _node_signature(n) == sig), None)
                    if hit is None:
                        errors.append(f"{k}: no FINN+ {kind} with shape {sig}")
                        continue
                    free.remove(hit)
                    mapping[k] = hit.name
            else:
                mapping.update({k: n.name for k, n in zip(names, targets)})
    for key, target in mapping.items():
        _apply(model, by_name[target], config[key], errors, key)
    if errors:
        shown = "; ".join(errors[:4]) + (f"; ... ({len(errors)} problems)" if len(errors) > 4 else "")
        raise FoldingError(f"folding file does not fit the FINN+ graph: {shown}")
    return model, mapping


def load_shapes_beside(path: str | Path) -> dict[str, dict[str, Any]] | None:
    """``estimate.json`` written by ``nash hw estimate --out`` next to the folding file, by layer name."""
    est = Path(path).with_name("estimate.json")
    try:
        rows = json.loads(est.read_text()).get("layers", [])
    except (OSError, ValueError, AttributeError):
        return None
    return {r["name"]: r for r in rows if isinstance(r, dict) and "name" in r} or None


def set_folding(model: Any, target_cycles: int, *, mvau_wwidth_max: int = 36) -> Any:
    """FINN+'s own ``SetFolding`` (two-pass relaxation on) for ``target_cycles`` per frame."""
    from finn.transformation.fpgadataflow.set_folding import SetFolding

    return model.transform(
        SetFolding(max(1, int(target_cycles)), mvau_wwidth_max=mvau_wwidth_max, two_pass_relaxation=True)
    )


def folding_of(model: Any) -> dict[str, dict[str, Any]]:
    """The current folding of every HW node (FINN folding-config format, ``HW_ATTRS`` only)."""
    from qonnx.custom_op.registry import getCustomOp

    out: dict[str, dict[str, Any]] = {"Defaults": {}}
    for n in model.graph.node:
        if not n.domain.startswith("finn.custom_op.fpgadataflow"):
            continue
        inst = getCustomOp(n)
        known = inst.get_nodeattr_types()
        entry = {}
        for a in HW_ATTRS:
            if a in known:
                try:
                    v = inst.get_nodeattr(a)
                except (AttributeError, ValueError):
                    continue
                entry[a] = v.decode() if isinstance(v, bytes) else v
        out[n.name] = entry
    return out


def _totals(model: Any, part: str) -> dict[str, float]:
    from functools import partial

    from finn.analysis.fpgadataflow.res_estimation import res_estimation

    res = model.analysis(partial(res_estimation, fpgapart=part))
    keys = ("LUT", "BRAM_18K", "URAM", "DSP")
    return {k: float(sum(float(r.get(k, 0)) for r in res.values())) for k in keys}


def _max_cycles(model: Any) -> int:
    from finn.analysis.fpgadataflow.exp_cycles_per_layer import exp_cycles_per_layer

    cycles = model.analysis(exp_cycles_per_layer)
    return int(max(cycles.values())) if cycles else 0


def fit_device(
    model: Any,
    capacity: Mapping[str, int],
    part: str,
    *,
    utilization: float = 0.85,
    mvau_wwidth_max: int = 36,
    max_probes: int = 14,
    progress: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """The fastest SetFolding target whose LUT/BRAM18/URAM/DSP estimates fit ``utilization`` x device.

    Bisection on log(target cycles) between the fully parallel folding and the fully folded one
    (``max_probes`` FINN+ SetFolding + resource-estimate runs). Resources are estimated before the
    final bit-width minimisation (which only lowers them), so the chosen folding is conservative.
    Returns the folded model and a log of the probes.
    """
    import copy

    from tqdm.auto import tqdm

    limit = {
        "LUT": capacity["lut"] * utilization,
        "BRAM_18K": capacity["bram18"] * utilization,
        "URAM": capacity["uram"] * utilization,
        "DSP": capacity["dsp"] * utilization,
    }

    def probe(target: int) -> tuple[Any, dict[str, float], int, bool]:
        m = set_folding(copy.deepcopy(model), target, mvau_wwidth_max=mvau_wwidth_max)
        tot = _totals(m, part)
        return m, tot, _max_cycles(m), all(tot[k] <= limit[k] for k in limit)

    log: list[dict[str, Any]] = []
    bar = tqdm(total=max_probes, desc="fit probes", disable=not progress, leave=False)

    def record(target: int, tot: dict[str, float], cyc: int, fits: bool) -> None:
        log.append({"target_cycles": target, "max_cycles": cyc, "fits": fits, **tot})
        bar.update(1)

    fast, tot, cyc_fast, ok = probe(1)
    record(1, tot, cyc_fast, ok)
    if ok:
        bar.close()
        return fast, {"probes": log, "fits": True, "target_cycles": 1}
    slow_target = max(2, int(_max_cycles(model)))  # the unfolded (PE=SIMD=1) bottleneck
    slow, tot, cyc, ok_slow = probe(slow_target)
    record(slow_target, tot, cyc, ok_slow)
    if not ok_slow:
        bar.close()
        return slow, {"probes": log, "fits": False, "target_cycles": slow_target}
    lo, hi, best = math.log(max(1, cyc_fast)), math.log(slow_target), (slow, slow_target)
    for _ in range(max_probes - 2):
        mid = int(round(math.exp((lo + hi) / 2)))
        if mid in (int(round(math.exp(lo))), int(round(math.exp(hi)))):
            break
        m, tot, cyc, ok = probe(mid)
        record(mid, tot, cyc, ok)
        if ok:
            best, hi = (m, mid), math.log(mid)
        else:
            lo = math.log(mid)
    bar.close()
    return best[0], {"probes": log, "fits": True, "target_cycles": best[1]}
