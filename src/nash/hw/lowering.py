"""Lower a QONNX graph to the dataflow layers a FINN build would create (graph analysis, no FINN).

The walk visits ONNX nodes in topological order and tracks, for every dynamic tensor, which
layer's stream carries it (``LoweringState``). Streamlining is modelled by *absorbing* shape-only
ops, BatchNorm and constant scale/bias ops (their output is the same stream), and by fusing a
quantised activation into the MVAU that feeds it exclusively (finn-cost-model.md §9.3-§9.4).
Everything a FINN build would turn into hardware becomes a layer of a registered kind
(``nash.hw.kinds``); anything else is rejected. ``dry_run`` reports the per-node verdicts without
raising (the export's conformance check is built on it); ``lower_model`` raises
``UnsupportedOpError`` listing every rejected node. The per-op handlers live in ``lower_ops.py``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

from nash.errors import HardwareError, UnsupportedOpError
from nash.hw.datatypes import int_type
from nash.hw.graph import QUANT_OPS, load_graph, weight_info
from nash.hw.kinds import create_layer
from nash.hw.layers import HwLayer
from nash.hw.lower_ops import HANDLERS, add_label_select
from nash.hw.state import LoweringOptions, LoweringState, Rejection

__all__ = [
    "LoweringOptions",
    "LoweredGraph",
    "Rejection",
    "lower_model",
    "dry_run",
    "ABSORBED_OPS",
    "SCALE_OPS",
    "SUPPORTED_OPS",
]

# Ops removed by streamlining (shape-only, BN and activations folded into thresholds).
ABSORBED_OPS = frozenset(
    {
        "Reshape",
        "Flatten",
        "Transpose",
        "Squeeze",
        "Unsqueeze",
        "Identity",
        "Dropout",
        "Cast",
        "BatchNormalization",
        "Relu",
        "Clip",
        "Trunc",
    }
)
SCALE_OPS = frozenset({"Mul", "Div", "Add", "Sub"})  # absorbed when one input is constant
# Op types the lowering can map in some configuration (each node is still checked on its own).
SUPPORTED_OPS = frozenset(HANDLERS) | ABSORBED_OPS | SCALE_OPS | {"Constant", "Shape"}


@dataclass(frozen=True)
class LoweredGraph:
    """Dataflow layers in graph order plus what was absorbed and which assumptions were made."""

    layers: tuple[HwLayer, ...]
    absorbed: tuple[tuple[str, str], ...]  # (onnx node name, op type)
    assumptions: tuple[str, ...]
    outputs: tuple[str, ...]  # names of the layers producing the graph outputs
    warnings: tuple[str, ...] = ()  # assumptions a user must see (float tensors), one line each


def _visit_const(st: LoweringState, node: Any) -> None:
    st.consts.update(node.output)
    if node.op_type in QUANT_OPS:
        st.weights[node.output[0]] = weight_info(st.model, node)
    elif node.op_type in ("Identity", "Cast") and node.input[0] in st.weights:
        st.weights[node.output[0]] = st.weights[node.input[0]]


def _absorb(st: LoweringState, node: Any) -> None:
    x = next(t for t in node.input if not st.is_const(t))
    s = st.stream(x)
    dtype = s.dtype
    if node.op_type == "Trunc":  # requantisation: output width is input 4 (QONNX Trunc)
        bits = st.model.get_initializer(node.input[4])
        dtype = int_type(int(bits), bool(dtype.signed) if dtype else True) if bits is not None else dtype
    st.set_stream(node.output[0], s.src, dtype, s.exclusive and st.n_consumers[x] == 1)
    st.absorbed.append((node.name, node.op_type))


def _visit(st: LoweringState, node: Any) -> None:
    dynamic = [t for t in node.input if not st.is_const(t)]
    if not dynamic or node.op_type in ("Constant", "Shape"):
        _visit_const(st, node)
    elif node.op_type in ABSORBED_OPS or (node.op_type in SCALE_OPS and len(dynamic) == 1):
        _absorb(st, node)
    elif node.op_type in HANDLERS:
        HANDLERS[node.op_type](st, node)
    else:
        st.reject(node)  # the walk goes on so that every unsupported op gets reported


def _walk(model: Any, opts: LoweringOptions) -> LoweringState:
    st = LoweringState(load_graph(model), opts)
    graph = st.model.graph
    st.consts.update(i.name for i in graph.initializer)
    for node in graph.node:
        for t in node.input:
            st.n_consumers[t] += 1
    for inp in graph.input:
        if inp.name not in st.consts:
            st.set_stream(inp.name, None, None, st.n_consumers[inp.name] == 1)
    for node in graph.node:
        _visit(st, node)
    return st


def dry_run(model: Any, opts: LoweringOptions | None = None) -> tuple[Rejection, ...]:
    """Walk ``model`` as ``lower_model`` does and return the rejected nodes (empty: FINN can map it).

    Read-only: the model is copied before shape inference.
    """
    return tuple(_walk(model, opts or LoweringOptions()).rejected)


def _insert_duplicates(layers: list[HwLayer]) -> list[HwLayer]:
    uses = Counter(p for layer in layers for p in layer.preds)
    out: list[HwLayer] = []
    rename: dict[str, str] = {}
    for layer in layers:
        layer = dataclasses.replace(layer, preds=tuple(rename.get(p, p) for p in layer.preds))
        out.append(layer)
        if uses[layer.name] >= 2:
            dup = f"{layer.name}d"
            rename[layer.name] = dup
            chans, niv = layer.out_channels, layer.out_niv
            out.append(
                create_layer(
                    "DuplicateStreams",
                    name=dup,
                    preds=(layer.name,),
                    channels=chans,
                    niv=niv,
                    n_outputs=uses[layer.name],
                    input_bits=layer.output_bits,
                    input_signed=layer.output_signed,
                    output_bits=layer.output_bits,
                    output_signed=layer.output_signed,
                    out_channels=chans,
                    out_niv=niv,
                )
            )
    return out


def _finalize(layers: list[HwLayer], opts: LoweringOptions) -> tuple[list[HwLayer], dict[str, str]]:
    # Back-ends as SpecializeLayers picks them (§5), then FINN names per generation (§7.1).
    layers = [
        dataclasses.replace(la, backend=la.pick_backend(opts.generation, opts.dsp_block)) for la in layers
    ]
    counters: Counter = Counter()
    names: dict[str, str] = {}
    for layer in layers:
        prefix = layer.finn_prefix(opts.generation)
        names[layer.name] = f"{prefix}_{counters[prefix]}"
        counters[prefix] += 1
    named = [
        dataclasses.replace(la, name=names[la.name], preds=tuple(names[p] for p in la.preds)) for la in layers
    ]
    return named, names


def lower_model(model: Any, opts: LoweringOptions | None = None) -> LoweredGraph:
    """Lower an ONNX/QONNX model (path, ModelProto or ModelWrapper) to FINN-style dataflow layers.

    Raises:
        UnsupportedOpError: the graph holds ops no dataflow layer implements (all of them listed).
    """
    st = _walk(model, opts or LoweringOptions())
    if st.rejected:
        raise UnsupportedOpError(
            f"no dataflow layer for {len(st.rejected)} node(s): {', '.join(map(str, st.rejected))}; "
            "remove or replace these ops before the hardware estimate"
        )
    if not st.layers:
        raise HardwareError(
            "the model lowers to no dataflow layers (only shape, constant or scale ops); nothing to estimate"
        )
    graph = st.model.graph
    outputs = [st.stream(o.name).src for o in graph.output if o.name in st.streams]
    outputs = add_label_select(st, [o for o in outputs if o is not None])
    named, names = _finalize(_insert_duplicates(st.layers), st.opts)
    return LoweredGraph(
        tuple(named),
        tuple(st.absorbed),
        tuple(st.assumptions),
        tuple(names[o] for o in outputs),
        st.warnings(),
    )
