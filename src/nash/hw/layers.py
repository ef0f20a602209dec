"""Dataflow layer records: what a FINN build would instantiate for one part of the graph.

A ``HwLayer`` is a frozen, flat record holding every attribute any cost model needs (unused fields
keep their defaults). Folding (PE/SIMD, memory styles) lives on the record too, so a folded design
is just a tuple of layers; change it with ``dataclasses.replace``. Field names follow FINN's node
attributes (finn-cost-model.md §4) in snake case: ``mw``/``mh`` are MW/MH, ``niv`` is
numInputVectors, ``channels`` is NumChannels/IFMChannels/Channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["HwLayer", "OP_TYPES", "node_prefix"]

# FINN op types this package lowers to (without the _hls/_rtl back-end suffix).
OP_TYPES: tuple[str, ...] = (
    "MVAU",
    "VVAU",
    "ConvolutionInputGenerator",
    "FMPadding",
    "DownSampler",
    "StreamingMaxPool",
    "Pool",
    "Thresholding",
    "AddStreams",
    "DuplicateStreams",
    "ChannelwiseOp",
    "GlobalAccPool",
    "LabelSelect",
    "StreamingConcat",
)

# Node-name stems used by FINN v0.9 (before the _hls/_rtl split, finn-cost-model.md §7.1).
_V09_NAMES = {
    "MVAU": "MatrixVectorActivation",
    "VVAU": "VectorVectorActivation",
    "ConvolutionInputGenerator": "ConvolutionInputGenerator",
    "FMPadding": "FMPadding_Batch",
    "DownSampler": "DownSampler",
    "StreamingMaxPool": "StreamingMaxPool_Batch",
    "Pool": "Pool_Batch",
    "Thresholding": "Thresholding_Batch",
    "AddStreams": "AddStreams_Batch",
    "DuplicateStreams": "DuplicateStreams_Batch",
    "ChannelwiseOp": "ChannelwiseOp_Batch",
    "GlobalAccPool": "GlobalAccPool_Batch",
    "LabelSelect": "LabelSelect_Batch",
    "StreamingConcat": "StreamingConcat",
}


def node_prefix(op_type: str, backend: str, generation: str) -> str:
    """Op-type part of a FINN node name: ``MVAU_hls`` (current) or ``MatrixVectorActivation`` (v0.9)."""
    if generation == "finn-0.9":
        return _V09_NAMES[op_type]
    return f"{op_type}_{backend}"


@dataclass(frozen=True)
class HwLayer:
    """One dataflow layer with its shapes, datatypes, graph links and folding.

    Bit widths: ``weight_bits`` is after weight minimisation (used by the estimates),
    ``weight_bits_quant`` the quantiser's width (used by SetFolding's stream-width cap, §7);
    ``acc_bits`` the (minimised or INT32) accumulator datatype width, ``acc_assumption`` says which.
    """

    name: str  # FINN-style unique node name, e.g. "MVAU_hls_0"
    op_type: str  # one of OP_TYPES
    backend: str = "hls"  # "hls" | "rtl"
    preds: tuple[str, ...] = ()  # names of producer layers (stream inputs), graph order
    source: tuple[str, ...] = ()  # ONNX node names this layer was lowered from
    # shapes
    mw: int = 0  # MVAU matrix width (inputs per output)
    mh: int = 0  # MVAU matrix height (outputs)
    niv: tuple[int, ...] = (1,)  # numInputVectors (e.g. [1, OH, OW] for a conv)
    channels: int = 0  # NumChannels / IFMChannels / Channels / Labels
    ifm_dim: tuple[int, int] = (1, 1)  # (IH, IW) input feature map
    ofm_dim: tuple[int, int] = (1, 1)  # (OH, OW) output feature map
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    depthwise: bool = False
    elems_per_stream: tuple[int, ...] = ()  # StreamingConcat channel counts
    n_outputs: int = 1  # DuplicateStreams NumOutputStreams
    k: int = 1  # LabelSelect top-k
    # datatypes
    input_bits: int = 8
    input_signed: bool = False
    weight_bits: int = 0
    weight_bits_quant: int = 0
    weight_signed: bool = True
    weight_narrow: bool = False
    output_bits: int = 8
    output_signed: bool = False
    acc_bits: int = 32
    acc_assumption: str = ""  # "minimized" | "worst-case" | "" (no accumulator)
    threshold_bits: int = 0  # Thresholding threshold datatype width
    num_steps: int = 0  # thresholds per channel (2^B - 1)
    binary: bool = False  # binaryXnorMode
    no_activation: bool = True  # MVAU without fused thresholds
    # folding and implementation choices (FINN attribute names in the folding JSON)
    pe: int = 1
    simd: int = 1
    parallel_window: bool = False
    mem_mode: str = "internal_decoupled"
    ram_style: str = "auto"
    ram_style_thresholds: str = "auto"
    res_type: str = "auto"
    extra: dict = field(default_factory=dict, compare=False, hash=False)  # free-form notes

    @property
    def niv_prod(self) -> int:
        """prod(numInputVectors)."""
        return math.prod(self.niv)

    @property
    def fold_dim(self) -> tuple[str, ...]:
        """Names of the folding attributes this op has (``PE``, ``SIMD``)."""
        return _FOLD_ATTRS.get(self.op_type, ())


_FOLD_ATTRS = {
    "MVAU": ("PE", "SIMD"),
    "VVAU": ("PE", "SIMD"),
    "ConvolutionInputGenerator": ("SIMD",),
    "FMPadding": ("SIMD",),
    "DownSampler": ("SIMD",),
    "Pool": ("PE",),
    "Thresholding": ("PE",),
    "AddStreams": ("PE",),
    "DuplicateStreams": ("PE",),
    "ChannelwiseOp": ("PE",),
    "GlobalAccPool": ("PE",),
    "LabelSelect": ("PE",),
}
