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
    STEMS,
    BackboneSpec,
    create_backbone,
    get_backbone,
    list_backbones,
    register_backbone,
)
from nash.space.cells import CellSpec, Edge, cell_edges, cell_specs, edge_index, n_edges
from nash.space.display import format_genotype
from nash.space.genotype import CUSTOM_STRATEGY, SCHEMA, SCHEMAS, Genotype
from nash.space.ops import (
    DEFAULT_UNFRIENDLY,
    OP_ALIASES,
    OP_TABLE,
    OPS,
    OpSpec,
    canonical_op,
    get_op,
    op_index,
)
from nash.space.quant import ADD_ACTS, BITS_TAG, ORIGINAL, VERSIONS, QuantSpec, bits_label, parse_bits
from nash.space.reference import default_reference_path, load_reference_genotypes
from nash.space.registry import create_strategy, get_strategy, list_strategies, register_strategy
from nash.space.strategy import Choice, Strategy, check_strategy_rule, is_hardware_friendly, softmax
from nash.space.versions import NashV1, NashV2, NashV3, NashV4

__all__ = [
    "OPS",
    "OP_TABLE",
    "OpSpec",
    "get_op",
    "OP_ALIASES",
    "DEFAULT_UNFRIENDLY",
    "canonical_op",
    "op_index",
    "BackboneSpec",
    "STEMS",
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
    "SCHEMAS",
    "CUSTOM_STRATEGY",
    "Strategy",
    "Choice",
    "softmax",
    "register_strategy",
    "get_strategy",
    "create_strategy",
    "list_strategies",
    "is_hardware_friendly",
    "check_strategy_rule",
    "NashV1",
    "NashV2",
    "NashV3",
    "NashV4",
    "QuantSpec",
    "VERSIONS",
    "ORIGINAL",
    "ADD_ACTS",
    "BITS_TAG",
    "parse_bits",
    "bits_label",
    "load_reference_genotypes",
    "default_reference_path",
    "format_genotype",
]
