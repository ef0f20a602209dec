"""Cells and edges of the backbones (paper Fig. 2): counts, order, size-changing edges."""

from __future__ import annotations

import pytest

from nash.errors import GenotypeError
from nash.space import (
    BackboneSpec,
    cell_edges,
    cell_specs,
    edge_index,
    get_backbone,
    list_backbones,
    n_edges,
)


def test_resnet18_has_four_cells_of_ten_edges():
    specs = cell_specs("resnet18")
    assert [(s.stage, s.n_layers, s.downsample) for s in specs] == [
        (0, 4, False),
        (1, 4, True),
        (2, 4, True),
        (3, 4, True),
    ]
    assert [len(cell_edges(s)) for s in specs] == [10, 10, 10, 10]


def test_resnet34_split_6_44_66_6():
    # 3,4,6,3 blocks -> 6, 8, 12, 6 layers -> 6 | 4+4 | 6+6 | 6; the reference resnet34 genotype
    # (MFJI/NASH resent34/NASH/genotypes.py) has exactly these 6 cells with 6,4,4,6,6,6 nodes.
    specs = cell_specs("resnet34")
    assert [s.n_layers for s in specs] == [6, 4, 4, 6, 6, 6]
    assert [s.stage for s in specs] == [0, 1, 1, 2, 2, 3]
    assert [s.downsample for s in specs] == [False, True, False, True, False, True]
    assert [len(cell_edges(s)) for s in specs] == [21, 10, 10, 21, 21, 21]
    assert [s.index for s in specs] == list(range(6))


@pytest.mark.parametrize(
    ("cell_layers", "layers"),
    [(2, [2] * 16), (4, [4, 2, 4, 4, 4, 4, 4, 4, 2]), (8, [6, 8, 6, 6, 6]), (12, [6, 8, 12, 6])],
)
def test_resnet34_cell_layers_parameter(cell_layers, layers):
    # 4: 3 blocks -> ceil(6/4) = 2 cells of 2 + 1 blocks (larger first); 6 blocks -> 3 cells of 2.
    # 8: 12 layers -> 2 cells of 3 blocks each.
    specs = cell_specs("resnet34", cell_layers)
    assert [s.n_layers for s in specs] == layers
    assert sum(s.n_layers for s in specs) == 32  # every 3x3 layer of resnet34 is in exactly one cell
    assert all(s.n_layers <= cell_layers and s.n_layers % 2 == 0 for s in specs)
    assert sum(s.downsample for s in specs) == 3


def test_cell_layers_2_gives_one_cell_per_block():
    specs = cell_specs("resnet18", 2)
    assert len(specs) == 8
    assert [s.downsample for s in specs] == [False, False, True, False, True, False, True, False]


def test_edge_order_and_size_changing():
    cell = cell_specs("resnet18")[1]
    edges = cell_edges(cell)
    assert [(e.src, e.dst) for e in edges] == [
        (0, 1),
        (0, 2),
        (1, 2),
        (0, 3),
        (1, 3),
        (2, 3),
        (0, 4),
        (1, 4),
        (2, 4),
        (3, 4),
    ]
    assert [e.size_changing for e in edges] == [e.src == 0 for e in edges]
    assert sum(e.size_changing for e in edges) == 4
    assert all(e.cell == 1 for e in edges)
    assert [edge_index(e.src, e.dst) for e in edges] == list(range(10))
    assert n_edges(cell) == 10
    assert not any(e.size_changing for e in cell_edges(cell_specs("resnet18")[0]))


@pytest.mark.parametrize("bad", [0, 3, -2, 2.0, True, "6"])
def test_bad_cell_layers(bad):
    with pytest.raises(GenotypeError, match="cell_layers must be a positive multiple of 2"):
        cell_specs("resnet34", bad)


def test_backbone_registry():
    assert list_backbones() == ["resnet18", "resnet34"]
    assert list_backbones("34") == ["resnet34"]
    spec = get_backbone("resnet34")
    assert isinstance(spec, BackboneSpec)
    assert spec.stage_layers() == (6, 8, 12, 6)
    assert spec.channel_multipliers == (1, 2, 4, 8)
    with pytest.raises(
        GenotypeError, match="unknown backbone 'resnet50'; valid backbones: resnet18, resnet34"
    ):
        cell_specs("resnet50")
