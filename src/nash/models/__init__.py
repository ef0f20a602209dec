"""Quantized (Brevitas) ResNets: the original baseline and the derived NASH network.

Example:
    >>> from nash.models import QuantSpec, build_model, count_params_macs
    >>> model = build_model("resnet18", None, QuantSpec.from_tag("w2a2", version="o"), 10,
    ...                     in_channels=1, width=8, stem="small")
    >>> count_params_macs(model, (1, 32, 32))[0] > 0
    True

The search supernet lives in ``nash.models.supernet`` / ``nash.models.mixed_op`` (not imported here,
so that building a model does not pull in the search code).
"""

from __future__ import annotations

from nash.models.cell import Cell
from nash.models.factory import (
    arch_dict,
    build_model,
    create_backbone,
    get_backbone,
    list_backbones,
    model_from_arch,
    register_backbone,
)
from nash.models.layers import ConvBN, QuantAdd, add_act, branch_act, signed_act
from nash.models.ops import NAS_OPS, create_op
from nash.models.quant_spec import ADD_ACTS, VERSIONS, QuantSpec, nas_weight_bits_for
from nash.models.resnet import STEMS, Head, NashResNet, Stem
from nash.models.summary import count_adds, count_params_macs, nas_edges_by_op, summarize

__all__ = [
    "ADD_ACTS",
    "NAS_OPS",
    "STEMS",
    "VERSIONS",
    "Cell",
    "ConvBN",
    "Head",
    "NashResNet",
    "QuantAdd",
    "QuantSpec",
    "Stem",
    "add_act",
    "arch_dict",
    "branch_act",
    "build_model",
    "count_adds",
    "count_params_macs",
    "create_backbone",
    "create_op",
    "get_backbone",
    "list_backbones",
    "model_from_arch",
    "nas_edges_by_op",
    "nas_weight_bits_for",
    "register_backbone",
    "signed_act",
    "summarize",
]
