"""Lower a QONNX graph to the dataflow layers a FINN build would create (graph analysis, no FINN).

The walk visits ONNX nodes in topological order and tracks, for every dynamic tensor, which
layer's stream carries it (``_Stream``). Streamlining is modelled by *absorbing* shape-only ops,
BatchNorm and constant scale/bias ops (their output is the same stream), and by fusing a quantised
activation into the MVAU that feeds it exclusively (finn-cost-model.md §9.3-§9.4). Everything a
FINN build would turn into hardware becomes an ``HwLayer``; anything else is collected and reported
as ``UnsupportedOpError``. The per-op handlers live in ``lower_ops.py``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from nash.errors import UnsupportedOpError
from nash.hw.datatypes import DType, int_type
from nash.hw.graph import QUANT_OPS, load_graph, weight_info
from nash.hw.layers import HwLayer, node_prefix

__all__ = ["LoweringOptions", "LoweredGraph", "lower_model", "ABSORBED_OPS"]

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
SCALE_OPS = frozenset({"Mul", "Div", "Add", "Sub"})


@dataclass(frozen=True)
class LoweringOptions:
    """Choices that change which layers and datatypes the lowering produces."""

    generation: str = "current"  # "current" | "finn-0.9" (back-ends and node names)
    label_select: bool = False  # append LabelSelect to the classifier output (FINN does when asked)
    minimize_bit_width: bool = True  # §8 weight/accumulator minimisation when weights are stored
    input_dtype: DType = int_type(8, False)  # assumed type of unquantised (float) streams
    float_weight_bits: int = 8  # assumed width of unquantised float weights
    dsp_block: str = "DSP48E2"  # DSP primitive of the target part (decides MVAU_rtl eligibility)
    mem_mode: str = "internal_decoupled"  # default MVAU weight memory mode


@dataclass(frozen=True)
class LoweredGraph:
    """Dataflow layers in graph order plus what was absorbed and which assumptions were made."""

    layers: tuple[HwLayer, ...]
    absorbed: tuple[tuple[str, str], ...]  # (onnx node name, op type)
    assumptions: tuple[str, ...]
    outputs: tuple[str, ...]  # names of the layers producing the graph outputs


@dataclass
class _Stream:
    src: str | None  # temporary id of the producing layer; None = graph input
    dtype: DType | None  # None = float (not quantised)
    exclusive: bool  # every tensor from the producer up to here has a single consumer


@dataclass
class _State:
    model: Any
    opts: LoweringOptions
    layers: list[HwLayer] = field(default_factory=list)
    streams: dict[str, _Stream] = field(default_factory=dict)
    consts: set[str] = field(default_factory=set)
    weights: dict[str, Any] = field(default_factory=dict)
    absorbed: list[tuple[str, str]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    n_consumers: Counter = field(default_factory=Counter)

    def shape(self, tensor: str) -> tuple[int, ...]:
        """Static shape of ``tensor`` (from shape inference)."""
        return tuple(int(d) for d in self.model.get_tensor_shape(tensor))

    def note(self, text: str) -> None:
        """Record an assumption once."""
        if text not in self.assumptions:
            self.assumptions.append(text)

    def add(self, op_type: str, **fields: Any) -> str:
        """Append a layer with a temporary id and return the id."""
        tmp = f"#{len(self.layers)}"
        self.layers.append(HwLayer(name=tmp, op_type=op_type, **fields))
        return tmp

    def replace(self, tmp: str, **changes: Any) -> None:
        """Replace fields of the layer with temporary id ``tmp``."""
        i = int(tmp[1:])
        self.layers[i] = dataclasses.replace(self.layers[i], **changes)

    def layer(self, tmp: str) -> HwLayer:
        """The layer with temporary id ``tmp``."""
        return self.layers[int(tmp[1:])]

    def stream(self, tensor: str) -> _Stream:
        """The stream carrying dynamic ``tensor``."""
        return self.streams[tensor]

    def in_dtype(self, tensor: str, who: str) -> DType:
        """Integer type of a stream; float streams get the assumed input type (noted)."""
        dt = self.streams[tensor].dtype
        if dt is None:
            self.note(f"{who}: input {tensor!r} is not quantised; assumed {self.opts.input_dtype}")
            return self.opts.input_dtype
        return dt

    def preds(self, *tensors: str) -> tuple[str, ...]:
        """Producer ids of the given streams (graph inputs have none)."""
        return tuple(s for s in (self.streams[t].src for t in tensors) if s is not None)


def _is_const(st: _State, name: str) -> bool:
    return name == "" or name in st.consts


def _visit_const(st: _State, node: Any) -> None:
    st.consts.update(node.output)
    if node.op_type in QUANT_OPS:
        st.weights[node.output[0]] = weight_info(st.model, node)
    elif node.op_type in ("Identity", "Cast") and node.input[0] in st.weights:
        st.weights[node.output[0]] = st.weights[node.input[0]]


def _absorb(st: _State, node: Any) -> None:
    x = next(t for t in node.input if not _is_const(st, t))
    s = st.stream(x)
    dtype = s.dtype
    if node.op_type == "Trunc":  # requantisation: output width is input 4 (QONNX Trunc)
        bits = st.model.get_initializer(node.input[4])
        dtype = int_type(int(bits), bool(dtype.signed) if dtype else True) if bits is not None else dtype
    st.streams[node.output[0]] = _Stream(s.src, dtype, s.exclusive and st.n_consumers[x] == 1)
    st.absorbed.append((node.name, node.op_type))


def _visit(st: _State, node: Any) -> None:
    from nash.hw.lower_ops import HANDLERS

    dynamic = [t for t in node.input if not _is_const(st, t)]
    if not dynamic or node.op_type in ("Constant", "Shape"):
        _visit_const(st, node)
    elif node.op_type in ABSORBED_OPS or (node.op_type in SCALE_OPS and len(dynamic) == 1):
        _absorb(st, node)
    elif node.op_type in HANDLERS:
        HANDLERS[node.op_type](st, node)
    else:
        st.unsupported.append(f"{node.op_type} ({node.name})")
        for out in node.output:  # keep walking so every unsupported op gets reported
            st.streams[out] = _Stream(None, None, False)


def _insert_duplicates(st: _State) -> list[HwLayer]:
    uses = Counter(p for layer in st.layers for p in layer.preds)
    out: list[HwLayer] = []
    rename: dict[str, str] = {}
    for layer in st.layers:
        layer = dataclasses.replace(layer, preds=tuple(rename.get(p, p) for p in layer.preds))
        out.append(layer)
        if uses[layer.name] >= 2:
            dup = f"{layer.name}d"
            rename[layer.name] = dup
            chans, niv = layer.extra["out_channels"], layer.extra["out_niv"]
            out.append(
                HwLayer(
                    name=dup,
                    op_type="DuplicateStreams",
                    preds=(layer.name,),
                    channels=chans,
                    niv=niv,
                    n_outputs=uses[layer.name],
                    input_bits=layer.output_bits,
                    input_signed=layer.output_signed,
                    output_bits=layer.output_bits,
                    output_signed=layer.output_signed,
                    extra={"out_channels": chans, "out_niv": niv},
                )
            )
    return out


def _assign_names(layers: list[HwLayer], generation: str) -> tuple[list[HwLayer], dict[str, str]]:
    counters: Counter = Counter()
    names: dict[str, str] = {}
    for layer in layers:
        prefix = node_prefix(layer.op_type, layer.backend, generation)
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
    from nash.hw.lower_ops import add_label_select, finalize_backends

    st = _State(load_graph(model), opts or LoweringOptions())
    graph = st.model.graph
    st.consts.update(i.name for i in graph.initializer)
    for node in graph.node:
        for t in node.input:
            st.n_consumers[t] += 1
    for inp in graph.input:
        if inp.name not in st.consts:
            st.streams[inp.name] = _Stream(None, None, st.n_consumers[inp.name] == 1)
    for node in graph.node:
        _visit(st, node)
    if st.unsupported:
        raise UnsupportedOpError(
            f"no dataflow layer for {len(st.unsupported)} node(s): {', '.join(st.unsupported)}; "
            "remove or replace these ops before the hardware estimate"
        )
    outputs = [st.stream(o.name).src for o in graph.output if o.name in st.streams]
    outputs = add_label_select(st, [o for o in outputs if o is not None])
    layers = finalize_backends(_insert_duplicates(st), st.opts)
    named, names = _assign_names(layers, st.opts.generation)
    return LoweredGraph(
        tuple(named), tuple(st.absorbed), tuple(st.assumptions), tuple(names[o] for o in outputs)
    )
