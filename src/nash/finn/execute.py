"""A batched NumPy executor for streamlined (integer) FINN graphs.

The integer check runs the streamlined graph on a thousand images. qonnx/FINN's ``execute_onnx``
is the reference but is slow for this: it runs every standard node in a fresh onnxruntime session
with the shapes stored in the graph (a fixed batch of 1 wherever FINN's custom ops infer shapes
from their attributes), and its ``MultiThreshold`` compares every value with every threshold
(255 per value at 8 bits) in one broadcast array. This executor evaluates the same node semantics
directly with NumPy on a whole batch:

* ``MultiThreshold``: ``out_scale * #{t in T[c] : x >= t} + out_bias`` per channel, with a binary
  search over the (sorted) thresholds;
* ``MatMul`` exact for integers (float32 when no partial sum can pass 2**24, float64 otherwise),
  ``Add``/``Sub``/``Mul``/``Div``
  with NumPy broadcasting, ``Transpose``, ``Flatten``, ``Reshape``, ``Identity``, ``Concat``;
* ``Im2Col`` (sliding windows, patch order kh, kw, C; qonnx's implementation mixes up images
  when the batch is larger than one);
* ``MaxPoolNHWC``/``MaxPool`` with ONNX padding semantics (padding never wins the max);
* ``GlobalAccPool`` (sum over H, W), ``XnorPopcountMatMul``.

Anything else raises ``NotImplementedError``; :func:`cross_check` compares the result with FINN's
``execute_onnx`` on a few images so that every check report says the two executors agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["execute_batched", "cross_check", "SUPPORTED_OPS"]

SUPPORTED_OPS = frozenset(
    {
        "MultiThreshold",
        "MatMul",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Transpose",
        "Flatten",
        "Reshape",
        "Identity",
        "Concat",
        "Im2Col",
        "MaxPoolNHWC",
        "MaxPool",
        "GlobalAccPool",
        "XnorPopcountMatMul",
    }
)


def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _multithreshold(node: Any, x: np.ndarray, thr: np.ndarray) -> np.ndarray:
    layout = _attr(node, "data_layout", b"")
    layout = layout.decode() if isinstance(layout, bytes) else layout
    if not layout:
        layout = {2: "NC", 3: "NWC", 4: "NCHW"}.get(x.ndim, "")
    cdim = layout.index("C") if "C" in layout else 1
    scale = float(_attr(node, "out_scale", 1.0))
    bias = float(_attr(node, "out_bias", 0.0))
    v = np.moveaxis(x, cdim, -1)
    out = np.empty(v.shape, dtype=np.float32)
    t = np.sort(np.asarray(thr), axis=1)
    if t.shape[0] == 1:
        out[...] = np.searchsorted(t[0], v, side="right")
    else:
        for c in range(v.shape[-1]):
            out[..., c] = np.searchsorted(t[c], v[..., c], side="right")
    out = out * scale + bias
    return np.moveaxis(out, -1, cdim)


def _maxpool_nchw(x: np.ndarray, kernel: list[int], strides: list[int], pads: list[int]) -> np.ndarray:
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = strides
    pt, pl, pb, pr = pads if pads else (0, 0, 0, 0)
    xp = np.full((n, c, h + pt + pb, w + pl + pr), -np.inf, dtype=x.dtype)
    xp[:, :, pt : pt + h, pl : pl + w] = x
    oh = (h + pt + pb - kh) // sh + 1
    ow = (w + pl + pr - kw) // sw + 1
    out = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, xp[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw])
    return out


def _im2col(node: Any, x: np.ndarray) -> np.ndarray:
    """NHWC ``x`` -> (N, OH, OW, kh * kw * C), patch entries ordered (kh, kw, C) as qonnx's Im2Col.

    (qonnx's own implementation is only correct for a batch of one.)
    """
    kh, kw = (int(v) for v in _attr(node, "kernel_size"))
    sh, sw = (int(v) for v in _attr(node, "stride"))
    dh, dw = (int(v) for v in _attr(node, "dilations", [1, 1]))
    pt, pl, pb, pr = (int(v) for v in _attr(node, "pad_amount", [0, 0, 0, 0]))
    pad_value = float(_attr(node, "pad_value", 0))
    n, h, w, c = x.shape
    xp = np.full((n, h + pt + pb, w + pl + pr, c), pad_value, dtype=x.dtype)
    xp[:, pt : pt + h, pl : pl + w, :] = x
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            out[:, :, :, i, j, :] = xp[
                :, r0 : r0 + sh * (oh - 1) + 1 : sh, c0 : c0 + sw * (ow - 1) + 1 : sw, :
            ]
    return out.reshape(n, oh, ow, kh * kw * c)


_EXACT_F32 = float(2**24)  # integers up to this magnitude are exact in float32


def _matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w``, exact for integer operands: float32 when no partial sum can exceed 2**24, else float64."""
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1])  # one BLAS call instead of one per leading index
    bound = float(np.abs(x2).max(initial=0.0)) * float(np.abs(w).sum(axis=0).max(initial=0.0))
    dtype = np.float32 if bound < _EXACT_F32 and _integral(w) and _integral(x2) else np.float64
    y = np.dot(x2.astype(dtype, copy=False), w.astype(dtype, copy=False))
    return y.reshape(*lead, w.shape[-1])


def _integral(a: np.ndarray) -> bool:
    return bool(np.array_equal(a, np.rint(a)))


def _reshape(x: np.ndarray, shape: np.ndarray) -> np.ndarray:
    target = [int(s) for s in np.asarray(shape).reshape(-1)]
    target = [x.shape[k] if s == 0 else s for k, s in enumerate(target)]
    if target and target[0] not in (-1, x.shape[0]):
        target[0] = x.shape[0]  # the stored shape has batch 1; keep ours
        if -1 not in target:
            target[1:] = [-1] if len(target) == 2 else target[1:]
    return x.reshape(target)


def _run_node(node: Any, ctx: dict[str, np.ndarray], model: Any) -> None:
    op = node.op_type
    ins = [ctx[i] if i else None for i in node.input]
    if op == "MultiThreshold":
        y = _multithreshold(node, ins[0], ins[1])
    elif op == "MatMul":
        y = _matmul(ins[0], ins[1])
    elif op == "Add":
        y = ins[0] + ins[1]
    elif op == "Sub":
        y = ins[0] - ins[1]
    elif op == "Mul":
        y = ins[0] * ins[1]
    elif op == "Div":
        y = ins[0] / ins[1]
    elif op == "Transpose":
        perm = _attr(node, "perm")
        y = np.transpose(ins[0], perm)
    elif op == "Flatten":
        axis = int(_attr(node, "axis", 1))
        shape = ins[0].shape
        y = ins[0].reshape(int(np.prod(shape[:axis])), -1)
    elif op == "Reshape":
        y = _reshape(ins[0], ins[1])
    elif op == "Identity":
        y = ins[0]
    elif op == "Concat":
        y = np.concatenate(ins, axis=int(_attr(node, "axis")))
    elif op == "GlobalAccPool":
        y = ins[0].sum(axis=(1, 2), keepdims=True)
    elif op in ("MaxPoolNHWC", "MaxPool"):
        kernel, strides = list(_attr(node, "kernel_shape")), list(_attr(node, "strides", [1, 1]))
        pads = list(_attr(node, "pads", [0, 0, 0, 0]))
        x = np.transpose(ins[0], (0, 3, 1, 2)) if op == "MaxPoolNHWC" else ins[0]
        y = _maxpool_nchw(x, kernel, strides, pads)
        y = np.transpose(y, (0, 2, 3, 1)) if op == "MaxPoolNHWC" else y
    elif op == "XnorPopcountMatMul":
        from qonnx.custom_op.general.xnorpopcount import xnorpopcountmatmul

        y = xnorpopcountmatmul(ins[0], ins[1])
    elif op == "Im2Col":
        y = _im2col(node, ins[0])
    else:
        raise NotImplementedError(f"{node.name} ({op}) is not supported by the batched executor")
    ctx[node.output[0]] = np.asarray(y)


def execute_batched(model: Any, x: np.ndarray) -> np.ndarray:
    """Run a streamlined graph (a qonnx ``ModelWrapper``) on a batch ``x``; returns its output."""
    unsupported = sorted({n.op_type for n in model.graph.node} - SUPPORTED_OPS)
    if unsupported:
        raise NotImplementedError(
            f"op types {', '.join(unsupported)} are not supported by the batched executor"
        )
    ctx: dict[str, np.ndarray] = {t.name: _init(t) for t in model.graph.initializer}
    ctx[model.graph.input[0].name] = np.asarray(x, dtype=np.float32)
    for node in model.graph.node:
        _run_node(node, ctx, model)
    return np.asarray(ctx[model.graph.output[0].name])


def _init(t: Any) -> np.ndarray:
    from onnx import numpy_helper

    return numpy_helper.to_array(t)


def cross_check(model: Any, x: np.ndarray) -> float:
    """Largest difference between this executor and FINN's ``execute_onnx`` over the images in ``x``.

    FINN's executor runs one image at a time (the graph's own batch of 1).
    """
    from finn.core.onnx_exec import execute_onnx

    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    ours = execute_batched(model, x).reshape(len(x), -1)
    ref = np.concatenate(
        [
            np.asarray(execute_onnx(model, {iname: x[k : k + 1].astype(np.float32)})[oname]).reshape(1, -1)
            for k in range(len(x))
        ]
    )
    return float(np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max()) if len(x) else 0.0
