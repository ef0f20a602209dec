"""Build a :class:`~nash.hw.cost_table.CostTable` by exporting and estimating probe networks.

Every probe is the deployed network (``NashResNet`` at the deployment input, classes, width and
stem) with a few NAS edges switched on (all other nodes ``("zero", j - 1)``), exported with
``nash.export.export_model``, lowered and estimated with ``nash.hw`` (``fold=target_fps``, the
second relaxation pass off so every layer is folded for the target on its own). Parameters are
initialised from a seed per module name, so a layer that two probes share has the same weights
(and so the same minimised accumulator widths) in both and the differences are exact.

One probe network carries the same probe in every cell: the cells are separated on the exported
graph (cell ``c`` ends at the last cut node, i.e. a node every input-output path passes, whose
conv depth is ``1 + layers of cells 0..c``; the head starts at the global average pool), each
lowered layer goes to the region of its ONNX source nodes (inserted layers such as
DuplicateStreams to the region of their consumer), and a cell's resources are the sum over its
layers and its latency the growth of the critical path across it. Each build checks that a
probe leaves every other region exactly as in the base network. So ResNet18 needs one export
per (edge, op) -- 10 x 5 -- not one per (cell, edge, op).

Networks of a build (ResNet18, v3, all ops, 4 bit candidates: 68 exports)::

    base, original                    every node absent / the original ResNet
    edge (i -> j, op) in every cell   edges (one per alpha row and op; size-changing edges of a
                                      downsample cell skip the ops the strategy forbids there)
    (i -> i+1) + (i -> i+2)           conv_1x1, the source part: what sharing x_i saves
    the same with max_pool_3x3        the (source, op) part: two identical pools of one source merge
    (i-1 -> i) + (i -> i+1)           conv_1x1, the source part of x_i when node i has an edge
    chain                             every node (j-1 -> j, conv_1x1): the bits context
    chain, cells c = 0, 2, .. at b    and c = 1, 3, ..: per-cell bits deltas (the region of cell
                                      c+1 (or the head) belongs to cell c's delta)

At 3x224x224 (width 64) an export takes 3.5-9 s; the 68 networks above took 368.6 s with
``workers=2`` on 2 shared cores (bench/cost_table_bench.py). A table is cached by the sha256 of
its settings (``cache_dir``), so a search pays this once per deployment.

See ``nash.hw.cost_table`` for the model and where it is exact. Torch and Brevitas are imported
inside the functions that build networks; ``nash.hw`` stays importable without them.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from nash import __version__
from nash.config.base import to_dict
from nash.config.hw import FoldMode, HwConfig
from nash.errors import ConfigError, HardwareError
from nash.hw.cost_table import RESOURCES, TABLE_SCHEMA, CostTable, bits_tag, settings_key
from nash.hw.estimate import Estimate, critical_path

__all__ = [
    "build_cost_table",
    "build_fit_ladder",
    "table_settings",
    "build_network",
    "export_network",
    "estimate_network",
    "lower_network",
    "estimate_networks",
    "measure_network",
    "measure_levels",
    "node_regions",
    "layer_regions",
    "DEFAULT_HW",
    "PROBE_OP",
]

DEFAULT_HW = HwConfig(fold="target_fps", target_fps=324.5, clock_ns=5.0)
PROBE_OP = "conv_1x1"  # allowed on every edge of every strategy: the vehicle of the shared-part probes
_POOL_KINDS = ("max_pool",)  # parameter-free ops with layers: identical ones on one source merge
_INIT = "reset_parameters per module, seed crc32(module name)"

Nodes = list[list[tuple[str, int]]]


# --- settings ------------------------------------------------------------------------------------
def table_settings(
    backbone: str = "resnet18",
    *,
    version: str = "v3",
    bits: str = "w2a2",
    bits_candidates: Sequence[str | int] | None = None,
    input_shape: str | tuple[int, int, int] = "3x224x224",
    num_classes: int = 1000,
    width: int = 64,
    stem: str = "imagenet",
    recipe: str | None = None,
    cell_layers: int | None = None,
    hw: HwConfig | None = None,
    ops: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The normalised settings of a table (its cache key); validates every argument.

    Raises:
        ConfigError: fold other than ``target_fps``, unknown strategy/recipe/op, bad bits or shape.
        GenotypeError: unknown backbone or bad ``cell_layers``.
    """
    from nash.config.recipes import DEFAULT_RECIPE, check_recipe
    from nash.hw.from_arch import parse_input_shape
    from nash.space import STEMS, cell_specs, list_strategies
    from nash.space.ops import OPS, canonical_op

    hw = hw or DEFAULT_HW
    if hw.fold != FoldMode.TARGET_FPS:
        raise ConfigError(
            "a cost table needs fold=target_fps (only at a fixed target does SetFolding fold each "
            "layer on its own, so that costs add); pass --target-fps N"
        )
    hw = dataclasses.replace(hw, two_pass_relaxation=False)
    if version not in list_strategies():
        raise ConfigError(f"strategy {version!r} is not one of {', '.join(list_strategies())}")
    if stem not in STEMS:
        raise ConfigError(f"stem {stem!r} is not one of {', '.join(STEMS)}")
    ref = bits_tag(bits)
    cands = sorted({bits_tag(b) for b in (bits_candidates or [])} | {ref}, key=_bits_order)
    chosen = OPS[1:] if ops is None else sorted({canonical_op(o) for o in ops} - {"zero"}, key=OPS.index)
    if not chosen:
        raise ConfigError("ops must name at least one non-zero op (e.g. conv_1x1,conv_3x3)")
    measured = sorted(set(chosen) | {PROBE_OP}, key=OPS.index)
    cell_specs(backbone, cell_layers)  # validates backbone and cell_layers
    shape = parse_input_shape(input_shape)
    for name, value in (("num_classes", num_classes), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return {
        "schema": TABLE_SCHEMA,
        "nash_version": __version__,
        "backbone": backbone,
        "version": version,
        "bits": ref,
        "bits_candidates": cands,
        "input_shape": list(shape),
        "num_classes": num_classes,
        "width": width,
        "stem": stem,
        "recipe": check_recipe(recipe or DEFAULT_RECIPE),
        "cell_layers": cell_layers,
        "ops": measured,
        "hw": _hw_dict(hw),
        "init": _INIT,
    }


def _hw_dict(hw: HwConfig) -> dict[str, Any]:
    """``to_dict(hw)`` with the float fields as floats (2000 and 2000.0 are the same table)."""
    out = to_dict(hw)
    for key in ("target_fps", "clock_ns", "utilization"):
        if out.get(key) is not None:
            out[key] = float(out[key])
    return out


def _bits_order(tag: str) -> tuple[int, int]:
    from nash.space.quant import parse_bits

    return parse_bits(tag)


def _hw(settings: dict[str, Any]) -> HwConfig:
    from nash.config.base import from_dict

    return from_dict(HwConfig, dict(settings["hw"]))


def _specs(settings: dict[str, Any]) -> tuple:
    from nash.space import cell_specs

    return cell_specs(settings["backbone"], settings["cell_layers"])


# --- building one network ------------------------------------------------------------------------
def build_network(
    settings: dict[str, Any],
    cells: Sequence[Sequence[tuple[str, int]]] | None = None,
    bits: Sequence[str | Sequence[int] | None] | None = None,
) -> Any:
    """The torch model a table entry measures: ``cells`` per cell ``(op, pred)`` (``None``: the
    original ResNet), per-cell main-branch ``bits`` (``None``: the table's reference bits).

    Parameters are initialised deterministically per module name, so the same layer has the same
    weights in every network of a build (and in :func:`estimate_network`).
    """
    import torch
    from torch import nn

    from nash.config.recipes import recipe_overrides
    from nash.models import ModelOptions, NashResNet, QuantSpec
    from nash.space.quant import parse_bits

    specs = _specs(settings)
    version = settings["version"] if cells is not None else "o"
    spec = QuantSpec.from_tag(settings["bits"], version=version)
    options = ModelOptions.from_dict(recipe_overrides(settings["recipe"], "train").get("model"))
    cell_bits = None
    if bits is not None:
        cell_bits = [parse_bits(bits_tag(settings["bits"] if b is None else b)) for b in bits]
    nodes = None if cells is None else [[(str(op), int(i)) for op, i in cell] for cell in cells]
    c, h, w = settings["input_shape"]
    model = NashResNet(
        specs,
        spec,
        settings["num_classes"],
        nodes,
        in_channels=c,
        width=settings["width"],
        stem=settings["stem"],
        options=options,
        cell_bits=cell_bits,
    )
    with torch.random.fork_rng(), torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, nn.Conv2d | nn.Linear | nn.BatchNorm2d):
                torch.manual_seed(zlib.crc32(name.encode("utf-8")))
                module.reset_parameters()
    return model


def export_network(
    settings: dict[str, Any],
    cells: Sequence[Sequence[tuple[str, int]]] | None,
    bits: Sequence[str | Sequence[int] | None] | None,
    out_path: str | Path,
) -> Path:
    """Build (:func:`build_network`) and export one network to QONNX at ``out_path``."""
    from nash.export import export_model
    from nash.runtime import quiet_brevitas

    model = build_network(settings, cells, bits)
    meta = {
        "backbone": settings["backbone"],
        "bits": settings["bits"],
        "version": settings["version"] if cells is not None else "o",
        "cost_table_probe": True,
    }
    quiet_brevitas()
    return export_model(model, tuple(settings["input_shape"]), out_path, metadata=meta)


def estimate_network(
    settings: dict[str, Any],
    cells: Sequence[Sequence[tuple[str, int]]] | None = None,
    bits: Sequence[str | Sequence[int] | None] | None = None,
) -> Estimate:
    """Full ``nash.hw`` estimate of the network a table predicts (export, lower, fold, cost)."""
    from nash.hw.api import estimate_lowered

    return estimate_lowered(lower_network(settings, cells, bits), _hw(settings))


def lower_network(
    settings: dict[str, Any],
    cells: Sequence[Sequence[tuple[str, int]]] | None = None,
    bits: Sequence[str | Sequence[int] | None] | None = None,
) -> Any:
    """Export the network a table predicts and lower it to dataflow layers (fold it as often as
    needed with ``nash.hw.api.estimate_lowered``)."""
    from nash.hw.api import lowering_options
    from nash.hw.lowering import lower_model

    with tempfile.TemporaryDirectory(prefix="nash_table_") as tmp:
        path = export_network(settings, cells, bits, Path(tmp) / "model.onnx")
        return lower_model(path, lowering_options(_hw(settings)))


# --- separating the cells --------------------------------------------------------------------------
def node_regions(onnx_path: str | Path, cell_layers: Sequence[int]) -> dict[str, int]:
    """ONNX node name -> region: 0 stem, ``1 + c`` cell ``c``, ``1 + C`` head.

    Cell ``c``'s input ``x0`` is produced by the last cut node (every input-output path passes it)
    whose conv depth (most Conv nodes on a path from the input) is ``1 + sum(cell_layers[:c])``;
    the head starts at the first GlobalAveragePool. Parameter nodes go to their consumer's region.

    Raises:
        HardwareError: the graph does not have the expected cut points.
    """
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    nodes = list(graph.node)
    dynamic = {t.name for t in graph.input}
    order: list[int] = []  # dynamic nodes in (topological) file order
    for idx, node in enumerate(nodes):
        if any(t in dynamic for t in node.input):
            dynamic.update(node.output)
            order.append(idx)
    position = {idx: p for p, idx in enumerate(order)}
    producer = {out: idx for idx, node in enumerate(nodes) for out in node.output}
    depth: dict[str, int] = {t.name: 0 for t in graph.input}
    last_use = list(range(len(order)))  # furthest consumer position of each dynamic node
    node_depth = []
    for p, idx in enumerate(order):
        node = nodes[idx]
        d = max(depth[t] for t in node.input if t in depth) + (node.op_type == "Conv")
        node_depth.append(d)
        depth.update({o: d for o in node.output})
        for t in node.input:
            q = position.get(producer.get(t, -1))
            if q is not None:
                last_use[q] = max(last_use[q], p)
    cuts, reach = [], -1
    for p in range(len(order)):
        if reach <= p:
            cuts.append(p)
        reach = max(reach, last_use[p])
    bounds, want = [], 1
    for n in cell_layers:
        found = [p for p in cuts if node_depth[p] == want]
        if not found or (bounds and found[-1] <= bounds[-1]):
            raise HardwareError(
                f"cannot find the input of cell {len(bounds)} in the exported graph (conv depth {want})"
            )
        bounds.append(found[-1])
        want += n
    pools = [p for p, idx in enumerate(order) if nodes[idx].op_type == "GlobalAveragePool"]
    if not pools or pools[0] - 1 <= bounds[-1]:
        raise HardwareError("cannot find the head (GlobalAveragePool) after the last cell")
    bounds.append(pools[0] - 1)
    regions = {nodes[idx].name: sum(p > b for b in bounds) for p, idx in enumerate(order)}
    consumers: dict[str, list[str]] = {}
    for node in nodes:
        for t in node.input:
            consumers.setdefault(t, []).append(node.name)
    for node in reversed(nodes):  # parameter nodes: the region of a consumer
        if node.name not in regions:
            users = [regions[u] for o in node.output for u in consumers.get(o, []) if u in regions]
            regions[node.name] = max(users, default=0)
    return regions


def layer_regions(est: Estimate, regions: dict[str, int]) -> list[int]:
    """Region of each lowered layer: that of its ONNX sources (the latest if several); a layer
    without sources (e.g. DuplicateStreams) takes its first consumer's, else its producer's."""
    out: dict[str, int] = {}
    for la in est.layers:
        found = [regions[s] for s in la.source if s in regions]
        if found:
            out[la.name] = max(found)
    consumers: dict[str, list[str]] = {la.name: [] for la in est.layers}
    for la in est.layers:
        for p in la.preds:
            consumers.setdefault(p, []).append(la.name)
    for la in reversed(est.layers):
        if la.name not in out:
            users = [out[u] for u in consumers[la.name] if u in out]
            out[la.name] = users[0] if users else None  # type: ignore[assignment]
    for la in est.layers:
        if out[la.name] is None:
            out[la.name] = next((out[p] for p in la.preds if out.get(p) is not None), 0)
    return [out[la.name] for la in est.layers]


def _signature(layer: Any, cost: Any) -> str:
    """A layer's content without names: equal in two networks when the layer is unchanged."""
    fields = dataclasses.asdict(layer)
    for key in ("name", "preds", "source"):
        fields.pop(key, None)
    values = None if cost is None else tuple(getattr(cost, r) for r in ("cycles", *RESOURCES[:4]))
    return repr((type(layer).__name__, sorted(fields.items()), values))


def _summarise(est: Estimate, regions: list[int], n_regions: int) -> dict[str, Any]:
    """Per region: resources + latency contribution (R,), and the (signature, cycles) of its layers."""
    costs = np.zeros((n_regions, len(RESOURCES)))
    exit_latency = np.zeros(n_regions)
    layers: list[list[tuple[str, int]]] = [[] for _ in range(n_regions)]
    _, latency = critical_path(est.layers, est.cycles)
    for la, cost, r, lat in zip(est.layers, est.costs, regions, latency):
        if cost is not None:
            costs[r, :4] += [cost.lut, cost.bram18, cost.uram, cost.dsp]
        exit_latency[r] = max(exit_latency[r], lat)
        layers[r].append((_signature(la, cost), 0 if cost is None else int(cost.cycles)))
    exits = np.maximum.accumulate(exit_latency)
    costs[:, 4] = np.diff(np.concatenate([[0.0], exits]))
    totals = np.array([est.totals[r] for r in RESOURCES[:4]] + [est.critical_path_cycles], dtype=float)
    if not np.allclose(costs.sum(axis=0), totals):
        raise HardwareError("cost table: the regions of a probe network do not add up to its totals")
    return {
        "costs": costs,
        "layers": layers,
        "max_cycles": int(est.max_cycles),
        "unsupported": list(est.unsupported),
    }


def measure_network(
    settings: dict[str, Any],
    cells: Sequence[Sequence[tuple[str, int]]] | None,
    bits: Sequence[str | Sequence[int] | None] | None = None,
) -> dict[str, Any]:
    """Export, lower and estimate one network; its per-region summary (what a build job returns)."""
    return measure_levels([settings], cells, bits)[0]


def measure_levels(
    levels: Sequence[dict[str, Any]],
    cells: Sequence[Sequence[tuple[str, int]]] | None,
    bits: Sequence[str | Sequence[int] | None] | None = None,
) -> list[dict[str, Any]]:
    """:func:`measure_network` under several table settings that differ only in the folding target.

    The network is exported and lowered once (the expensive part); each level folds and costs the
    same lowered layers for its own ``hw.target_fps``.
    """
    from nash.hw.api import estimate_lowered, lowering_options
    from nash.hw.lowering import lower_model

    first = levels[0]
    layers = [s.n_layers for s in _specs(first)]
    with tempfile.TemporaryDirectory(prefix="nash_table_") as tmp:
        path = export_network(first, cells, bits, Path(tmp) / "model.onnx")
        regions = node_regions(path, layers)
        lowered = lower_model(path, lowering_options(_hw(first)))
    out = []
    for settings in levels:
        est = estimate_lowered(lowered, _hw(settings))
        out.append(_summarise(est, layer_regions(est, regions), len(layers) + 2))
    return out


def _job(args: tuple[list[dict[str, Any]], Any, Any]) -> list[dict[str, Any]]:
    return measure_levels(*args)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


# --- the plan ------------------------------------------------------------------------------------
def _plan(settings: dict[str, Any]) -> dict[tuple, tuple[Nodes | None, list | None]]:
    """Every network of a build: key -> (nodes, cell bits)."""
    from nash.space import cell_edges, create_strategy
    from nash.space.ops import OP_TABLE

    specs = _specs(settings)
    strategy = create_strategy(settings["version"])
    n_max = max(s.n_layers for s in specs)

    def empty() -> Nodes:
        return [[("zero", j) for j in range(s.n_layers)] for s in specs]

    def chain() -> Nodes:
        return [[(PROBE_OP, j) for j in range(s.n_layers)] for s in specs]

    def with_edges(probes: list[tuple[int, int, str]], require: bool = True) -> Nodes | None:
        """``probes`` (src, dst, op) in every cell that has all of them allowed (None if none does)."""
        nodes, any_cell = empty(), False
        for spec, cell in zip(specs, nodes):
            edges = {(e.src, e.dst): e for e in cell_edges(spec)}
            if not all((s, d) in edges and _measurable(strategy, edges[s, d], op) for s, d, op in probes):
                continue
            for s, d, op in probes:
                cell[d - 1] = (op, s)
            any_cell = True
        return nodes if any_cell or not require else None

    plan: dict[tuple, tuple[Nodes | None, list | None]] = {
        ("base",): (empty(), None),
        ("original",): (None, None),
    }
    for dst in range(1, n_max + 1):
        for src in range(dst):
            for op in settings["ops"]:
                nodes = with_edges([(src, dst, op)])
                if nodes is not None:
                    plan[("edge", src, dst, op)] = (nodes, None)
    pools = [op for op in settings["ops"] if OP_TABLE[op].kind in _POOL_KINDS]
    for i in range(n_max - 1):
        for op in [PROBE_OP, *pools]:
            nodes = with_edges([(i, i + 1, op), (i, i + 2, op)])
            if nodes is not None:
                plan[("share", i, op)] = (nodes, None)
    for i in range(1, n_max):
        nodes = with_edges([(i - 1, i, PROBE_OP), (i, i + 1, PROBE_OP)])
        if nodes is not None:
            plan[("context", i)] = (nodes, None)
    if len(settings["bits_candidates"]) > 1:
        plan[("chain",)] = (chain(), None)
    for tag in settings["bits_candidates"]:
        if tag == settings["bits"]:
            continue
        for parity in (0, 1):
            if any(c % 2 == parity for c in range(len(specs))):
                bits = [tag if c % 2 == parity else None for c in range(len(specs))]
                plan[("bits", tag, parity)] = (chain(), bits)
    return plan


def _measurable(strategy: Any, edge: Any, op: str) -> bool:
    return op in strategy.candidates(edge) and not strategy.forbidden(edge, op)


# --- assembling the table --------------------------------------------------------------------------
def _changed_max(layers: list[tuple[str, int]], ref: list[tuple[str, int]]) -> int:
    """Largest cycles among the layers of ``layers`` that ``ref`` does not have (multiset)."""
    extra = Counter(layers) - Counter(ref)
    return max((cycles for (_, cycles) in extra.elements()), default=0)


def _check_untouched(meas: dict, ref: dict, touched: set[int], what: str) -> None:
    for r in range(ref["costs"].shape[0]):
        if r in touched:
            continue
        same = np.allclose(meas["costs"][r], ref["costs"][r]) and Counter(meas["layers"][r]) == Counter(
            ref["layers"][r]
        )
        if not same:
            raise HardwareError(
                f"cost table: probe {what} changed region {r} it does not touch; the cells of this "
                "network cannot be measured apart"
            )


def _carriers(nodes: Nodes | None) -> list[int]:
    """Cells of a probe network that carry at least one NAS edge."""
    return [c for c, cell in enumerate(nodes or []) if any(op != "zero" for op, _ in cell)]


def _assemble(
    settings: dict[str, Any],
    plan: dict[tuple, tuple[Nodes | None, list | None]],
    results: dict[tuple, dict[str, Any]],
    info: dict[str, Any],
) -> CostTable:
    from nash.hw.devices import get_device
    from nash.space import cell_edges, create_strategy
    from nash.space.ops import OP_TABLE, OPS
    from nash.space.versions import REPLACEMENT_OP, NashV1

    specs = _specs(settings)
    strategy = create_strategy(settings["version"])
    n_cells, n_src, n_ops, n_res = len(specs), max(s.n_layers for s in specs), len(OPS), len(RESOURCES)
    cands = list(settings["bits_candidates"])
    base = results[("base",)]

    # single-edge deltas per cell, checked to leave every other region as in the base network
    delta: dict[tuple, np.ndarray] = {}
    peak: dict[tuple, int] = {}
    for key, (nodes, _) in plan.items():
        if key[0] not in ("edge", "share", "context"):
            continue
        meas, cells = results[key], _carriers(nodes)
        _check_untouched(meas, base, {c + 1 for c in cells}, " ".join(map(str, key)))
        for c in cells:
            delta[(c, *key)] = meas["costs"][c + 1] - base["costs"][c + 1]
            peak[(c, *key)] = _changed_max(meas["layers"][c + 1], base["layers"][c + 1])

    def d(c: int, src: int, dst: int, op: str) -> np.ndarray:
        return delta[(c, "edge", src, dst, op)]

    no_latency = np.array([1.0] * 4 + [0.0])  # the shared parts carry resources only (docstring)
    bare = np.zeros((n_cells, n_src, n_res))
    source_ops = np.zeros((n_cells, n_src, n_ops, n_res))
    context = np.zeros((n_cells, n_src, n_res))
    pools = [op for op in settings["ops"] if OP_TABLE[op].kind in _POOL_KINDS]
    for c, spec in enumerate(specs):
        for i in range(spec.n_layers - 1):
            pair = (c, "share", i, PROBE_OP)
            bare[c, i] = (d(c, i, i + 1, PROBE_OP) + d(c, i, i + 2, PROBE_OP) - delta[pair]) * no_latency
            for op in pools:
                if (c, "share", i, op) in delta:
                    saved = d(c, i, i + 1, op) + d(c, i, i + 2, op) - delta[(c, "share", i, op)]
                    source_ops[c, i, OPS.index(op)] = (saved - bare[c, i]) * no_latency
        for i in range(1, spec.n_layers):
            both = delta[(c, "context", i)]
            context[c, i] = (both - d(c, i - 1, i, PROBE_OP) - d(c, i, i + 1, PROBE_OP)) * no_latency

    n_rows = sum(s.n_layers * (s.n_layers + 1) // 2 for s in specs)
    edges = np.zeros((n_rows, n_ops, n_res))
    allowed = np.zeros((n_rows, n_ops), dtype=bool)
    max_cycles = np.zeros((n_rows, n_ops), dtype=int)
    row = 0
    for c, spec in enumerate(specs):
        for edge in cell_edges(spec):
            for k, op in enumerate(OPS):
                key = (c, "edge", edge.src, edge.dst, op)
                if key in delta:
                    own = delta[key] - bare[c, edge.src] - source_ops[c, edge.src, k]
                    edges[row, k], allowed[row, k], max_cycles[row, k] = own, True, peak[key]
            for k, op in enumerate(OPS):  # v1 turns a forbidden op into conv_1x1 after derivation
                if (
                    isinstance(strategy, NashV1)
                    and op in strategy.candidates(edge)
                    and strategy.forbidden(edge, op)
                ):
                    rep = OPS.index(REPLACEMENT_OP)
                    if allowed[row, rep]:
                        edges[row, k], allowed[row, k], max_cycles[row, k] = (
                            edges[row, rep],
                            True,
                            max_cycles[row, rep],
                        )
            row += 1

    cell_bits = np.zeros((n_cells, len(cands), n_res))
    bits_max = np.zeros((n_cells, len(cands)), dtype=int)
    for key, (_, bits) in plan.items():
        if key[0] != "bits":
            continue
        meas, ref, b = results[key], results[("chain",)], cands.index(key[1])
        changed = [c for c, tag in enumerate(bits) if tag is not None]
        _check_untouched(meas, ref, {r for c in changed for r in (c + 1, c + 2)}, " ".join(map(str, key)))
        for c in changed:
            cell_bits[c, b] = sum(meas["costs"][r] - ref["costs"][r] for r in (c + 1, c + 2))
            bits_max[c, b] = max(_changed_max(meas["layers"][r], ref["layers"][r]) for r in (c + 1, c + 2))

    hw = _hw(settings)
    device = get_device(hw.device) if hw.device else None
    budget = None
    if device is not None:
        budget = {"device": device.name, **device.capacity(), "utilization": hw.utilization}
    original = results[("original",)]
    info = {**info, "unsupported": base["unsupported"]}
    return CostTable(
        settings=settings,
        resources=RESOURCES,
        ops=OPS,
        cell_layers=tuple(s.n_layers for s in specs),
        downsample=tuple(bool(s.downsample) for s in specs),
        base=base["costs"].sum(axis=0),
        edges=edges,
        allowed=allowed,
        sources=bare + context,
        sources_bare=bare,
        source_ops=source_ops,
        bits=tuple(cands),
        ref_bits=settings["bits"],
        cell_bits=cell_bits,
        max_cycles=max_cycles,
        bits_max_cycles=bits_max,
        base_max_cycles=base["max_cycles"],
        original=original["costs"].sum(axis=0),
        original_max_cycles=original["max_cycles"],
        device_budget=budget,
        clock_ns=float(hw.clock_ns or (device.clock_ns if device else 5.0)),
        target_fps=float(hw.target_fps),
        info=info,
    )


# --- the builder ---------------------------------------------------------------------------------
def build_cost_table(
    backbone: str = "resnet18",
    *,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    workers: int = 1,
    **settings: Any,
) -> CostTable:
    """Measure the cost table of the deployed ``backbone`` (see the module docstring).

    Args:
        backbone: ``resnet18`` | ``resnet34``.
        settings: the deployment, as :func:`table_settings` takes it: ``version`` (NASH strategy:
            which ops each edge may carry), ``bits`` (reference main-branch bits of every cell),
            ``bits_candidates`` (per-cell candidates; the reference is always included),
            ``input_shape``, ``num_classes``, ``width``, ``stem``, ``recipe`` (model options, e.g.
            ``reference``), ``cell_layers``, ``hw`` (must be ``fold=target_fps``; default 324.5 fps
            at 5 ns, finn-plus), ``ops`` (non-zero ops to measure; ``conv_1x1`` always is).
        cache_dir: load a table built with identical settings from here instead of rebuilding,
            and store a new one there.
        progress: tqdm bar, one tick per export.
        workers: processes exporting in parallel (spawned; each imports torch once).

    Raises:
        ConfigError: bad settings (see :func:`table_settings`).
        HardwareError: a probe network could not be separated into cells.
    """
    return _build_tables([table_settings(backbone, **settings)], cache_dir, progress, workers)[0]


def build_fit_ladder(
    backbone: str = "resnet18",
    *,
    fps_levels: Sequence[float],
    cache_dir: str | Path | None = None,
    progress: bool = True,
    workers: int = 1,
    **settings: Any,
) -> Any:
    """A :class:`~nash.hw.fit_ladder.FitLadder`: one cost table per SetFolding target in ``fps_levels``.

    ``settings`` are :func:`build_cost_table`'s (``hw`` must name a device: the ladder answers
    "the fastest level that fits it"); ``hw.target_fps`` is replaced by each level. Every probe
    network is exported once and folded at every level, so a ladder costs the exports of one table
    plus a little folding per level; each level is cached like a single table (a table built
    before for one of the levels is reused, and a level built here serves a fixed-fps search).

    Raises:
        ConfigError: no device, fewer than two levels, or a level that is not a positive number.
    """
    from nash.hw.fit_ladder import FitLadder, check_levels

    levels = check_levels(fps_levels)
    hw = settings.pop("hw", None) or DEFAULT_HW
    if not hw.device:
        raise ConfigError("a device-fit ladder needs a device (e.g. --hw-device U250): it asks what fits it")
    per_level = [
        table_settings(backbone, hw=dataclasses.replace(hw, target_fps=fps), **settings) for fps in levels
    ]
    return FitLadder(tuple(_build_tables(per_level, cache_dir, progress, workers)))


def _build_tables(
    levels: list[dict[str, Any]], cache_dir: str | Path | None, progress: bool, workers: int
) -> list[CostTable]:
    """The tables of ``levels`` (settings equal but for the folding target): cached ones loaded,
    the others measured together (one export per probe network)."""
    paths = [
        None if cache_dir is None else Path(cache_dir) / f"cost_table_{settings_key(s)[:16]}.json"
        for s in levels
    ]
    tables: list[CostTable | None] = [None] * len(levels)
    for n, (settings, cache) in enumerate(zip(levels, paths)):
        if cache is not None and cache.is_file():
            table = CostTable.load(cache, settings)
            tables[n] = dataclasses.replace(table, info={**table.info, "cache": "hit", "exports": 0})
    todo = [n for n, t in enumerate(tables) if t is None]
    if todo:
        start = time.perf_counter()
        plan = _plan(levels[todo[0]])
        results = _run([levels[n] for n in todo], plan, progress, workers)
        seconds = round(time.perf_counter() - start, 1)
        for m, n in enumerate(todo):
            info = {"networks": len(plan), "exports": len(plan), "build_seconds": seconds, "workers": workers}
            info["cache"] = "miss" if paths[n] is not None else "none"
            if len(todo) > 1:
                info["levels_built_together"] = len(todo)
            table = _assemble(levels[n], plan, {k: v[m] for k, v in results.items()}, info)
            if paths[n] is not None:
                table.save(paths[n])
            tables[n] = table
    return [t for t in tables if t is not None]


def _run(
    levels: list[dict[str, Any]], plan: dict[tuple, tuple[Any, Any]], progress: bool, workers: int
) -> dict[tuple, list[dict[str, Any]]]:
    """Per plan key, the measured summary at each level."""
    keys = list(plan)
    out = _map(_job, [(levels, *plan[k]) for k in keys], workers, progress, "cost table")
    return dict(zip(keys, out))


def _map(func: Any, jobs: list[Any], workers: int, progress: bool, desc: str) -> list[Any]:
    """``[func(job) for job in jobs]``, in ``workers`` spawned processes when > 1; one tick per job."""
    results: list[Any] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc=desc, unit="export", disable=not progress)
    try:
        if workers <= 1 or len(jobs) <= 1:
            for n, job in enumerate(jobs):
                results[n] = func(job)
                bar.update(1)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            ctx = multiprocessing.get_context("spawn")
            n_proc = min(workers, len(jobs))
            with ProcessPoolExecutor(n_proc, mp_context=ctx, initializer=_init_worker) as pool:
                futures = {pool.submit(func, job): n for n, job in enumerate(jobs)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update(1)
    finally:
        bar.close()
    return results


def _totals(est: Estimate) -> dict[str, Any]:
    return {
        **{r: float(est.totals[r]) for r in RESOURCES[:4]},
        "latency_cycles": float(est.critical_path_cycles),
        "max_cycles": int(est.max_cycles),
        "fps": float(est.fps),
    }


def _estimate_job(args: tuple[dict[str, Any], Any, Any, tuple, bool]) -> dict[str, Any]:
    settings, cells, bits, levels, fit = args
    from nash.hw.api import estimate_lowered

    cfg, lowered = _hw(settings), lower_network(settings, cells, bits)
    out = _totals(estimate_lowered(lowered, cfg))
    if levels:
        out["levels"] = [
            _totals(estimate_lowered(lowered, dataclasses.replace(cfg, target_fps=fps))) | {"target_fps": fps}
            for fps in levels
        ]
    if fit:  # FINN-style device fit (nash hw estimate --fit)
        est = estimate_lowered(lowered, dataclasses.replace(cfg, fold=FoldMode.FIT))
        out["fit"] = _totals(est) | {"fits": bool(est.fits)}
    return out


def estimate_networks(
    settings: dict[str, Any],
    networks: Sequence[tuple[Any, Any]],
    *,
    workers: int = 1,
    progress: bool = False,
    levels: Sequence[float] = (),
    fit: bool = False,
) -> list[dict[str, Any]]:
    """Full estimates of several ``(cells, bits)`` networks (:func:`estimate_network`), each as
    ``{lut, bram18, uram, dsp, latency_cycles, max_cycles, fps}`` -- what ``CostTable.predict``
    approximates. ``workers > 1`` exports in spawned processes.

    With ``levels`` (fps targets) each result also has ``levels``: the same totals folded for each
    target (one export per network); with ``fit`` (settings with a device) ``fit``: the totals of
    the fastest SetFolding that fits the device, and ``fits`` -- what ``FitLadder.fit`` approximates.
    """
    jobs = [(settings, cells, bits, tuple(levels), fit) for cells, bits in networks]
    return _map(_estimate_job, jobs, workers, progress, "full estimates")
