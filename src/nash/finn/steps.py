"""Our FINN+ build steps for the NASH ResNets: prepare, tidy, streamline, convert to HW layers.

FINN's default steps stop on our residual networks (issue 10): the scale ``Mul`` of every quantised
activation that feeds both a convolution and the shortcut requantiser sits on a fork, so the
default ``Streamline`` leaves it in place, the ``Im2Col`` behind it is fed floats, and the shortcut
``Add`` never sees two integer operands. These steps run FINN+'s own transformations in an order
that handles forks and joins, and add the conversions the default ``step_convert_to_hw`` lacks
for our topology. Every step takes and returns a qonnx ``ModelWrapper``; the reasons for each
transformation are in ``docs/finn.md``.

Only FINN+ transformations and analysis passes are used; nothing here needs Vivado.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qonnx.transformation.base import Transformation

__all__ = [
    "InputPreprocessing",
    "input_preprocessing",
    "add_input_preprocessing",
    "step_qonnx_to_finn",
    "step_tidy",
    "step_streamline",
    "step_convert_to_hw",
    "run_until_stable",
    "op_histogram",
]

HW_DOMAIN = "finn.custom_op.fpgadataflow"


# ----------------------------------------------------------------------------------------------
# input preprocessing: the accelerator reads raw 8-bit pixels
# ----------------------------------------------------------------------------------------------


class InputPreprocessing(dict):
    """How raw ``uint8`` pixels become the model's input: ``x = pixels * scale + shift`` per channel.

    Keys: ``scale`` and ``shift`` (lists, one value per input channel or one for all), ``source``
    (``"metadata"``: the dataset normalisation stored by ``nash.export``; ``"default"``: ``x / 255``,
    the usual ToTensor convention of Brevitas/FINN example networks).
    """


def input_preprocessing(meta: Mapping[str, str], channels: int) -> InputPreprocessing:
    """Work out the pixel -> input mapping from the QONNX metadata (``mean``/``std`` as JSON lists)."""
    mean = _json_list(meta.get("mean"))
    std = _json_list(meta.get("std"))
    if mean and std and len(mean) == len(std) and len(mean) in (1, channels):
        if len(mean) == 1 and channels > 1:
            mean, std = mean * channels, std * channels
        scale = [1.0 / (255.0 * s) for s in std]
        shift = [-m / s for m, s in zip(mean, std)]
        return InputPreprocessing(scale=scale, shift=shift, source="metadata")
    return InputPreprocessing(scale=[1.0 / 255.0], shift=[0.0], source="default")


def _json_list(text: str | None) -> list[float]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
        return [float(v) for v in value]
    return []


def add_input_preprocessing(model: Any, prep: Mapping[str, Any]) -> Any:
    """Put ``Mul(scale)`` and ``Add(shift)`` in front of the graph input and declare it ``UINT8``.

    Streamlining folds both into the thresholds of the input quantiser, so the first HW layer is a
    Thresholding on 8-bit pixels (as in FINN's own image classifiers) instead of a float node that
    would have to stay on the host.
    """
    from onnx import TensorProto, helper
    from qonnx.core.datatype import DataType

    graph = model.graph
    inp = graph.input[0].name
    shape = model.get_tensor_shape(inp)
    channels = int(shape[1]) if shape and len(shape) == 4 else 1
    consumers = model.find_consumers(inp)
    scaled, shifted = model.make_new_valueinfo_name(), model.make_new_valueinfo_name()
    nodes = []
    for op, value, src, dst in (
        ("Mul", prep["scale"], inp, scaled),
        ("Add", prep["shift"], scaled, shifted),
    ):
        param = model.make_new_valueinfo_name()
        arr = np.asarray(value, dtype=np.float32)
        if arr.size > 1 and channels == arr.size:
            arr = arr.reshape(1, channels, 1, 1)
        else:
            arr = arr.reshape(())
        model.set_initializer(param, arr)
        nodes.append(helper.make_node(op, [src, param], [dst], name=f"Preprocess{op}"))
        graph.value_info.append(helper.make_tensor_value_info(dst, TensorProto.FLOAT, shape))
    for c in consumers:
        for k, name in enumerate(c.input):
            if name == inp:
                c.input[k] = shifted
    for k, n in enumerate(nodes):
        graph.node.insert(k, n)
    model.set_tensor_datatype(inp, DataType["UINT8"])
    return model


# ----------------------------------------------------------------------------------------------
# a cheap fixed-point driver for FINN transformations
# ----------------------------------------------------------------------------------------------


def _refresh(model: Any) -> Any:
    """Shapes and datatypes after a change (FINN's per-transformation tidy minus the renaming).

    Runs in place without qonnx's per-transform clean-up (the caller cleans up once).
    """
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.remove import RemoveIdentityOps

    for t in (RemoveIdentityOps(), InferShapes(), InferDataTypes()):
        model = model.transform(t, make_deepcopy=False, cleanup=False)
    return model


def run_until_stable(model: Any, transforms: Sequence[Any], *, max_rounds: int = 8) -> Any:
    """Apply ``transforms`` in order, each until it reports no change, until a round changes nothing.

    FINN's ``Streamline`` and FINN+'s ``StreamlinePlus`` re-run shape/datatype inference and renaming
    after every transformation whether or not it matched; on a ResNet that is most of the time spent.
    Here the (same) tidy-up runs only after a transformation actually changed the graph, which gives
    the same fixed point several times faster.
    """
    for _ in range(max_rounds):
        round_changed = False
        for t in transforms:
            changed = False
            for _guard in range(1000):
                model, modified = t.apply(model)
                if not modified:
                    break
                changed = True
            if changed:
                model = _refresh(model)
                model.cleanup()
                round_changed = True
        if not round_changed:
            break
    return model


def op_histogram(model: Any) -> dict[str, int]:
    """Node count per op type (sorted by name)."""
    return dict(sorted(Counter(n.op_type for n in model.graph.node).items()))


# ----------------------------------------------------------------------------------------------
# steps
# ----------------------------------------------------------------------------------------------


def step_qonnx_to_finn(model: Any, prep: Mapping[str, Any] | None) -> Any:
    """QONNX clean-up, input preprocessing, forked ReLUs split, ``Quant`` -> ``MultiThreshold`` + scale."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from qonnx.core.datatype import DataType
    from qonnx.util.cleanup import cleanup_model

    model = cleanup_model(model)
    if prep is not None:
        model = add_input_preprocessing(model, prep)
    _fill_conv_defaults(model)
    model = model.transform(SplitForkedActivations())
    model = model.transform(ConvertQONNXtoFINN())
    if prep is not None:
        model.set_tensor_datatype(model.graph.input[0].name, DataType["UINT8"])
    return model


def _fill_conv_defaults(model: Any) -> None:
    """Write ONNX's default ``group``/``dilations`` into every ``Conv`` (qonnx's lowering reads them)."""
    from onnx import helper

    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        names = {a.name for a in node.attribute}
        if "group" not in names:
            node.attribute.append(helper.make_attribute("group", 1))
        if "dilations" not in names:
            rank = len(model.get_tensor_shape(node.input[1]) or [0, 0, 1, 1]) - 2
            node.attribute.append(helper.make_attribute("dilations", [1] * max(rank, 1)))


def step_tidy(model: Any) -> Any:
    """Shapes, constant folding, unique readable names, datatypes (FINN's tidy-up)."""
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.general import (
        GiveReadableTensorNames,
        GiveUniqueNodeNames,
        RemoveStaticGraphInputs,
        RemoveUnusedTensors,
    )
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes

    for t in (
        InferShapes(),
        FoldConstants(),
        GiveUniqueNodeNames(),
        GiveReadableTensorNames(),
        InferDataTypes(),
        RemoveStaticGraphInputs(),
        RemoveUnusedTensors(),
    ):
        model = model.transform(t)
    return model


def _streamline_transforms() -> list[Any]:
    """The scale/bias movers and absorbers, fork- and join-aware, in application order."""
    from finn.transformation.streamline import absorb, collapse_repeated, reorder
    from finn.transformation.streamline.sign_to_thres import ConvertSignToThres
    from qonnx.transformation.batchnorm_to_affine import BatchNormToAffine
    from qonnx.transformation.general import ConvertDivToMul, ConvertSubToAdd

    return [
        ConvertSubToAdd(),
        ConvertDivToMul(),
        BatchNormToAffine(),
        ConvertSignToThres(),
        # signed quantisers (the identity/HardTanh before every add, the input and classifier
        # quantisers) export as "thresholds + integer bias": fold the bias into the thresholds
        AbsorbScalarBiasesIntoThresholds(),
        # a scale Mul that feeds both the next conv and the shortcut requantiser: copy it onto
        # each branch, where it meets a conv or a MultiThreshold
        reorder.MoveMulPastFork(),
        reorder.MoveAddPastFork(),
        # both operands of every residual/NAS add share one quantiser: (x*s) + (y*s) -> (x+y)*s
        reorder.MoveLinearPastEltwiseAdd(),
        # NAS max-pool branches: scale (positive) commutes with max
        reorder.MoveMulPastMaxPool(),
        reorder.MoveScalarLinearPastInvariants(),
        reorder.MoveAddPastMul(),
        reorder.MoveScalarAddPastMatMul(),
        reorder.MoveAddPastConv(),
        reorder.MoveScalarMulPastMatMul(),
        reorder.MoveScalarMulPastConv(),
        reorder.MoveScalesPastIm2Col(),
        reorder.MoveAddPastMul(),
        collapse_repeated.CollapseRepeatedAdd(),
        collapse_repeated.CollapseRepeatedMul(),
        absorb.AbsorbAddIntoMultiThreshold(),
        absorb.FactorOutMulSignMagnitude(),
        absorb.AbsorbMulIntoMultiThreshold(),
        absorb.Absorb1BitMulIntoMatMul(),
        absorb.Absorb1BitMulIntoConv(),
    ]


def _transpose_transforms() -> list[Any]:
    """Push the NHWC<->NCHW transposes that lowering puts around every conv until they cancel."""
    from finn.transformation.streamline import absorb, reorder
    from finn.transformation.streamline.collapse_repeated import CollapseRepeatedTranspose
    from finn.transformation.streamline.remove import RemoveIdentityTranspose

    return [
        absorb.AbsorbTransposeIntoMultiThreshold(),
        SafeMakeMaxPoolNHWC(),
        reorder.MoveTransposePastFork(),
        reorder.MoveTransposePastJoinAdd(),
        reorder.MoveTransposePastEltwise(),
        CollapseRepeatedTranspose(),
        absorb.AbsorbConsecutiveTransposes(),
        RemoveIdentityTranspose(),
    ]


def step_streamline(model: Any) -> Any:
    """Integer-only dataflow: scales and biases moved through forks/joins and absorbed into thresholds.

    Round 1 works on the NCHW graph with ``Conv`` nodes; then convolutions are lowered to
    ``Im2Col`` + ``MatMul`` in NHWC, transposes are pushed through the thresholds and cancelled, and
    round 2 absorbs what the lowering exposed. Thresholds are rounded last.
    """
    from finn.transformation.fpgadataflow.convert_to_hw.global_acc_pool import InferGlobalAccPoolLayer
    from finn.transformation.streamline.round_thresholds import RoundAndClipThresholds
    from qonnx.transformation.bipolar_to_xnor import ConvertBipolarMatMulToXnorPopcount
    from qonnx.transformation.infer_data_layouts import InferDataLayouts
    from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul

    transforms = _streamline_transforms()
    model = run_until_stable(model, transforms)
    model = model.transform(LowerConvsToMatMul())
    model = model.transform(SafeMakeMaxPoolNHWC())
    model = run_until_stable(model, _transpose_transforms())
    model = model.transform(ConvertBipolarMatMulToXnorPopcount())
    model = run_until_stable(model, transforms)
    # head: GlobalAveragePool -> GlobalAccPool (integer sum) + Mul(1 / (H * W)); the Mul then moves
    # past Flatten and into the classifier quantiser's thresholds
    model = model.transform(InferDataLayouts())
    model = model.transform(InferGlobalAccPoolLayer())
    model = run_until_stable(model, _transpose_transforms() + transforms)
    model = model.transform(RoundAndClipThresholds())
    model = _refresh(model)
    return model.transform(InferDataLayouts())


class SplitForkedActivations(Transformation):
    """Give every consumer of a forked ``Relu``/``Clip`` its own copy of the node.

    In a NASH cell the node value ``x_j`` feeds both the main-branch ReLU quantiser (main bits)
    and the NAS-branch ReLU quantiser (8 bits); Brevitas exports one ``Relu`` with two ``Quant``
    consumers. FINN+'s QONNX->FINN conversion folds each ``Relu -> Quant`` pair into one
    ``MultiThreshold`` and deletes the ``Relu`` while converting the first pair, leaving the
    second ``MultiThreshold`` reading a tensor nobody produces. With one ``Relu`` per ``Quant``
    every pair converts on its own; the computation is unchanged.
    """

    def apply(self, model: Any) -> tuple[Any, bool]:
        import copy

        graph = model.graph
        changed = False
        for node in list(graph.node):
            if node.op_type not in ("Relu", "Clip"):
                continue
            consumers = model.find_consumers(node.output[0])
            if len(consumers) < 2:
                continue
            for consumer in consumers[1:]:
                twin = copy.deepcopy(node)
                twin.name = f"{node.name}_split{len(graph.node)}"
                twin.output[0] = model.make_new_valueinfo_name()
                for k, name in enumerate(consumer.input):
                    if name == node.output[0]:
                        consumer.input[k] = twin.output[0]
                graph.node.insert(list(graph.node).index(node) + 1, twin)
            changed = True
        return model, changed


class SafeMakeMaxPoolNHWC(Transformation):
    """FINN's ``MakeMaxPoolNHWC``, but never on a ``MaxPool`` whose output forks.

    When the pool's output feeds a transpose *and* other nodes (the ImageNet stem's max-pool feeds
    the first conv and the first shortcut requantiser), FINN's rewrite renames the pool's output
    and the other consumers are left reading the un-pooled tensor (a wrong graph, seen on the
    3x224x224 ResNet18). Forked pools get a temporary ``Identity`` behind them so that only the
    safe direction of the rewrite (a transpose *in front* of the pool) can apply.
    """

    def apply(self, model: Any) -> tuple[Any, bool]:
        from finn.transformation.streamline.reorder import MakeMaxPoolNHWC
        from onnx import helper

        graph = model.graph
        guards = []
        for node in list(graph.node):
            if node.op_type == "MaxPool" and len(model.find_consumers(node.output[0])) > 1:
                hidden = model.make_new_valueinfo_name()
                model.set_tensor_shape(hidden, model.get_tensor_shape(node.output[0]))
                model.set_tensor_datatype(hidden, model.get_tensor_datatype(node.output[0]))
                guard = helper.make_node("Identity", [hidden], [node.output[0]], name=f"{node.name}_guard")
                node.output[0] = hidden
                graph.node.insert(list(graph.node).index(node) + 1, guard)
                guards.append(guard)
        model, changed = MakeMaxPoolNHWC().apply(model)
        for guard in guards:
            prod = model.find_producer(guard.input[0])
            prod.output[0] = guard.output[0]
            model.graph.node.remove(guard)
        return model, changed


class RemoveUnitTranspose(Transformation):
    """Drop a ``Transpose`` that only moves size-1 axes (e.g. NHWC -> NCHW of a 1x1xC pooled vector).

    Such a transpose leaves the element order unchanged, so on a stream it is a no-op; removing it
    lets FINN's ``RemoveCNVtoFCFlatten`` drop the ``Flatten`` behind the GlobalAccPool as well.
    The transpose of the graph input is kept: it is the documented host-side I/O node.
    """

    def apply(self, model: Any) -> tuple[Any, bool]:
        graph = model.graph
        outputs = {o.name for o in graph.output}
        for node in list(graph.node):
            if node.op_type != "Transpose" or node.output[0] in outputs:
                continue
            shape = model.get_tensor_shape(node.input[0])
            perm = [list(a.ints) for a in node.attribute if a.name == "perm"]
            if shape is None or not perm or model.find_producer(node.input[0]) is None:
                continue
            if [shape[p] for p in perm[0] if shape[p] != 1] != [d for d in shape if d != 1]:
                continue
            for consumer in model.find_consumers(node.output[0]):
                for k, name in enumerate(consumer.input):
                    if name == node.output[0]:
                        consumer.input[k] = node.input[0]
            graph.node.remove(node)
            return model, True
        return model, False


class AbsorbScalarBiasesIntoThresholds(Transformation):
    """``MultiThreshold -> Add(scalar c)`` becomes one ``MultiThreshold`` with ``out_bias += c``.

    The same rewrite as FINN+'s ``AbsorbScalarBiasIntoMultiThreshold`` (and with its rule that the
    output type must not get wider), but every match of the graph in one pass followed by one
    datatype inference, instead of one match per pass with full shape and datatype inference
    after each: on a NASH ResNet (40-80 signed quantisers) this step went from minutes to seconds.
    Signed quantisers (the identity/HardTanh before every add, the input and classifier
    quantisers) export as "unsigned steps + negative integer bias"; this puts the bias back into
    the threshold node, as the paper's flow does with ``AbsorbSignBiasIntoMultiThreshold``.
    """

    def apply(self, model: Any) -> tuple[Any, bool]:
        from qonnx.core.datatype import DataType
        from qonnx.custom_op.registry import getCustomOp
        from qonnx.transformation.infer_datatypes import InferDataTypes

        graph = model.graph
        changed = False
        for node in list(graph.node):
            if node.op_type != "MultiThreshold" or model.is_fork_node(node) or model.is_join_node(node):
                continue
            add = model.find_consumer(node.output[0])
            if add is None or add.op_type != "Add":
                continue
            bias = model.get_initializer(add.input[1])
            thr = model.get_initializer(node.input[1])
            if bias is None or thr is None or bias.size != 1:
                continue
            inst = getCustomOp(node)
            old = DataType[inst.get_nodeattr("out_dtype")]
            new_bias = float(inst.get_nodeattr("out_bias")) + float(np.asarray(bias).reshape(-1)[0])
            lo, hi = new_bias, new_bias + thr.shape[-1]
            if lo != int(lo):
                continue
            odt = (
                DataType.get_smallest_possible(hi)
                if lo >= 0
                else DataType.get_smallest_possible(min(lo, -(hi + 1)))
            )
            if not (odt.allowed(lo) and odt.allowed(hi)) or odt.bitwidth() > old.bitwidth():
                continue
            inst.set_nodeattr("out_bias", new_bias)
            inst.set_nodeattr("out_dtype", odt.name)
            node.output[0] = add.output[0]
            graph.node.remove(add)
            model.set_tensor_datatype(node.output[0], odt)
            changed = True
        if changed:
            model = model.transform(InferDataTypes())
        return model, changed


def step_label_select(model: Any, k: int = 1) -> Any:
    """Top-k output: ``TopK`` after the logits, the classifier's positive output scale absorbed into it."""
    from finn.transformation.streamline.absorb import AbsorbScalarMulAddIntoTopK
    from qonnx.transformation.insert_topk import InsertTopK

    model = model.transform(InsertTopK(k=k))
    model = run_until_stable(model, [AbsorbScalarMulAddIntoTopK()])
    return _refresh(model)


def step_convert_to_hw(model: Any) -> Any:
    """Every node of the streamlined graph -> a FINN+ HW layer.

    Order matters: ``MatMul`` -> MVAU first, so that each MVAU takes the ``MultiThreshold`` behind it
    as its activation; the remaining thresholds (input quantiser, shortcut and NAS requantisers,
    the quantisers behind every add) become Thresholding layers; adds of two streams become
    ElementwiseAdd; max-pools become a sliding window + Pool; ``Im2Col`` becomes FMPadding +
    ConvolutionInputGenerator; ``TopK`` becomes LabelSelect; then every fan-out gets a
    DuplicateStreams, and flatten/transposes between HW layers are removed.
    """
    from finn.transformation.fpgadataflow.convert_to_hw.binary_matrix_vector_activation import (
        InferBinaryMatrixVectorActivation,
    )
    from finn.transformation.fpgadataflow.convert_to_hw.conv_inp_gen import InferConvInpGen
    from finn.transformation.fpgadataflow.convert_to_hw.duplicate_streams import InferDuplicateStreamsLayer
    from finn.transformation.fpgadataflow.convert_to_hw.elementwise_binary_operation import (
        InferElementwiseBinaryOperation,
    )
    from finn.transformation.fpgadataflow.convert_to_hw.label_select import InferLabelSelectLayer
    from finn.transformation.fpgadataflow.convert_to_hw.pool import InferPool
    from finn.transformation.fpgadataflow.convert_to_hw.quantized_matrix_vector_activation import (
        InferQuantizedMatrixVectorActivation,
    )
    from finn.transformation.fpgadataflow.convert_to_hw.thresholding import InferThresholdingLayer
    from finn.transformation.move_reshape import RemoveCNVtoFCFlatten
    from finn.transformation.streamline.absorb import AbsorbConsecutiveTransposes
    from qonnx.transformation.general import GiveReadableTensorNames, GiveUniqueNodeNames
    from qonnx.transformation.infer_data_layouts import InferDataLayouts

    model = model.transform(InferDataLayouts())
    for t in (
        InferBinaryMatrixVectorActivation(),
        InferQuantizedMatrixVectorActivation(),
        InferThresholdingLayer(),
        InferElementwiseBinaryOperation(_integer_operands),
        InferPool(),
        InferConvInpGen(),
        InferLabelSelectLayer(),
        InferDuplicateStreamsLayer(),
        AbsorbConsecutiveTransposes(),
        RemoveUnitTranspose(),
        RemoveCNVtoFCFlatten(),
    ):
        model = model.transform(t)
        model = model.transform(InferDataLayouts())
    model = run_until_stable(model, _transpose_transforms())
    model = model.transform(GiveUniqueNodeNames())
    model = model.transform(GiveReadableTensorNames())
    return _refresh(model)


def _integer_operands(model: Any, node: Any) -> bool:
    """Convert an elementwise op to a HW layer only when both operands are integers.

    FINN+ would also accept float ``Add``/``Mul`` as (floating-point) HW layers; in our networks a
    float elementwise op means streamlining did not reach it (e.g. an add of two branches on
    different quantisation grids), which we report as an unsupported node instead of building it.
    """
    for name in node.input[:2]:
        const = model.get_initializer(name)
        if const is not None:
            if not np.array_equal(const, np.rint(const)):
                return False
        elif not model.get_tensor_datatype(name).is_integer():
            return False
    return True


def non_hw_nodes(model: Any) -> list[Any]:
    """Nodes that are not FINN+ HW layers."""
    return [n for n in model.graph.node if not n.domain.startswith(HW_DOMAIN)]
