"""Tiny residual QONNX classifiers written with onnx.helper, for fast FINN+ build tests.

``tiny_residual(same_grid=True)`` is what our exports look like in miniature: 8-bit signed input
quantiser, conv + BN + 2-bit ReLU quantiser, a 3x3 stride-2 max-pool (the ImageNet stem's), a fork
into a shortcut and a conv branch, both
requantised by signed 8-bit quantisers before their add, 2-bit ReLU, global average pool, 8-bit
quantiser, linear classifier. With ``same_grid=False`` the two add operands use different scales,
which no streamlining can turn into an integer add: the graph FINN cannot build.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QDOMAIN = "qonnx.custom_op.general"


class _G:
    def __init__(self, seed: int = 0) -> None:
        self.nodes: list = []
        self.inits: list = []
        self.rng = np.random.default_rng(seed)
        self.k = 0

    def name(self, stem: str) -> str:
        self.k += 1
        return f"{stem}_{self.k}"

    def const(self, value) -> str:
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), n))
        return n

    def op(self, op: str, ins: list[str], domain: str = "", **attrs) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], name=f"{op}_{self.k}", domain=domain, **attrs))
        return out

    def quant(self, x: str, bits: int, signed: bool, scale: float, narrow: bool = False) -> str:
        ins = [x, self.const(np.float32(scale)), self.const(np.float32(0)), self.const(np.float32(bits))]
        return self.op("Quant", ins, QDOMAIN, signed=int(signed), narrow=int(narrow), rounding_mode="ROUND")

    def conv(self, x: str, cin: int, cout: int) -> str:
        w = self.rng.integers(-1, 2, (cout, cin, 3, 3)).astype(np.float32) * 0.5
        wq = self.quant(self.const(w), 2, True, 0.5, narrow=True)
        y = self.op("Conv", [x, wq], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
        gamma = self.rng.uniform(0.5, 1.5, cout)
        beta = self.rng.normal(0, 0.2, cout)
        mean = self.rng.normal(0, 0.2, cout)
        var = self.rng.uniform(0.5, 2.0, cout)
        return self.op(
            "BatchNormalization", [y, self.const(gamma), self.const(beta), self.const(mean), self.const(var)]
        )


def tiny_residual(same_grid: bool = True, c: int = 4, hw: int = 8, classes: int = 4) -> onnx.ModelProto:
    """The model described in the module docstring (input 1 x 1 x hw x hw)."""
    g = _G()
    # scales are "awkward" floats, as learned ones are: with dyadic scales many values land exactly
    # on a rounding tie, where Quant (round half to even) and thresholds (half up) legitimately differ
    x = g.quant("inp", 8, True, 0.00713)
    a = g.quant(g.op("Relu", [g.conv(x, 1, c)]), 2, False, 0.2371)
    # ImageNet-stem max-pool whose output forks into the conv branch and the shortcut
    a = g.op("MaxPool", [a], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    short = g.quant(a, 8, True, 0.0531)
    branch = g.quant(g.conv(a, c, c), 8, True, 0.0531 if same_grid else 0.0307)
    y = g.quant(g.op("Relu", [g.op("Add", [branch, short])]), 2, False, 0.2629)
    return _classifier_model(g, y, c, classes, hw, "tiny_residual")


def tiny_nas(c: int = 4, hw: int = 8, classes: int = 4) -> onnx.ModelProto:
    """A miniature NASH cell: forked ReLU (main 2-bit and NAS 8-bit quantisers on one ``Relu``), a
    max-pool NAS edge, an identity NAS edge, cascaded two-input adds on one shared 8-bit grid."""
    g = _G(seed=1)
    x = g.quant("inp", 8, True, 0.00713)
    x1 = g.conv(x, 1, c)
    r = g.op("Relu", [x1])  # one Relu, two quantisers: the fork FINN+'s converter trips over
    main = g.quant(r, 2, False, 0.2371)
    nas = g.quant(r, 8, False, 0.01931)
    grid = 0.0531
    conv = g.quant(g.conv(main, c, c), 8, True, grid)
    pool = g.op("MaxPool", [nas], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    gamma, beta = g.rng.uniform(0.5, 1.5, c), g.rng.normal(0, 0.2, c)
    mean, var = g.rng.normal(0, 0.2, c), g.rng.uniform(0.5, 2.0, c)
    pool_bn = g.op("BatchNormalization", [pool, g.const(gamma), g.const(beta), g.const(mean), g.const(var)])
    s1 = g.op("Add", [conv, g.quant(pool_bn, 8, True, grid)])
    s2 = g.op("Add", [g.quant(s1, 8, True, grid), g.quant(nas, 8, True, grid)])  # identity edge
    y = g.quant(g.op("Relu", [s2]), 2, False, 0.2629)
    return _classifier_model(g, y, c, classes, hw, "tiny_nas")


def _classifier_model(g: _G, y: str, c: int, classes: int, hw: int, name: str) -> onnx.ModelProto:
    """Global average pool, 8-bit features, an 8-bit linear classifier, wrapped as an ONNX model."""
    pooled = g.op("Flatten", [g.op("GlobalAveragePool", [y])], axis=1)
    feats = g.quant(pooled, 8, True, 0.01377)
    w = g.rng.integers(-127, 128, (c, classes)).astype(np.float32) / 127
    logits = g.op("MatMul", [feats, g.quant(g.const(w), 8, True, 1.0 / 127, narrow=True)])
    graph = helper.make_graph(
        g.nodes,
        name,
        [helper.make_tensor_value_info("inp", TensorProto.FLOAT, [1, 1, hw, hw])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, classes])],
        g.inits,
    )
    model = helper.make_model(graph, producer_name="nash-tests", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    return model
