"""Dataflow-conformance check: can FINN map this QONNX graph onto streaming hardware layers?

Read-only analysis functions ``ModelWrapper -> list[Violation]`` (they never mutate the model).
Which nodes have a dataflow layer at all is decided in one place, the hardware lowering: the
``unsupported-op`` rule is a dry run of ``nash.hw`` lowering (``nash.hw.dry_run``), so a graph
passes it exactly when ``nash hw estimate`` can lower it. The other rules check what FINN's
streamlining needs beyond that (``finn-cost-model.md`` §9): FINN turns every Conv/MatMul into an integer MVAU,
every residual Add into an ``AddStreams`` whose two inputs must be integer streams, every MaxPool
into a streaming pool on integers. A tensor is *quantized* when it is produced by a ``Quant`` /
``BipolarQuant`` / ``MultiThreshold`` node, possibly seen through ops that keep it on a scaled
integer grid (shape-only ops, max pooling, average pooling = integer sum times a constant).

How to add a rule:
    write ``_check_<rule>(model) -> list[Violation]`` and append it to ``_RULES``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from qonnx.core.modelwrapper import ModelWrapper

from nash.errors import NashError
from nash.hw.lowering import SUPPORTED_OPS, dry_run

__all__ = ["Violation", "SUPPORTED_OPS", "QUANT_OPS", "check_conformance", "is_quantized"]

QUANT_OPS: frozenset[str] = frozenset({"Quant", "BipolarQuant", "MultiThreshold"})
# ops through which a quantized tensor stays on a (scaled) integer grid
_TRANSPARENT_OPS: frozenset[str] = frozenset(
    {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "MaxPool"}
    | {"GlobalAveragePool", "AveragePool", "Pad"}
)
_MAC_OPS = ("Conv", "MatMul", "Gemm")
# ops that leave values on exactly the same integer grid (no scaling)
_GRID_KEEPING_OPS = frozenset(
    {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "MaxPool"}
)


@dataclass(frozen=True)
class Violation:
    """One reason the graph will not map to FINN dataflow layers.

    Attributes:
        rule: short rule id, e.g. ``"add-unquantized-input"``.
        node: name of the offending ONNX node.
        op_type: its op type.
        message: what is wrong.
        hint: what to change in the model.
    """

    rule: str
    node: str
    op_type: str
    message: str
    hint: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict."""
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.node} ({self.op_type}) [{self.rule}]: {self.message}; {self.hint}"


def is_quantized(model: ModelWrapper, tensor: str) -> bool:
    """True if ``tensor`` is on a scaled integer grid: made by a quantizer, possibly through
    grid-preserving ops, or the sum of two such tensors (an AddStreams output)."""
    return _quantized(model, tensor, set())


def _quantized(model: ModelWrapper, tensor: str, seen: set[str]) -> bool:
    if tensor in seen:
        return False
    seen.add(tensor)
    producer = model.find_producer(tensor)
    if producer is None:
        return False  # graph input or a float initializer
    if producer.op_type in QUANT_OPS:
        return True
    if producer.op_type in _TRANSPARENT_OPS:
        return _quantized(model, producer.input[0], seen)
    if producer.op_type in ("Add", "Sum"):
        dynamic = [t for t in producer.input if not _is_const(model, t)]
        return len(dynamic) == len(producer.input) and all(_quantized(model, t, seen) for t in dynamic)
    return False


def _is_const(model: ModelWrapper, tensor: str) -> bool:
    return model.get_initializer(tensor) is not None


def _quant_weight(model: ModelWrapper, tensor: str) -> bool:
    """A weight is quantized if a quantizer produces it or it is an initializer with an integer dtype."""
    if is_quantized(model, tensor):
        return True
    return _is_const(model, tensor) and model.get_tensor_datatype(tensor).is_integer()


def _check_ops(model: ModelWrapper) -> list[Violation]:
    """``unsupported-op``: every node the hardware lowering rejects, with its reason."""
    try:
        rejected = dry_run(model)
    except NashError as exc:  # e.g. shape inference fails or a Quant has a dynamic bit width
        return [
            Violation(
                "unsupported-op", "", "", f"the hardware lowering cannot read the graph: {exc}", "fix it"
            )
        ]
    hint = f"replace it by an op with a dataflow layer: {', '.join(sorted(SUPPORTED_OPS))}"
    return [
        Violation(
            "unsupported-op",
            r.node,
            r.op_type,
            f"op type {r.op_type} has no FINN dataflow layer" + (f" ({r.reason})" if r.reason else ""),
            hint,
        )
        for r in rejected
    ]


def _check_adds(model: ModelWrapper) -> list[Violation]:
    out = []
    for node in model.graph.node:
        if node.op_type not in ("Add", "Sum"):
            continue
        dynamic = [t for t in node.input if not _is_const(model, t)]
        if len(node.input) > 2:
            out.append(
                Violation(
                    "add-too-many-inputs",
                    node.name,
                    node.op_type,
                    f"{len(node.input)}-input addition; AddStreams joins exactly two streams",
                    "cascade the additions two at a time",
                )
            )
        if len(dynamic) < 2:
            continue  # a constant bias add is absorbed into thresholds by streamlining
        for t in dynamic:
            if not is_quantized(model, t):
                out.append(
                    Violation(
                        "add-unquantized-input",
                        node.name,
                        node.op_type,
                        f"input {t} is not quantized",
                        "put a quantizer (QuantIdentity/QuantHardTanh) on every add input",
                    )
                )
    return out


def _grid(model: ModelWrapper, tensor: str) -> tuple[Any, ...] | None:
    """(scale, zero point, bit width, attributes) of the Quant that defines ``tensor``'s grid, if static."""
    producer = model.find_producer(tensor)
    while producer is not None and producer.op_type in _GRID_KEEPING_OPS:
        producer = model.find_producer(producer.input[0])
    if producer is None or producer.op_type not in ("Quant", "BipolarQuant"):
        return None
    params = [model.get_initializer(t) for t in producer.input[1:]]
    if any(p is None for p in params):
        return None
    attrs = tuple(sorted((a.name, a.i) for a in producer.attribute if a.type == a.INT))
    return (producer.op_type, *(p.round(9).tolist() for p in params), attrs)


def _check_add_grids(model: ModelWrapper) -> list[Violation]:
    out = []
    for node in model.graph.node:
        if node.op_type != "Add" or any(_is_const(model, t) for t in node.input):
            continue
        grids = [_grid(model, t) for t in node.input]
        if None not in grids and grids[0] != grids[1]:
            out.append(
                Violation(
                    "add-grid-mismatch",
                    node.name,
                    node.op_type,
                    "the two inputs are quantized with different scales or bit widths",
                    "share one quantizer between both add inputs (AddStreams needs equal types)",
                )
            )
    return out


def _check_macs(model: ModelWrapper) -> list[Violation]:
    out = []
    for node in model.graph.node:
        if node.op_type not in _MAC_OPS or len(node.input) < 2:
            continue
        if not is_quantized(model, node.input[0]):
            out.append(
                Violation(
                    "mac-unquantized-input",
                    node.name,
                    node.op_type,
                    f"input {node.input[0]} is not quantized",
                    "quantize the layer input (QuantIdentity/QuantReLU before it)",
                )
            )
        if not _quant_weight(model, node.input[1]):
            out.append(
                Violation(
                    "mac-unquantized-weight",
                    node.name,
                    node.op_type,
                    f"weight {node.input[1]} is not quantized",
                    "use a Brevitas QuantConv2d/QuantLinear with a weight quantizer",
                )
            )
    return out


def _check_pools(model: ModelWrapper) -> list[Violation]:
    return [
        Violation(
            "maxpool-unquantized-input",
            n.name,
            n.op_type,
            f"input {n.input[0]} is not quantized",
            "quantize the tensor feeding the max pool",
        )
        for n in model.graph.node
        if n.op_type == "MaxPool" and not is_quantized(model, n.input[0])
    ]


_RULES = (_check_ops, _check_adds, _check_add_grids, _check_macs, _check_pools)


def check_conformance(model: ModelWrapper) -> list[Violation]:
    """All dataflow-conformance violations of ``model`` (empty list when FINN can map it).

    Args:
        model: a QONNX model (after cleanup, so that node names are unique).

    Returns:
        Violations in rule order, then graph order.
    """
    return [v for rule in _RULES for v in rule(model)]
