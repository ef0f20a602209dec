"""The lowering state: what the graph walk knows so far, with the API the per-op handlers use.

``lowering.py`` walks the ONNX nodes and calls a handler (``lower_ops.py``) per node; both talk
to one ``LoweringState``. A handler reads streams (``stream``, ``in_dtype``, ``preds``), appends
layers (``add``/``emit``), rewrites one it owns (``replace``), records an assumption (``note``) or
rejects the node (``reject``). Layers carry temporary ids (``#0``, ``#1`` ...) until the walk ends
and ``lowering.py`` gives them FINN names.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from nash.hw.datatypes import DType, int_type
from nash.hw.kinds import create_layer
from nash.hw.layers import HwLayer

__all__ = ["LoweringOptions", "Stream", "Rejection", "LoweringState"]


@dataclass(frozen=True)
class LoweringOptions:
    """Choices that change which layers and datatypes the lowering produces."""

    generation: str = "current"  # "current" | "finn-0.9" | "finn-plus" (layer kinds, back-ends, names)
    label_select: bool = False  # append LabelSelect to the classifier output (FINN does when asked)
    minimize_bit_width: bool = True  # §8 weight/accumulator minimisation when weights are stored
    input_dtype: DType = int_type(8, False)  # assumed type of unquantised (float) streams
    float_weight_bits: int = 8  # assumed width of unquantised float weights
    dsp_block: str = "DSP48E2"  # DSP primitive of the target part (decides MVAU_rtl eligibility)
    mem_mode: str = "internal_decoupled"  # default MVAU weight memory mode


@dataclass(frozen=True)
class Stream:
    """Which layer carries a dynamic tensor, its integer type and whether it has one consumer path."""

    src: str | None  # temporary id of the producing layer; None = graph input (or rejected node)
    dtype: DType | None  # None = float (not quantised)
    exclusive: bool  # every tensor from the producer up to here has a single consumer


@dataclass(frozen=True)
class Rejection:
    """An ONNX node no dataflow layer implements, with the reason when there is one."""

    node: str
    op_type: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.op_type} ({self.node}{', ' + self.reason if self.reason else ''})"


@dataclass
class LoweringState:
    """Mutable state of one lowering walk over a shape-inferred qonnx ``ModelWrapper``."""

    model: Any
    opts: LoweringOptions
    layers: list[HwLayer] = field(default_factory=list)
    streams: dict[str, Stream] = field(default_factory=dict)
    consts: set[str] = field(default_factory=set)
    weights: dict[str, Any] = field(default_factory=dict)  # quantised constant -> WeightInfo
    absorbed: list[tuple[str, str]] = field(default_factory=list)  # (node name, op type)
    assumptions: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    float_inputs: list[str] = field(default_factory=list)  # float streams given the assumed type
    float_weights: list[str] = field(default_factory=list)  # float weights given the assumed width
    n_consumers: Counter = field(default_factory=Counter)

    def shape(self, tensor: str) -> tuple[int, ...]:
        """Static shape of ``tensor`` (from shape inference)."""
        return tuple(int(d) for d in self.model.get_tensor_shape(tensor))

    def is_const(self, tensor: str) -> bool:
        """True for an absent optional input or a tensor computed from constants only."""
        return tensor == "" or tensor in self.consts

    def note(self, text: str) -> None:
        """Record an assumption once."""
        if text not in self.assumptions:
            self.assumptions.append(text)

    def add(self, kind: str, **fields: Any) -> str:
        """Append a layer of ``kind`` with a temporary id and return the id."""
        tmp = f"#{len(self.layers)}"
        self.layers.append(create_layer(kind, name=tmp, **fields))
        return tmp

    def emit(
        self, node: Any, kind: str, preds: tuple[str, ...], dtype: DType, out: DType, **fields: Any
    ) -> str:
        """Append a layer for ``node`` reading ``dtype`` and writing ``out``; it carries the node's output."""
        tmp = self.add(
            kind,
            preds=preds,
            source=(node.name,),
            input_bits=dtype.bits,
            input_signed=dtype.signed,
            output_bits=out.bits,
            output_signed=out.signed,
            **fields,
        )
        self.set_stream(node.output[0], tmp, out)
        return tmp

    def replace(self, tmp: str, **changes: Any) -> None:
        """Replace fields of the layer with temporary id ``tmp``."""
        i = int(tmp[1:])
        self.layers[i] = dataclasses.replace(self.layers[i], **changes)

    def layer(self, tmp: str) -> HwLayer:
        """The layer with temporary id ``tmp``."""
        return self.layers[int(tmp[1:])]

    def stream(self, tensor: str) -> Stream:
        """The stream carrying dynamic ``tensor``."""
        return self.streams[tensor]

    def set_stream(self, tensor: str, src: str | None, dtype: DType | None, exclusive: bool = True) -> None:
        """Record that layer ``src`` carries ``tensor`` with type ``dtype`` (None = float)."""
        self.streams[tensor] = Stream(src, dtype, exclusive)

    def reject(self, node: Any, reason: str = "") -> None:
        """Record ``node`` as unmappable; its outputs become float streams so the walk goes on."""
        self.rejected.append(Rejection(node.name, node.op_type, reason))
        for out in node.output:
            self.set_stream(out, None, None, False)

    def in_dtype(self, tensor: str, who: str, *, quantiser: bool = False) -> DType:
        """Integer type of a stream; float streams get the assumed input type (noted).

        ``quantiser``: the consumer is a quantiser (e.g. the network's input quantiser), which FINN
        expects to read the assumed integer input type; it is noted but not a console warning.
        """
        dt = self.streams[tensor].dtype
        if dt is None:
            self.note(f"{who}: input {tensor!r} is not quantised; assumed {self.opts.input_dtype}")
            if not quantiser and tensor not in self.float_inputs:
                self.float_inputs.append(tensor)
            return self.opts.input_dtype
        return dt

    def preds(self, *tensors: str) -> tuple[str, ...]:
        """Producer ids of the given streams (graph inputs have none)."""
        return tuple(s for s in (self.streams[t].src for t in tensors) if s is not None)

    def warnings(self) -> tuple[str, ...]:
        """One line per kind of assumption a user must see on the console (float tensors)."""
        out = []
        if self.float_inputs:
            names = ", ".join(self.float_inputs[:3]) + (", ..." if len(self.float_inputs) > 3 else "")
            out.append(
                f"{len(self.float_inputs)} unquantised (float) stream(s) assumed {self.opts.input_dtype} "
                f"({names}); quantise the model for a faithful estimate"
            )
        if self.float_weights:
            out.append(
                f"{len(self.float_weights)} unquantised (float) weight tensor(s) assumed "
                f"INT{self.opts.float_weight_bits}; quantise the weights for a faithful estimate"
            )
        return tuple(out)
