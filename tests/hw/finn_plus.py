"""``nash hw estimate --generation finn-plus`` against the real FINN+ flow, layer by layer.

Shared by ``test_finn_plus.py`` and ``bench/hw_vs_finn_bench.py``. FINN+ runs through
``nash.finn.build`` (its own SetFolding for a target fps); its final folding config (keys = FINN+
node names) is then applied to our lowering of the same file, so both sides cost the same folding.
FINN+'s node names are mapped onto ours by graph structure (``match``). Per layer the kind, cycles,
LUT, BRAM18, URAM and DSP are compared; the one known difference is a standalone Thresholding's
threshold width (``THRESHOLD_CAUSE``; docs/hw.md, "finn-plus vs FINN+").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FIELDS = ("cycles", "lut", "bram18", "uram", "dsp")
_FINN_KEYS = {"lut": "LUT", "bram18": "BRAM_18K", "uram": "URAM", "dsp": "DSP"}

THRESHOLD_CAUSE = (
    "threshold datatype: FINN+ minimises it from the rounded and clipped threshold values "
    "(MinimizeWeightBitWidth on Thresholding); nash.hw, which never computes the thresholds, assumes "
    "the input's type. Costed with FINN+'s threshold width, our number is FINN+'s exactly"
)


def export_brevitas(name: str, out: Path) -> Path:
    """Brevitas bnn_pynq example ``name`` (untrained, seed 0) exported to QONNX and cleaned up."""
    import torch
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    torch.manual_seed(0)
    model, _ = model_with_cfg(name, pretrained=False)
    image = name.startswith("cnv")
    path = out / f"{name}.onnx"
    export_qonnx(model.eval(), torch.rand(1, 3, 32, 32) if image else torch.rand(1, 784), str(path))
    model = cleanup_model(ModelWrapper(str(path)))
    if not image:  # TFC: drop the flatten of its input (exported at 1x784 it is a no-op Reshape), which
        # nash.finn would leave outside the dataflow partition, and read 8-bit integers as FINN's TFC does
        first = model.graph.node[0]
        if first.op_type == "Reshape":
            for node in model.graph.node:
                node.input[:] = [first.input[0] if t == first.output[0] else t for t in node.input]
            model.graph.node.remove(first)
            model = cleanup_model(model)
        from qonnx.core.datatype import DataType

        model.set_tensor_datatype(model.graph.input[0].name, DataType["UINT8"])
    model.save(str(path))
    return path


def export_resnet(
    version: str,
    out: Path,
    input_shape: str = "1x32x32",
    classes: int = 10,
    width: int = 8,
    stem: str = "small",
) -> Path:
    """Untrained ResNet18 w2a2 (original ``o`` or the paper's NASH genotype ``v3``), seed 0."""
    import torch

    from nash.hw.from_arch import export_arch

    genotype = None
    if version != "o":
        from nash.space.reference import PACKAGED_REFERENCE, load_reference_genotypes

        genotype = str(out / f"paper-{version}.json")
        load_reference_genotypes(PACKAGED_REFERENCE)[version].save(genotype)
    torch.manual_seed(0)
    d = out / f"resnet18-{version}-{input_shape}"
    d.mkdir(parents=True, exist_ok=True)
    return Path(
        export_arch(
            "resnet18",
            bits="w2a2",
            input_shape=input_shape,
            num_classes=classes,
            genotype=genotype,
            strategy=None if version == "o" else version,
            width=width,
            stem=stem,
            out_dir=str(d),
        )
    )


def export_resnet_cells(
    version: str, cells: tuple[int, ...], out: Path, input_shape: str = "1x32x32", width: int = 8
) -> Path:
    """Untrained w2a2 NASH network of only ``cells`` of the paper's ResNet18 ``version`` genotype
    (stem, those cells, head; small stem, 10 classes, seed 0), exported as ``export_arch`` does.

    ``cells=(1, 2)`` are built exactly as in the whole network (cell 0, left out, keeps the stem's
    width and resolution): for NASH-v3 the first two downsampling cells, with conv 5x5, conv 1x1,
    max-pool and identity edges. FINN+'s build time grows about with the square of the node count:
    these two cells compile about 4x faster than the whole ResNet18 of ``export_resnet``."""
    import torch

    from nash.config.recipes import DEFAULT_RECIPE, recipe_overrides
    from nash.export import export_model
    from nash.hw.from_arch import parse_input_shape
    from nash.models import ModelOptions, QuantSpec
    from nash.models.resnet import NashResNet
    from nash.space import cell_specs
    from nash.space.reference import PACKAGED_REFERENCE, load_reference_genotypes

    genotype = load_reference_genotypes(PACKAGED_REFERENCE)[version]
    specs = cell_specs("resnet18", genotype.cell_layers)
    shape = parse_input_shape(input_shape)
    options = ModelOptions.from_dict(recipe_overrides(DEFAULT_RECIPE, "train").get("model"))
    torch.manual_seed(0)
    model = NashResNet(
        [specs[k] for k in cells],
        QuantSpec.from_tag("w2a2", version=version),
        10,
        [genotype.cells[k] for k in cells],
        in_channels=shape[0],
        width=width,
        stem="small",
        options=options,
    )
    d = out / f"resnet18-{version}-cells{''.join(map(str, cells))}-{input_shape}"
    d.mkdir(parents=True, exist_ok=True)
    meta = {"backbone": "resnet18", "bits": "w2a2", "version": version}
    return Path(export_model(model.eval(), shape, d / "model.onnx", metadata=meta))


def finn_plus(onnx_path: Path, out: Path, target_fps: float, clock_ns: float = 5.0) -> dict[str, Any]:
    """FINN+ (``nash.finn.build``, with LabelSelect) at ``target_fps``: summary + final folding config."""
    from nash.finn import build

    return finn_plus_result(
        build(onnx_path, out, target_fps=target_fps, clock_ns=clock_ns, progress=False), out
    )


def finn_plus_result(summary: dict[str, Any], out: Path) -> dict[str, Any]:
    """``finn_plus``'s result for a FINN+ build already in ``out`` (``summary``: its ``finn_build.json``)."""
    dataflow = out / "intermediate_models" / "dataflow.onnx"
    return {
        "summary": summary,
        "folding_file": out / "report" / "final_folding_config.json",
        "threshold_bits": threshold_bits(dataflow),
        "graph": finn_graph(dataflow),
    }


_SIG_ATTRS = (
    "MW",
    "MH",
    "NumChannels",
    "IFMChannels",
    "Channels",
    "Labels",
    "ConvKernelDim",
    "KernelSize",
    "Stride",
    "IFMDim",
    "numSteps",
)


def finn_graph(dataflow_onnx: Path) -> list[dict[str, Any]]:
    """FINN+'s HW layers in graph order: name, kind, producer names and a shape signature."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    model = ModelWrapper(str(dataflow_onnx))
    rows = []
    for n in model.graph.node:
        inst = getCustomOp(n)
        known = inst.get_nodeattr_types()
        sig = {}
        for a in _SIG_ATTRS:
            if a in known:
                v = inst.get_nodeattr(a)
                sig[a] = tuple(int(x) for x in v) if isinstance(v, list | tuple) else v
        if not any(a in sig for a in ("NumChannels", "IFMChannels", "Channels", "Labels", "MH")):
            sig["NumChannels"] = int(inst.get_normal_output_shape()[-1])  # e.g. ElementwiseAdd
        preds = [p.name for t in n.input if (p := model.find_producer(t)) is not None]
        rows.append({"name": n.name, "kind": n.op_type, "preds": preds, "sig": _norm_sig(sig)})
    return rows


def _norm_sig(sig: dict[str, Any]) -> tuple:
    chans = next((sig[a] for a in ("NumChannels", "IFMChannels", "Channels", "Labels") if a in sig), None)
    kernel = sig.get("ConvKernelDim", sig.get("KernelSize"))
    if isinstance(kernel, int):
        kernel = (kernel, kernel)
    return (
        sig.get("MW"),
        sig.get("MH", chans),
        kernel,
        sig.get("Stride"),
        sig.get("IFMDim"),
        sig.get("numSteps"),
    )


def _our_sig(la: Any) -> tuple:
    chans = getattr(la, "mh", None) or la.channels
    kernel = getattr(la, "kernel", None)
    if la.kind == "VVAU":
        kernel = None
    stride = getattr(la, "stride", None) if la.kind == "ConvolutionInputGenerator" else None
    ifm = tuple(la.ifm_dim) if la.kind == "ConvolutionInputGenerator" else None
    steps = la.num_steps if la.kind == "Thresholding" else None
    return (
        getattr(la, "mw", None),
        chans,
        tuple(kernel) if kernel else None,
        tuple(stride) if stride else None,
        ifm,
        steps,
    )


def _wl_colors(nodes: list[tuple[str, tuple, list[str]]], rounds: int = 12) -> dict[str, int]:
    """Weisfeiler-Lehman colours of a DAG given as (name, label, producer names): each round a node's
    colour becomes its label with the sorted colours of its producers and of its consumers."""
    succs: dict[str, list[str]] = {n: [] for n, _, _ in nodes}
    for n, _, preds in nodes:
        for p in preds:
            succs[p].append(n)
    color = {n: hash(label) for n, label, _ in nodes}
    for _ in range(rounds):
        color = {
            n: hash(
                (label, tuple(sorted(color[p] for p in preds)), tuple(sorted(color[c] for c in succs[n])))
            )
            for n, label, preds in nodes
        }
    return color


def match(layers: Any, graph: list[dict[str, Any]]) -> dict[str, str]:
    """FINN+ node name -> our layer name, by graph structure. Names alone do not do: parallel
    branches of a NASH cell are numbered in a different order on the two sides. Both graphs get
    Weisfeiler-Lehman colours from (FINN+ op type, shape signature) and their producers and
    consumers; in FINN+'s order each node takes the first unused layer of ours with its colour
    whose producers map to its producers. Layers left with equal colours are interchangeable."""
    ours = list(layers)
    c_ours = _wl_colors([(la.name, (kind(la.name), _our_sig(la)), list(la.preds)) for la in ours])
    c_finn = _wl_colors([(n["name"], (n["kind"], n["sig"]), n["preds"]) for n in graph])
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for node in graph:
        want_preds = sorted(mapping.get(p, "?") for p in node["preds"])
        for la in ours:
            if (
                la.name not in used
                and c_ours[la.name] == c_finn[node["name"]]
                and sorted(la.preds) == want_preds
            ):
                mapping[node["name"]] = la.name
                used.add(la.name)
                break
    return mapping


def renamed_folding(folding_file: Path, mapping: dict[str, str], out: Path) -> Path:
    """FINN+'s folding config with its node names replaced by ours (``mapping``)."""
    cfg = json.loads(folding_file.read_text())
    renamed = {mapping.get(k, k): v for k, v in cfg.items()}
    out.write_text(json.dumps(renamed, indent=1))
    return out


def threshold_bits(dataflow_onnx: Path) -> dict[str, int]:
    """Threshold datatype width FINN+ chose for each Thresholding layer of its final graph."""
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    model = ModelWrapper(str(dataflow_onnx))
    return {
        n.name: DataType[getCustomOp(n).get_nodeattr("weightDataType")].bitwidth()
        for n in model.graph.node
        if n.op_type.startswith("Thresholding")
    }


def ours(onnx_path: Path, folding_file: Path, clock_ns: float = 5.0, graph: list | None = None) -> Any:
    """``nash hw estimate --generation finn-plus --folding <FINN+'s folding>`` on the same file.

    With ``graph`` (``finn_graph``) FINN+'s node names are first mapped onto ours (``match``); the
    estimate then carries ``finn_names`` (our name -> FINN+'s)."""
    from nash.config.hw import HwConfig
    from nash.hw import estimate_model, lower_model, lowering_options

    if graph is not None:
        base = HwConfig(generation="finn-plus", label_select=True)
        mapping = match(lower_model(onnx_path, lowering_options(base)).layers, graph)
        folding_file = renamed_folding(folding_file, mapping, folding_file.with_name("folding_ours.json"))
    cfg = HwConfig(
        fold="file",
        folding_file=str(folding_file),
        generation="finn-plus",
        clock_ns=clock_ns,
        label_select=True,
    )
    est = estimate_model(onnx_path, cfg)
    if graph is not None:
        object.__setattr__(est, "settings", est.settings | {"finn_names": {v: k for k, v in mapping.items()}})
    return est


def kind(name: str) -> str:
    """FINN+ node name -> op kind (``MVAU_hls_3`` -> ``MVAU_hls``)."""
    return re.sub(r"_\d+$", "", name)


def _cost(layer: Any) -> Any:
    from nash.hw.costs import CostContext

    return layer.cost(CostContext(generation="finn-plus"))


def compare(est: Any, summary: dict[str, Any], thr_bits: dict[str, int] | None = None) -> dict[str, Any]:
    """Per-layer agreement of our estimate with FINN+'s: rows, differences, counts.

    A Thresholding layer whose resources differ only because FINN+ minimised its threshold type from
    the values (``thr_bits``, FINN+'s widths) is a *known* difference when our formula, given
    FINN+'s width, reproduces FINN+'s numbers exactly; anything else is a difference.
    """
    import dataclasses

    thr_bits = thr_bits or {}
    to_finn = est.settings.get("finn_names") or {}
    theirs = {r["name"]: r for r in summary["layers"]}
    mine = {to_finn.get(la.name, la.name): (la, c) for la, c in zip(est.layers, est.costs)}
    rows, diffs, known = [], [], []
    for name in list(theirs) + [n for n in mine if n not in theirs]:
        t, m = theirs.get(name), mine.get(name)
        row: dict[str, Any] = {"name": name, "in_finn": t is not None, "in_ours": m is not None}
        if t is None or m is None:
            diffs.append({"name": name, "field": "layer", "ours": m is not None, "finn": t is not None})
            rows.append(row)
            continue
        la, c = m
        alt = None
        if la.kind == "Thresholding" and name in thr_bits and thr_bits[name] != la.threshold_bits:
            alt = _cost(dataclasses.replace(la, threshold_bits=thr_bits[name]))
        for f in FIELDS:
            o = int(c.cycles) if f == "cycles" else float(getattr(c, f))
            v = int(t["cycles"]) if f == "cycles" else float(t[_FINN_KEYS[f]])
            row[f] = (o, v)
            if o == v:
                continue
            d = {"name": name, "field": f, "ours": o, "finn": v}
            if alt is not None and float(getattr(alt, f)) == v:
                known.append(
                    d
                    | {"cause": f"{THRESHOLD_CAUSE} (FINN+ {thr_bits[name]} bits, ours {la.threshold_bits})"}
                )
            else:
                diffs.append(d)
        rows.append(row)
    exact = sum(1 for r in rows if r["in_finn"] and r["in_ours"] and all(r[f][0] == r[f][1] for f in FIELDS))
    return {
        "rows": rows,
        "diffs": diffs,
        "known": known,
        "layers": len(rows),
        "exact": exact,
        "kinds_equal": all(r["in_finn"] and r["in_ours"] for r in rows),
    }


def table(result: dict[str, Any]) -> str:
    """Readable per-layer comparison: ours / FINN+ for each field that differs."""
    lines = []
    for r in result["rows"]:
        if not (r["in_finn"] and r["in_ours"]):
            lines.append(f"  {r['name']:<36} only in {'FINN+' if r['in_finn'] else 'ours'}")
            continue
        bad = [f"{f} {r[f][0]:g}/{r[f][1]:g}" for f in FIELDS if r[f][0] != r[f][1]]
        lines.append(f"  {r['name']:<36} {'equal' if not bad else 'ours/FINN+: ' + ', '.join(bad)}")
    return "\n".join(lines)
