"""Tiny QONNX graphs built with onnx.helper for the hardware tests (Quant nodes in the qonnx domain)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QDOMAIN = "qonnx.custom_op.general"


class GraphBuilder:
    """Accumulates nodes and initialisers; every helper returns the name of its output tensor."""

    def __init__(self, shape: tuple[int, ...], seed: int = 0) -> None:
        self.nodes: list = []
        self.inits: list = []
        self.shape = shape
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def _name(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def const(self, value: np.ndarray, stem: str = "c") -> str:
        name = self._name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], domain: str = "", **attrs) -> str:
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"n_{out}", domain=domain, **attrs))
        return out

    def quant(self, x: str, bits: int, signed: bool = True, scale: float = 0.1) -> str:
        if bits == 1:
            return self.node("BipolarQuant", [x, self.const(np.float32(scale))], domain=QDOMAIN)
        ins = [x, self.const(np.float32(scale)), self.const(np.float32(0)), self.const(np.float32(bits))]
        return self.node("Quant", ins, domain=QDOMAIN, signed=int(signed), narrow=0, rounding_mode="ROUND")

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, pad: int = 0, wbits: int = 2) -> str:
        w = self.quant(self.const(self.rng.normal(0, 0.1, (cout, cin, k, k))), wbits)
        return self.node("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def act(self, x: str, bits: int = 2, bn_channels: int | None = None) -> str:
        if bn_channels:
            ones, zeros = self.const(np.ones(bn_channels)), self.const(np.zeros(bn_channels))
            x = self.node("BatchNormalization", [x, ones, zeros, zeros, ones])
        return self.quant(self.node("Relu", [x]), bits, signed=False)

    def build(self, out: str, out_shape: tuple[int, ...]) -> onnx.ModelProto:
        g = helper.make_graph(
            self.nodes,
            "g",
            [helper.make_tensor_value_info("inp", TensorProto.FLOAT, self.shape)],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)],
            self.inits,
        )
        model = helper.make_model(
            g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, 1)]
        )
        model.ir_version = 8
        return model


def residual_net(nas: bool, c: int = 8, hw: int = 8, classes: int = 10, bits: int = 2) -> onnx.ModelProto:
    """ResNet-like net: stem, two basic blocks; ``nas=True`` adds a NAS conv5x5 edge into each block's add."""
    b = GraphBuilder((1, 3, hw, hw))
    x = b.quant("inp", 8)
    x = b.act(b.conv(x, 3, c, 3, pad=1, wbits=8), bits, c)
    for _ in range(2):
        h = b.act(b.conv(x, c, c, 3, pad=1, wbits=bits), bits, c)
        h = b.quant(b.conv(h, c, c, 3, pad=1, wbits=bits), 8)
        if nas:  # extra cell edge x0 -> x2: conv_5x5 branch summed into the block output
            e = b.quant(b.conv(x, c, c, 5, pad=2, wbits=bits), 8)
            h = b.quant(b.node("Add", [h, e]), 8)
        x = b.quant(b.node("Add", [h, x]), bits, signed=False)
    g = b.node("GlobalAveragePool", [x])
    f = b.node("Flatten", [g])
    w = b.quant(b.const(b.rng.normal(0, 0.1, (classes, c))), 8)
    out = b.node("Gemm", [f, w], transB=1)
    return b.build(out, (1, classes))


def zoo_net(c: int = 8, hw: int = 16, classes: int = 10) -> onnx.ModelProto:
    """One of every other lowered kind: strided conv, StreamingMaxPool, padded pool (SWG + Pool),
    DownSampler, binary MVAU, Concat, average pool, Pad, MatMul and TopK (LabelSelect)."""
    b = GraphBuilder((1, 3, hw, hw))
    x = b.quant("inp", 8)
    x = b.act(b.conv(x, 3, c, 3, stride=2, pad=1, wbits=4), 4, c)  # hw/2
    x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])  # hw/4, StreamingMaxPool
    p = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])  # SWG + Pool
    d = b.act(b.conv(x, c, c, 1, stride=1, wbits=3), 4)
    x = b.node("Concat", [p, d], axis=1)  # 2c channels
    x = b.act(b.conv(x, 2 * c, c, 1, stride=2, wbits=2), 1)  # DownSampler; bipolar out
    x = b.quant(b.conv(x, c, c, 1, wbits=1), 1)  # binary MVAU
    b.inits.append(numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"))
    x = b.node("Pad", [x, "pads"], mode="constant")
    x = b.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])  # not whole-map: SWG + Pool
    g = b.node("GlobalAveragePool", [x])
    f = b.node("Flatten", [g])
    w = b.quant(b.const(b.rng.normal(0, 0.1, (c, classes))), 8)
    out = b.node("MatMul", [b.quant(f, 8), w])
    b.inits.append(numpy_helper.from_array(np.array([1], np.int64), "k"))
    b.nodes.append(helper.make_node("TopK", [out, "k"], ["top_v", "top_i"], name="n_topk", axis=-1))
    return b.build("top_i", (1, 1))
