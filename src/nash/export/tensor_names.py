"""Readable tensor names in one pass: the names qonnx's ``GiveReadableTensorNames`` gives, faster.

qonnx renames tensor by tensor, and every rename scans the whole graph (inputs, outputs,
value_info, initializers, every node), so a graph of ``n`` tensors costs ``O(n^2)``: about a
quarter of a ResNet18 export here (1.4 s of 5.2 s at width 8). :class:`ReadableTensorNames`
works out the final name of every tensor first, by the same rules, then writes all names in
one sweep:

* every node output ``k`` is ``<node name>_out<k>``;
* every initializer a node reads is ``<node name>_param<k>`` (``k`` counts the node's
  initializer inputs; a shared initializer takes the name of its last reader, as in qonnx);
* the graph inputs are ``global_in``, ``global_in_1``, ..., the outputs ``global_out``, ...;
* any other tensor listed in value_info / inputs / outputs is ``tensor_<i>`` (its position in
  that list, qonnx's intermediate unique name).

Where qonnx's sequential renames would make two tensors share a name, this pass gives way to
qonnx's own transformation, so the result is the same in every case (tests/export/test_tensor_names.py
checks the two agree on exported networks).
"""

from __future__ import annotations

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation
from qonnx.transformation.general import GiveReadableTensorNames

__all__ = ["ReadableTensorNames", "readable_names"]


def readable_names(model: ModelWrapper) -> dict[str, str] | None:
    """Old name -> new name of every renamed tensor, or ``None`` where the renames would collide."""
    graph = model.graph
    listed = (
        [x.name for x in graph.value_info] + [x.name for x in graph.input] + [x.name for x in graph.output]
    )
    new: dict[str, str] = {}
    for i, name in enumerate(listed):
        new.setdefault(name, f"tensor_{i}")
    initializers = {x.name for x in graph.initializer}
    for node in graph.node:
        if not node.name:
            raise ValueError("found an empty node name; apply GiveUniqueNodeNames first")
        for k, out in enumerate(node.output):
            new[out] = f"{node.name}_out{k}"
        k = 0
        for inp in node.input:
            if inp in initializers:
                new[inp] = f"{node.name}_param{k}"
                k += 1
    for i, inp in enumerate(graph.input):
        new[inp.name] = "global_in" if i == 0 else f"global_in_{i}"
    for i, out in enumerate(graph.output):
        new[out.name] = "global_out" if i == 0 else f"global_out_{i}"
    for container in (graph.input, graph.output, graph.value_info, graph.initializer):
        if len({x.name for x in container}) != len(container):
            return None  # qonnx renames only the first of two equal names
    if any(len(set(n.input)) != len(n.input) or len(set(n.output)) != len(n.output) for n in graph.node):
        return None  # and only the first of a node's two equal inputs
    names = set(listed) | initializers | {t for n in graph.node for t in (*n.input, *n.output)}
    names.discard("")
    final = [new.get(name, name) for name in names]
    if len(set(final)) != len(final) or any(name.startswith("tensor_") for name in names):
        return None  # qonnx's renames would merge tensors (or meet its own temporary names)
    return {old: name for old, name in new.items() if old != name}


class ReadableTensorNames(Transformation):
    """qonnx's ``GiveReadableTensorNames`` (same names) in one sweep over the graph."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        rename = readable_names(model)
        if rename is None:
            return GiveReadableTensorNames().apply(model)
        graph = model.graph
        for container in (graph.input, graph.output, graph.value_info, graph.initializer):
            for item in container:
                item.name = rename.get(item.name, item.name)
        for annotation in graph.quantization_annotation:
            annotation.tensor_name = rename.get(annotation.tensor_name, annotation.tensor_name)
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name in rename:
                    node.input[i] = rename[name]
            for i, name in enumerate(node.output):
                if name in rename:
                    node.output[i] = rename[name]
        return model, False
