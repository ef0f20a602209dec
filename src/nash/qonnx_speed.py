"""Linear-time versions of three qonnx 1.0.0 graph passes that are quadratic in the graph size.

qonnx runs these on every ``ModelWrapper`` it builds and in every ``transform(...)`` clean-up, so
an export, a lowering, an equivalence check or a FINN+ build of a ResNet18 runs them dozens of
times; each looks names up by scanning a list, once per tensor:

* ``ModelWrapper.check_all_tensor_shapes_specified`` (every ``ModelWrapper(...)``, every
  ``InferShapes``): ``get_tensor_shape`` per node input/output, each rebuilding the list of all
  value infos;
* ``SortGraph``: ``find_producer`` (a scan over all nodes) per node input;
* ``GiveUniqueParameterTensors``: ``get_initializer`` (a scan over all initializers) per input.

Together they were about 30 % of the export tests' time (tests/export: 30 s of 104 s). The
replacements below give the same graph, bit for bit: they build the name maps once and otherwise
follow qonnx's steps; wherever a graph has a case whose lookup order would matter (a name listed
twice, a parameter read twice, two nodes writing one tensor) they hand over to qonnx's own code.
tests/test_qonnx_speed.py compares both on exported, lowered and shuffled graphs.

:func:`install` swaps them in (idempotent). It does so only for the qonnx version they were written
against (``qonnx==1.0.0``, pinned by FINN+ and by us); with any other version qonnx is left alone.
The modules that run qonnx passes (``nash.export``, ``nash.hw.graph``, ``nash.finn``) call it on import.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["install", "installed", "QONNX_VERSION"]

QONNX_VERSION = "1.0.0"  # the version whose code these functions reproduce
_ORIGINAL: dict[str, Any] = {}


def _qonnx_version() -> str | None:
    try:
        return version("qonnx")
    except PackageNotFoundError:
        return None


def check_all_tensor_shapes_specified(self: Any, fix_missing_init_shape: bool = False) -> bool:
    """``ModelWrapper.check_all_tensor_shapes_specified`` with one name map instead of a scan per name."""
    graph = self._model_proto.graph
    listed = (
        [x.name for x in graph.input] + [x.name for x in graph.output] + [x.name for x in graph.value_info]
    )
    if len(set(listed)) != len(listed):  # qonnx asserts on a name with two value infos: let it
        return _ORIGINAL["check"](self, fix_missing_init_shape)
    initializers = {x.name: x for x in graph.initializer}
    if len(initializers) != len(graph.initializer):  # qonnx reads the first of two equal names
        return _ORIGINAL["check"](self, fix_missing_init_shape)
    known = set(listed)
    ret = True
    for node in graph.node:
        for name in (*(i for i in node.input if i != ""), *node.output):
            if name in known:
                continue
            if name not in initializers:
                ret = False
                continue
            if fix_missing_init_shape:  # qonnx adds a value info with the initializer's shape
                init = initializers[name]
                self.set_tensor_shape(name, list(init.dims), dtype=init.data_type)
                known.add(name)
    return ret


def sort_graph(self: Any, model: Any) -> tuple[Any, bool]:
    """``SortGraph.apply`` with a producer map instead of a scan over all nodes per input."""
    from qonnx.util.basic import get_by_name
    from toposort import toposort_flatten

    nodes = list(model.graph.node)
    if len(nodes) == 1:
        return model, False
    producer: dict[str, int] = {}
    for idx, node in enumerate(nodes):
        for out in node.output:
            producer.setdefault(out, idx)  # find_producer returns the first writer
    if len({n.name for n in nodes}) != len(nodes) or len(producer) != sum(len(n.output) for n in nodes):
        return _ORIGINAL["sort"](self, model)  # unnamed/duplicate nodes or two writers of one tensor
    deps: dict[int, set[int]] = {}
    for idx, node in enumerate(nodes):
        preds = [producer[i] for i in node.input if i in producer]
        if preds:
            deps[idx] = set(preds)
        elif len(node.input) > 0 and any(
            get_by_name(model.graph.initializer, i) or get_by_name(model.graph.input, i) for i in node.input
        ):
            deps[idx] = set()
        # a node without predecessors, graph inputs or initializers is dropped, as qonnx does
    order = toposort_flatten(deps)
    for node in nodes:
        model.graph.node.remove(node)
    for new_idx, idx in enumerate(order):
        model.graph.node.insert(new_idx, nodes[idx])
    return model, False


def unique_parameter_tensors(self: Any, model: Any) -> tuple[Any, bool]:
    """``GiveUniqueParameterTensors.apply``: a no-op check in one pass; qonnx's copy where a parameter repeats."""
    initializers = {x.name for x in model.graph.initializer}
    seen: set[str] = set()
    for node in model.graph.node:
        for name in node.input:
            if name in initializers:
                if name in seen:
                    return _ORIGINAL["unique"](self, model)
                seen.add(name)
    return model, False


def install() -> bool:
    """Swap the three linear-time passes into qonnx; True when they are in place."""
    if _ORIGINAL:
        return True
    if _qonnx_version() != QONNX_VERSION:
        return False
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.general import GiveUniqueParameterTensors, SortGraph

    _ORIGINAL.update(
        check=ModelWrapper.check_all_tensor_shapes_specified,
        sort=SortGraph.apply,
        unique=GiveUniqueParameterTensors.apply,
    )
    ModelWrapper.check_all_tensor_shapes_specified = check_all_tensor_shapes_specified
    SortGraph.apply = sort_graph
    GiveUniqueParameterTensors.apply = unique_parameter_tensors
    return True


def installed() -> bool:
    """Whether :func:`install` swapped the passes in."""
    return bool(_ORIGINAL)


def original(name: str) -> Any:
    """qonnx's own function behind one of the replacements: ``check``, ``sort`` or ``unique`` (tests)."""
    return _ORIGINAL[name]
