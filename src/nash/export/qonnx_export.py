"""Brevitas -> QONNX export: TorchScript export, qonnx cleanup, fixed 1xCxHxW input, metadata.

The file is written atomically (temporary file, then rename): an export that fails half-way
leaves no output file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import onnx
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.general import (
    GiveUniqueNodeNames,
    GiveUniqueParameterTensors,
    RemoveStaticGraphInputs,
    RemoveUnusedTensors,
)
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.transformation.quant_constant_folding import FoldTransposeIntoQuantInit

from nash import __version__
from nash.errors import ExportError
from nash.export.tensor_names import ReadableTensorNames
from nash.io import atomic_path
from nash.qonnx_speed import install as _install_qonnx_speed

__all__ = ["export_model", "load_qonnx", "read_metadata"]

_QONNX_OPS = ("Quant", "Trunc", "BipolarQuant")
_install_qonnx_speed()  # linear-time qonnx clean-up passes (same graphs), nash.qonnx_speed
# qonnx's GiveReadableTensorNames in one sweep: the same file, ~1.4 s less per ResNet18 export
_READABLE_NAMES = ReadableTensorNames


def _to_qonnx(model: torch.nn.Module, input_shape: tuple[int, int, int], path: Path) -> None:
    from brevitas.export import export_qonnx

    example = torch.zeros(1, *input_shape)
    # dynamo=False: the TorchScript exporter is ~15x faster here and emits the op set FINN's
    # streamlining expects (GlobalAveragePool/Flatten rather than ReduceMean/Reshape).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, example, str(path), dynamo=False)


def _cleanup(path: Path, input_shape: tuple[int, int, int]) -> ModelWrapper:
    """qonnx's ``cleanup_model`` pass list, without the per-pass tidy-up (2x faster), then one tidy-up."""
    wrapper = ModelWrapper(str(path))
    for node in wrapper.graph.node:
        if node.op_type in _QONNX_OPS:
            node.domain = "qonnx.custom_op.general"
    wrapper.set_tensor_shape(wrapper.graph.input[0].name, [1, *input_shape])  # fixed 1xCxHxW input
    passes = [
        InferShapes(),
        GiveUniqueParameterTensors(),
        FoldConstants(exclude_op_types=["Quant", "BipolarQuant", "QuantizeLinear", "DequantizeLinear"]),
        FoldTransposeIntoQuantInit(),
        RemoveUnusedTensors(),
        RemoveStaticGraphInputs(),
        GiveUniqueNodeNames(),
        _READABLE_NAMES(),
    ]
    for transformation in passes:
        wrapper = wrapper.transform(transformation, cleanup=False)
    return wrapper.cleanup().transform(InferShapes())


def _set_metadata(wrapper: ModelWrapper, meta: Mapping[str, Any]) -> None:
    # Model-level props are what ONNX tools and onnxruntime show; graph-level ones are what qonnx's
    # ModelWrapper.get_metadata_prop (and so FINN) reads. Both get the same entries.
    props = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()}
    onnx.helper.set_model_props(wrapper.model, props)
    for key, value in props.items():
        wrapper.set_metadata_prop(key, value)


def export_model(
    model: torch.nn.Module,
    input_shape: tuple[int, int, int] | list[int],
    out_path: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Export a Brevitas model to a cleaned-up QONNX file with a fixed 1xCxHxW input.

    Args:
        model: the Brevitas model (put in eval mode here; its training flag is restored after).
        input_shape: (C, H, W) of one input image.
        out_path: the ``.onnx`` file to write (atomically).
        metadata: values stored as ONNX ``metadata_props`` (non-strings as JSON); ``nash_version``
            is always added.

    Returns:
        ``out_path`` as a Path.

    Raises:
        ExportError: Brevitas or qonnx could not export/clean the model.
    """
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ExportError(f"input_shape must be (C, H, W) with positive sizes, got {tuple(input_shape)}")
    was_training = model.training
    model.eval()
    try:
        with tempfile.TemporaryDirectory(prefix="nash-export-") as tmp:
            raw = Path(tmp) / "raw.onnx"
            _to_qonnx(model, shape, raw)
            wrapper = _cleanup(raw, shape)
    except (RuntimeError, ValueError, TypeError, AttributeError, onnx.checker.ValidationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"QONNX export of {type(model).__name__} failed: {first}") from exc
    finally:
        model.train(was_training)
    _set_metadata(wrapper, {"nash_version": __version__, **dict(metadata or {})})
    onnx.checker.check_model(wrapper.model)
    with atomic_path(out_path) as tmp_path:
        wrapper.save(str(tmp_path))
    return Path(out_path)


def load_qonnx(path: str | os.PathLike[str]) -> ModelWrapper:
    """Open a QONNX/ONNX file as a ModelWrapper; a missing or unreadable file raises ExportError."""
    p = Path(path)
    if not p.is_file():
        raise ExportError(f"ONNX file {p} not found; pass the path of an exported model")
    try:
        return ModelWrapper(str(p))
    except (onnx.onnx_cpp2py_export.checker.ValidationError, OSError, ValueError) as exc:
        raise ExportError(f"{p} is not a readable ONNX model ({type(exc).__name__}); re-export it") from exc
    except Exception as exc:  # protobuf's DecodeError has no stable import path
        if type(exc).__name__ != "DecodeError":
            raise
        raise ExportError(f"{p} is not a readable ONNX model (corrupt protobuf); re-export it") from exc


def read_metadata(model: ModelWrapper) -> dict[str, str]:
    """The model's ``metadata_props`` as a dict."""
    return {p.key: p.value for p in model.model.metadata_props}
