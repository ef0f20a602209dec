"""The NASH search space (pure Python, no torch): ops, cells and edges, genotypes, strategies v1..v4.

Example:
    >>> from nash.space import cell_specs, cell_edges, get_strategy
    >>> [len(cell_edges(c)) for c in cell_specs("resnet34")]
    [21, 10, 10, 21, 21, 21]
    >>> get_strategy("v3").name
    'v3'
"""

from __future__ import annotations

from nash.space.backbones import (
    BackboneSpec,
    create_backbone,
    get_backbone,
    list_backbones,
    register_backbone,
)
from nash.space.cells import CellSpec, Edge, cell_edges, cell_specs, edge_index, n_edges
from nash.space.display import format_genotype
from nash.space.genotype import CUSTOM_STRATEGY, SCHEMA, Genotype
from nash.space.ops import DEFAULT_UNFRIENDLY, OP_ALIASES, OPS, canonical_op, op_index
from nash.space.reference import default_reference_path, load_reference_genotypes
from nash.space.registry import create_strategy, get_strategy, list_strategies, register_strategy
from nash.space.strategy import Choice, Strategy, is_hardware_friendly, softmax
from nash.space.versions import NashV1, NashV2, NashV3, NashV4

__all__ = [
    "OPS",
    "OP_ALIASES",
    "DEFAULT_UNFRIENDLY",
    "canonical_op",
    "op_index",
    "BackboneSpec",
    "register_backbone",
    "get_backbone",
    "create_backbone",
    "list_backbones",
    "CellSpec",
    "Edge",
    "cell_specs",
    "cell_edges",
    "edge_index",
    "n_edges",
    "Genotype",
    "SCHEMA",
    "CUSTOM_STRATEGY",
    "Strategy",
    "Choice",
    "softmax",
    "register_strategy",
    "get_strategy",
    "create_strategy",
    "list_strategies",
    "is_hardware_friendly",
    "NashV1",
    "NashV2",
    "NashV3",
    "NashV4",
    "load_reference_genotypes",
    "default_reference_path",
    "format_genotype",
]
