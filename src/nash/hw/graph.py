"""Read-only helpers on a QONNX graph: constants, node attributes, quantised weights.

``load_graph`` opens any ONNX/QONNX file with qonnx's ``ModelWrapper``, sorts it topologically and
runs shape inference. ``weight_info`` turns a weight tensor produced by a ``Quant`` or
``BipolarQuant`` node on a constant into its integer datatype and, when the float values are stored
in the file, the integer weight values (needed for accumulator minimisation, finn-cost-model.md §8).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper

from nash.errors import HardwareError
from nash.hw.datatypes import BIPOLAR, DType, int_type

__all__ = ["load_graph", "attr", "WeightInfo", "weight_info", "quant_dtype", "QUANT_OPS"]

QUANT_OPS = ("Quant", "BipolarQuant")


def load_graph(model: Any) -> Any:
    """A sorted, shape-inferred qonnx ``ModelWrapper`` from a path, ``onnx.ModelProto`` or wrapper."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.general import SortGraph
    from qonnx.transformation.infer_shapes import InferShapes

    from nash.qonnx_speed import install

    install()  # linear-time qonnx clean-up passes (same graphs)

    model_path = None
    if isinstance(model, str | os.PathLike):
        path = model_path = Path(model)
        if not path.is_file():
            raise HardwareError(f"ONNX model {path} not found; pass the path of an exported .onnx file")
        try:
            model = onnx.load(str(path))
        except Exception as exc:  # onnx raises DecodeError / ValueError variants
            raise HardwareError(
                f"{path} is not a readable ONNX file ({type(exc).__name__}); re-export it"
            ) from None
    wrapper = model if isinstance(model, ModelWrapper) else ModelWrapper(model)
    if not wrapper.graph.node:  # onnx.load reads a 0-byte or cut-off file as an empty model
        where = model_path or "the model"
        raise HardwareError(f"{where} has no graph nodes (empty or truncated file); re-export it")
    wrapper = wrapper.transform(SortGraph())
    try:
        wrapper = wrapper.transform(InferShapes())
    except Exception as exc:  # shape inference failures come from onnx/qonnx internals
        raise HardwareError(
            f"shape inference failed ({exc}); export the model with static input shapes"
        ) from None
    return wrapper


def attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    """Value of attribute ``name`` of ``node`` (bytes decoded), or ``default``."""
    for a in node.attribute:
        if a.name == name:
            value = helper.get_attribute_value(a)
            return value.decode() if isinstance(value, bytes) else value
    return default


def quant_dtype(model: Any, node: onnx.NodeProto) -> tuple[DType, bool]:
    """Output datatype and narrow flag of a ``Quant``/``BipolarQuant`` node (1-bit signed = BIPOLAR, §9.2)."""
    if node.op_type == "BipolarQuant":
        return BIPOLAR, False
    bits = model.get_initializer(node.input[3]) if len(node.input) > 3 else None
    if bits is None:
        raise HardwareError(
            f"Quant node {node.name!r} has a non-constant bit width; export with constant bit widths"
        )
    bits_i, signed = int(round(float(np.asarray(bits).reshape(-1)[0]))), bool(attr(node, "signed", 1))
    if bits_i == 1 and signed:
        return BIPOLAR, False
    return int_type(bits_i, signed), bool(attr(node, "narrow", 0))


@dataclass(frozen=True)
class WeightInfo:
    """Datatype of a quantised constant and its integer values (``None`` when not recoverable)."""

    dtype: DType
    narrow: bool
    values: np.ndarray | None


def _int_values(model: Any, node: onnx.NodeProto, dtype: DType) -> np.ndarray | None:
    w = model.get_initializer(node.input[0])
    if w is None:
        return None
    if node.op_type == "BipolarQuant" or dtype == BIPOLAR:
        return np.where(w >= 0, 1, -1).astype(np.int64)
    scale = model.get_initializer(node.input[1])
    zp = model.get_initializer(node.input[2])
    if scale is None or zp is None:
        return None
    q = np.round(w / scale + zp)
    lo = dtype.min + (1 if attr(node, "narrow", 0) and dtype.signed else 0)
    return (np.clip(q, lo, dtype.max) - zp).astype(np.int64)


def weight_info(model: Any, node: onnx.NodeProto) -> WeightInfo:
    """``WeightInfo`` of the constant produced by a Quant/BipolarQuant ``node``."""
    dtype, narrow = quant_dtype(model, node)
    return WeightInfo(dtype, narrow, _int_values(model, node, dtype))
