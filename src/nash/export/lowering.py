"""Lower QONNX quantizers to standard ONNX so onnxruntime can run the graph (equivalence only).

Order: fold weight quantizers into float constants (qonnx executes them), rewrite 2..8-bit
activation ``Quant`` nodes to QuantizeLinear/Clip/DequantizeLinear with qonnx's ``QuantToQCDQ``,
then expand whatever is left (``BipolarQuant``, wider or per-channel ``Quant``) into elementary
float ops with :class:`ExpandQuantToFloatOps`. The lowered graph is only used for checking; the
exported file keeps the QONNX ops FINN consumes.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.general import RemoveUnusedTensors
from qonnx.transformation.infer_shapes import InferShapes

from nash.errors import ExportError

__all__ = ["ExpandQuantToFloatOps", "lower_to_standard_onnx", "ORT_MAX_IR_VERSION"]

ORT_MAX_IR_VERSION = 10  # IR 10 covers opset <= 21 and is read by every onnxruntime >= 1.17
_ROUND_OPS = {"ROUND": "Round", "FLOOR": "Floor", "CEIL": "Ceil"}


def _attr(node, name: str, default: int | str) -> int | str:
    for a in node.attribute:
        if a.name == name:
            return a.s.decode() if a.type == a.STRING else a.i
    return default


class ExpandQuantToFloatOps(Transformation):
    """Replace every ``Quant``/``BipolarQuant`` by the equivalent standard float ops.

    ``Quant``: y = s * (clip(round(x / s + z), lo, hi) - z), lo/hi from bit width, signed, narrow.
    ``BipolarQuant``: y = s * (2 * [x >= 0] - 1). Needs static bit width (an initializer).
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        """Expand the first quantizer found; qonnx reapplies until none is left (fixed point)."""
        for index, node in enumerate(model.graph.node):
            if node.op_type in ("Quant", "BipolarQuant"):
                new_nodes = self._expand(model, node)
                model.graph.node.remove(node)
                for offset, new in enumerate(new_nodes):
                    model.graph.node.insert(index + offset, new)
                return model, True
        return model, False

    def _expand(self, model: ModelWrapper, node) -> list:
        name, out = node.name or node.output[0], node.output[0]
        x, scale = node.input[0], node.input[1]
        t = [f"{name}_lower_{i}" for i in range(6)]
        if node.op_type == "BipolarQuant":
            model.set_initializer(t[5], np.array(2.0, np.float32))
            model.set_initializer(t[4], np.array(0.0, np.float32))
            return [
                helper.make_node("GreaterOrEqual", [x, t[4]], [t[0]]),
                helper.make_node("Cast", [t[0]], [t[1]], to=TensorProto.FLOAT),
                helper.make_node("Mul", [t[1], t[5]], [t[2]]),
                helper.make_node("Sub", [t[2], _one(model, name)], [t[3]]),
                helper.make_node("Mul", [t[3], scale], [out]),
            ]
        bits = model.get_initializer(node.input[3])
        if bits is None:
            raise ExportError(f"{name}: Quant with a dynamic bit width cannot be lowered to standard ONNX")
        lo, hi = _int_range(int(bits), bool(_attr(node, "signed", 1)), bool(_attr(node, "narrow", 0)))
        model.set_initializer(t[4], np.array(lo, np.float32))
        model.set_initializer(t[5], np.array(hi, np.float32))
        rounding = _ROUND_OPS.get(str(_attr(node, "rounding_mode", "ROUND")).upper(), "Round")
        zero = node.input[2]
        return [
            helper.make_node("Div", [x, scale], [t[0]]),
            helper.make_node("Add", [t[0], zero], [t[1]]),
            helper.make_node(rounding, [t[1]], [t[2]]),
            helper.make_node("Clip", [t[2], t[4], t[5]], [t[3]]),
            helper.make_node("Sub", [t[3], zero], [f"{name}_lower_6"]),
            helper.make_node("Mul", [f"{name}_lower_6", scale], [out]),
        ]


def _one(model: ModelWrapper, name: str) -> str:
    tensor = f"{name}_lower_one"
    model.set_initializer(tensor, np.array(1.0, np.float32))
    return tensor


def _int_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    if signed:
        return -(2 ** (bits - 1)) + int(narrow), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1 - int(narrow)


def lower_to_standard_onnx(model: ModelWrapper) -> ModelWrapper:
    """A copy of ``model`` with only standard ONNX ops, readable by onnxruntime.

    Raises:
        ExportError: a quantizer cannot be lowered (e.g. a dynamic bit width).
    """
    from qonnx.transformation.qonnx_to_qcdq import QuantToQCDQ

    lowered = model.transform(FoldConstants(exclude_op_types=[]))  # weight Quant -> float constants
    lowered = lowered.transform(QuantToQCDQ()).transform(ExpandQuantToFloatOps())
    lowered = lowered.transform(RemoveUnusedTensors()).transform(InferShapes())
    standard = [op for op in lowered.model.opset_import if op.domain in ("", "ai.onnx")]
    del lowered.model.opset_import[:]
    lowered.model.opset_import.extend(standard)
    lowered.model.ir_version = min(lowered.model.ir_version, ORT_MAX_IR_VERSION)
    return lowered
