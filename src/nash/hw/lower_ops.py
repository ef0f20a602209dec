"""Per-op lowering handlers: Conv/MatMul/Gemm -> (FMPadding) + SWG + MVAU, pools, adds, concat, ...

Each handler takes the ``LoweringState`` and one ONNX node, appends the layers FINN's conversion
passes would create (finn-cost-model.md §1 step 4, §9.4-§9.5) and registers the output stream, or
rejects the node with a reason. ``HANDLERS`` maps ONNX op types to handlers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nash.config.hw import Generation
from nash.hw.datatypes import BINARY, BIPOLAR, DType, int_type, parse_dtype, smallest_covering, smallest_for
from nash.hw.graph import WeightInfo, attr, quant_dtype
from nash.hw.minimize import min_acc_type, min_weight_type
from nash.hw.state import LoweringState

__all__ = ["HANDLERS", "add_label_select"]


def _chan_niv(shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    # NCHW feature maps -> (C, [1, H, W]); (N, C) vectors -> (C, [1]).
    if len(shape) == 4:
        return shape[1], (1, shape[2], shape[3])
    return shape[-1], (1, *shape[1:-1])


def _emit(
    st: LoweringState,
    node: Any,
    kind: str,
    preds: tuple[str, ...],
    dtype: DType,
    out: DType,
    out_c: int,
    out_niv: tuple[int, ...],
    **fields: Any,
) -> str:
    """``st.emit`` with the output stream's channels and numInputVectors."""
    return st.emit(node, kind, preds, dtype, out, out_channels=out_c, out_niv=out_niv, **fields)


def _weights(st: LoweringState, name: str, who: str) -> WeightInfo:
    if name in st.weights:
        return st.weights[name]
    st.note(f"{who}: weights {name!r} are not quantised; assumed INT{st.opts.float_weight_bits}")
    st.float_weights.append(name)
    return WeightInfo(int_type(st.opts.float_weight_bits, True), False, None)


def _mac(
    st: LoweringState,
    node: Any,
    kind: str,
    src: tuple[str, ...],
    x_dt: DType,
    wi: WeightInfo,
    matrix: np.ndarray | None,
    out_c: int,
    niv: tuple[int, ...],
    **fields: Any,
) -> str:
    """Append an MVAU (§4.1) or VVAU (§4.2) with minimised weight/accumulator widths when the
    weights are known (§8); ``matrix`` is (inputs per output, outputs)."""
    binary = kind == "MVAU" and x_dt == BIPOLAR and wi.dtype == BIPOLAR
    a_dt = BINARY if binary else x_dt
    w_dt = BINARY if binary else wi.dtype
    w_bits, w_signed = w_dt.bits, w_dt.signed
    plus = st.opts.generation == Generation.FINN_PLUS
    if st.opts.minimize_bit_width and matrix is not None:
        # FINN keeps 1-bit weights; FINN+ minimises them too (bipolar -> INT2 outside XNOR mode)
        if w_dt.bits > 1 or (plus and not binary):
            m = min_weight_type(matrix)
            # FINN+ takes the minimised type as it is (bipolar weights become INT2)
            w_bits, w_signed = (m.bits if plus else min(m.bits, w_bits)), m.signed
        acc = min_acc_type(matrix, a_dt.min, a_dt.max)
        assumption = "minimized"
    else:
        acc, assumption = int_type(32, True), "worst-case"
    if binary:
        fields["binary"] = True
    return _emit(
        st,
        node,
        kind,
        src,
        a_dt,
        acc,
        out_c,
        niv,
        niv=niv,
        weight_bits=w_bits,
        weight_bits_quant=w_dt.bits,
        weight_signed=w_signed,
        weight_narrow=wi.narrow,
        acc_bits=acc.bits,
        acc_assumption=assumption,
        mem_mode=st.opts.mem_mode,
        **fields,
    )


def _pads(node: Any) -> tuple[int, int, int, int]:
    p = list(attr(node, "pads", [0, 0, 0, 0]))
    return (p[0], p[1], p[2], p[3])  # ONNX [h_begin, w_begin, h_end, w_end] = top, left, bottom, right


def _fmpadding(
    st: LoweringState,
    node: Any,
    src: tuple[str, ...],
    dt: DType,
    c: int,
    in_hw: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> str:
    """FMPadding (§4.4) of a C x IH x IW map by (top, left, bottom, right)."""
    oh, ow = in_hw[0] + pads[0] + pads[2], in_hw[1] + pads[1] + pads[3]
    return _emit(
        st,
        node,
        "FMPadding",
        src,
        dt,
        dt,
        c,
        (1, oh, ow),
        channels=c,
        ifm_dim=in_hw,
        ofm_dim=(oh, ow),
        padding=pads,
        simd=c,
    )


def _pad_swg(
    st: LoweringState, node: Any, x: str, out_hw: tuple[int, int], depthwise: bool
) -> tuple[str, ...]:
    """FMPadding (if padded) + ConvolutionInputGenerator/DownSampler in front of a conv or pool."""
    _, c, ih, iw = st.shape(x)
    dt = st.in_dtype(x, node.name)
    src, pads = st.preds(x), _pads(node)
    kernel = tuple(attr(node, "kernel_shape", st.shape(node.input[1])[2:] if len(node.input) > 1 else (1, 1)))
    stride = tuple(attr(node, "strides", [1, 1]))
    if any(pads):
        src = (_fmpadding(st, node, src, dt, c, (ih, iw), pads),)
        ih, iw = ih + pads[0] + pads[2], iw + pads[1] + pads[3]
    common = {
        "channels": c,
        "ifm_dim": (ih, iw),
        "ofm_dim": out_hw,
        "kernel": kernel,
        "stride": stride,
        "simd": c,
    }
    if kernel == (1, 1) and stride == (1, 1):
        return src
    if kernel == (1, 1) and st.opts.generation != Generation.FINN_PLUS:  # FINN+ has no DownSampler
        return (_emit(st, node, "DownSampler", src, dt, dt, c, (1, *out_hw), **common),)
    return (
        _emit(
            st,
            node,
            "ConvolutionInputGenerator",
            src,
            dt,
            dt,
            c * kernel[0] * kernel[1],
            (1, *out_hw),
            dilation=tuple(attr(node, "dilations", [1, 1])),
            depthwise=depthwise,
            ram_style="distributed",
            **common,
        ),
    )


def _conv(st: LoweringState, node: Any) -> None:
    x, w = node.input[0], node.input[1]
    oc, ic, kh, kw = st.shape(w)
    group = attr(node, "group", 1)
    if group != 1 and not (group == oc and ic == 1):
        st.reject(node, f"group={group}: only depthwise (group = channels, one filter each) is modelled")
        return
    wi = _weights(st, w, node.name)
    _, _, oh, ow = st.shape(node.output[0])
    x_dt = st.in_dtype(x, node.name)
    src = _pad_swg(st, node, x, (oh, ow), depthwise=group != 1)
    matrix = wi.values.reshape(oc, -1).T if wi.values is not None else None  # (ic*kh*kw, oc)
    if group != 1:  # depthwise -> VVAU (§4.2, §9.4)
        fields = {"channels": oc, "kernel": (kh, kw), "ofm_dim": (oh, ow)}
        _mac(st, node, "VVAU", src, x_dt, wi, matrix, oc, (1, oh, ow), **fields)
    else:
        _mac(st, node, "MVAU", src, x_dt, wi, matrix, oc, (1, oh, ow), mw=ic * kh * kw, mh=oc)


def _matmul(st: LoweringState, node: Any) -> None:
    x, w = node.input[0], node.input[1]
    if node.op_type == "Gemm" and attr(node, "transA", 0):
        st.reject(node, "transA=1")
        return
    wi = _weights(st, w, node.name)
    matrix = wi.values
    mw, mh = st.shape(w)
    if node.op_type == "Gemm" and attr(node, "transB", 0):
        mw, mh = mh, mw
        matrix = matrix.T if matrix is not None else None
    _, niv = _chan_niv(st.shape(x))
    _mac(st, node, "MVAU", st.preds(x), st.in_dtype(x, node.name), wi, matrix, mh, niv, mw=mw, mh=mh)


def _activation(st: LoweringState, node: Any) -> None:
    """Quant/BipolarQuant activation -> thresholds with 2^B - 1 steps (1 for bipolar)."""
    out, narrow = quant_dtype(st.model, node)
    steps = 1 if out == BIPOLAR else 2**out.bits - 1 - (1 if narrow and out.signed else 0)
    _thresholds(st, node, out, steps)


def _multithreshold(st: LoweringState, node: Any) -> None:
    """A streamlined graph's MultiThreshold: ``out_dtype`` attribute, steps = thresholds per channel."""
    out = parse_dtype(attr(node, "out_dtype", ""), node.name)
    _thresholds(st, node, out, st.shape(node.input[1])[-1])


def _thresholds(st: LoweringState, node: Any, out: DType, steps: int) -> None:
    """Fused into an exclusive MVAU (§9.4), else a standalone Thresholding (§4.7)."""
    x = node.input[0]
    s = st.stream(x)
    src = st.layer(s.src) if s.src else None
    if src is not None and src.op_type in ("MVAU", "VVAU") and src.no_activation and s.exclusive:
        st.replace(
            s.src,
            no_activation=False,
            output_bits=out.bits,
            output_signed=out.signed,
            num_steps=steps,
            source=(*src.source, node.name),
        )
        st.set_stream(node.output[0], s.src, out)
        return
    dt = st.in_dtype(x, node.name, quantiser=True)
    if st.opts.generation == Generation.FINN_PLUS:
        # FINN+ minimises the threshold type from the rounded, clipped values; without them we
        # assume they lie inside the input type's range (docs/hw.md, finn-plus differences)
        thr = int_type(max(dt.bits, 1), dt.signed)
    else:
        thr = smallest_covering(0 if not dt.signed else dt.min - 1, dt.max + 1)
    c, niv = _chan_niv(st.shape(x))
    _emit(
        st,
        node,
        "Thresholding",
        st.preds(x),
        dt,
        out,
        c,
        niv,
        channels=c,
        niv=niv,
        num_steps=steps,
        threshold_bits=thr.bits,
        ram_style="distributed",
    )


def _maxpool(st: LoweringState, node: Any) -> None:
    x = node.input[0]
    _, c, ih, iw = st.shape(x)
    _, _, oh, ow = st.shape(node.output[0])
    k, s = tuple(attr(node, "kernel_shape")), tuple(attr(node, "strides", [1, 1]))
    dt = st.in_dtype(x, node.name)
    streaming = st.opts.generation != Generation.FINN_PLUS  # FINN+ has no StreamingMaxPool: SWG + Pool
    if streaming and not any(_pads(node)) and k == s and ih % k[0] == 0 and iw % k[1] == 0:
        _emit(
            st,
            node,
            "StreamingMaxPool",
            st.preds(x),
            dt,
            dt,
            c,
            (1, oh, ow),
            channels=c,
            ifm_dim=(ih, iw),
            ofm_dim=(oh, ow),
            kernel=k,
            stride=s,
        )
        return
    _pool(st, node, x, c, (oh, ow), k, s, dt)


def _pool(
    st: LoweringState,
    node: Any,
    x: str,
    c: int,
    out_hw: tuple[int, int],
    k: tuple[int, ...],
    s: tuple[int, ...],
    dt: DType,
) -> None:
    """Depthwise SWG + Pool (§4.6) for max/average pools StreamingMaxPool/GlobalAccPool do not take."""
    if k[0] < s[0] or k[1] < s[1]:
        st.reject(node, "kernel smaller than stride")
        return
    if any(_pads(node)) and dt.signed and node.op_type == "MaxPool":
        st.note(f"{node.name}: FINN pads MaxPool with 0, which is only exact for unsigned inputs")
    src = _pad_swg(st, node, x, out_hw, depthwise=True)
    _emit(
        st, node, "Pool", src, dt, dt, c, (1, *out_hw), channels=c, kernel=k, stride=s, ofm_dim=out_hw, pe=c
    )


def _global_pool(st: LoweringState, node: Any) -> None:
    x = node.input[0]
    _, c, ih, iw = st.shape(x)
    dt = st.in_dtype(x, node.name)
    if node.op_type == "AveragePool" and (tuple(attr(node, "kernel_shape")) != (ih, iw) or any(_pads(node))):
        _, _, oh, ow = st.shape(node.output[0])
        _pool(
            st,
            node,
            x,
            c,
            (oh, ow),
            tuple(attr(node, "kernel_shape")),
            tuple(attr(node, "strides", [1, 1])),
            dt,
        )
        return
    out = smallest_for(ih * iw * (dt.min if dt.signed else dt.max))
    _emit(
        st,
        node,
        "GlobalAccPool",
        st.preds(x),
        dt,
        out,
        c,
        (1,),
        channels=c,
        niv=(1, ih, iw),
        ifm_dim=(ih, iw),
    )


def _add(st: LoweringState, node: Any) -> None:
    if node.op_type != "Add":
        st.reject(node, "two dynamic inputs")
        return
    a, b = node.input[0], node.input[1]
    da, db = st.in_dtype(a, node.name), st.in_dtype(b, node.name)
    if da != db:
        st.note(
            f"{node.name}: AddStreams inputs differ ({da} vs {db}); FINN needs equal types, used the wider"
        )
    dt = da if da.bits >= db.bits else db
    out = smallest_for(2 * dt.min) if dt.signed else smallest_for(2 * dt.max)
    c, niv = _chan_niv(st.shape(a))
    _emit(st, node, "AddStreams", st.preds(a, b), dt, out, c, niv, channels=c, niv=niv)


def _concat(st: LoweringState, node: Any) -> None:
    shapes = [st.shape(t) for t in node.input]
    axis = attr(node, "axis", 1) % len(shapes[0])
    if axis != (1 if len(shapes[0]) == 4 else len(shapes[0]) - 1):
        st.reject(node, f"axis {axis} is not the channel axis")
        return
    dt = max((st.in_dtype(t, node.name) for t in node.input), key=lambda d: d.bits)
    elems = tuple(s[axis] for s in shapes)
    c, niv = _chan_niv(st.shape(node.output[0]))
    _emit(
        st,
        node,
        "StreamingConcat",
        st.preds(*node.input),
        dt,
        dt,
        c,
        niv,
        channels=c,
        niv=niv,
        elems_per_stream=elems,
    )


def _topk(st: LoweringState, node: Any) -> None:
    x = node.input[0]
    labels = st.shape(x)[-1]
    k = (
        int(np.asarray(st.model.get_initializer(node.input[1])).reshape(-1)[0])
        if node.op_type == "TopK"
        else 1
    )
    out = smallest_for(labels - 1)
    out = int_type(-(-out.bits // 8) * 8, False)
    _emit(st, node, "LabelSelect", st.preds(x), st.in_dtype(x, node.name), out, k, (1,), channels=labels, k=k)


def _pad(st: LoweringState, node: Any) -> None:
    x = node.input[0]
    _, c, ih, iw = st.shape(x)
    p = [int(v) for v in np.asarray(st.model.get_initializer(node.input[1])).reshape(-1)]
    pads = (p[2], p[3], p[6], p[7])
    _fmpadding(st, node, st.preds(x), st.in_dtype(x, node.name), c, (ih, iw), pads)


HANDLERS = {
    "Conv": _conv,
    "MatMul": _matmul,
    "Gemm": _matmul,
    "Quant": _activation,
    "BipolarQuant": _activation,
    "MultiThreshold": _multithreshold,
    "MaxPool": _maxpool,
    "AveragePool": _global_pool,
    "GlobalAveragePool": _global_pool,
    "ReduceMean": _global_pool,
    "Add": _add,
    "Sub": _add,
    "Mul": _add,
    "Div": _add,
    "Concat": _concat,
    "TopK": _topk,
    "ArgMax": _topk,
    "Pad": _pad,
}


def add_label_select(st: LoweringState, outputs: list[str]) -> list[str]:
    """Append LabelSelect (§4.12) after each classifier output when asked and none exists."""
    if not st.opts.label_select or any(la.op_type == "LabelSelect" for la in st.layers):
        return outputs
    new = []
    for src in outputs:
        labels = st.layer(src).out_channels
        out = int_type(-(-smallest_for(labels - 1).bits // 8) * 8, False)
        la = st.layer(src)
        new.append(
            st.add(
                "LabelSelect",
                preds=(src,),
                channels=labels,
                k=1,
                input_bits=la.output_bits,
                input_signed=la.output_signed,
                output_bits=out.bits,
                source=("(label_select)",),
                out_channels=1,
            )
        )
    return new
