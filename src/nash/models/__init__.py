"""Quantized (Brevitas) ResNets: the original baseline and the derived NASH network.

Example:
    >>> from nash.models import QuantSpec, build_model, count_params_macs
    >>> model = build_model("resnet18", None, QuantSpec.from_tag("w2a2", version="o"), 10,
    ...                     in_channels=1, width=8, stem="small")
    >>> count_params_macs(model, (1, 32, 32))[0] > 0
    True

The NAS-branch ops come from the one op table (``nash.space.OP_TABLE``, built by
:func:`create_op`); the search supernet (``nash.search.supernet``) builds its candidate ops from
the same table. ``QuantSpec`` lives in the torch-free ``nash.space.quant`` and is re-exported here.
"""

from __future__ import annotations

from nash.models.cell import Cell
from nash.models.factory import arch_bits_label, arch_cell_bits, arch_dict, build_model, model_from_arch
from nash.models.layers import ConvBN, QuantAdd, add_act, branch_act, conv2d, signed_act
from nash.models.layout import training_layout
from nash.models.ops import NAS_OPS, OP_BUILDERS, create_op
from nash.models.resnet import STEMS, Head, NashResNet, Stem
from nash.models.summary import count_adds, count_params_macs, nas_edges_by_op, summarize
from nash.space.model_options import ModelOptions
from nash.space.quant import ADD_ACTS, VERSIONS, QuantSpec, bits_label, nas_weight_bits_for

__all__ = [
    "ADD_ACTS",
    "NAS_OPS",
    "OP_BUILDERS",
    "STEMS",
    "VERSIONS",
    "Cell",
    "ConvBN",
    "Head",
    "ModelOptions",
    "NashResNet",
    "QuantAdd",
    "QuantSpec",
    "Stem",
    "add_act",
    "arch_bits_label",
    "arch_cell_bits",
    "arch_dict",
    "branch_act",
    "bits_label",
    "build_model",
    "conv2d",
    "count_adds",
    "count_params_macs",
    "create_op",
    "model_from_arch",
    "nas_edges_by_op",
    "nas_weight_bits_for",
    "signed_act",
    "summarize",
    "training_layout",
]
