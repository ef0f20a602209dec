"""Cells and edges: where the NAS-convolutional cell's edges sit in a backbone (paper Fig. 2).

A cell covers ``n_layers`` consecutive 3x3 conv layers of one stage and has nodes ``x0..xN``
(``N = n_layers``). Every node ``j >= 1`` has one edge from every earlier node ``i < j``, so a cell
has ``N (N + 1) / 2`` edges (10 for a 4-layer cell, 21 for a 6-layer cell). In a downsample cell
(the first cell of stages 1..3) the edges leaving ``x0`` change the tensor size: stride 2 and
twice the channels.
"""

from __future__ import annotations

from dataclasses import dataclass

from nash.errors import GenotypeError
from nash.space.backbones import get_backbone

__all__ = ["CellSpec", "Edge", "cell_specs", "cell_edges", "edge_index", "n_edges"]


@dataclass(frozen=True)
class CellSpec:
    """One NASH-convolutional cell of a backbone.

    Attributes:
        index: global cell index ``0..n_cells-1``.
        stage: ResNet stage ``0..3``.
        n_layers: backbone 3x3 conv layers in the cell (even: two per basic block); nodes x0..xN.
        downsample: first cell of stages 1..3 (its first layer has stride 2 and doubles channels).
    """

    index: int
    stage: int
    n_layers: int
    downsample: bool

    @property
    def n_nodes(self) -> int:
        """Nodes with an incoming edge (``x1..xN``)."""
        return self.n_layers


@dataclass(frozen=True)
class Edge:
    """The edge ``x_src -> x_dst`` of cell ``cell``; ``size_changing`` when it downsamples."""

    cell: int
    src: int
    dst: int
    size_changing: bool


def _check_cell_layers(cell_layers: object, per_block: int) -> int:
    ok = isinstance(cell_layers, int) and not isinstance(cell_layers, bool)
    if not ok or cell_layers < per_block or cell_layers % per_block:
        raise GenotypeError(
            f"cell_layers must be a positive multiple of {per_block} (whole basic blocks), "
            f"got {cell_layers!r}; use e.g. 4 or 6"
        )
    return cell_layers


def _split_blocks(blocks: int, n_parts: int) -> list[int]:
    # As even as possible; the larger parts come first (3 blocks in 2 cells -> 2 + 1).
    base, extra = divmod(blocks, n_parts)
    return [base + (1 if i < extra else 0) for i in range(n_parts)]


def cell_specs(backbone: str, cell_layers: int | None = None) -> tuple[CellSpec, ...]:
    """The cells of ``backbone``: each stage of L layers becomes ceil(L / cell_layers) cells.

    Args:
        backbone: a registered backbone name (``"resnet18"``, ``"resnet34"``).
        cell_layers: maximum layers per cell; ``None`` = the backbone default (4 / 6).

    Returns:
        One ``CellSpec`` per cell in network order (resnet18: 4 cells of 4 layers; resnet34 with
        6: layer counts 6 | 4, 4 | 6, 6 | 6).

    Raises:
        GenotypeError: unknown backbone, or ``cell_layers`` not a positive multiple of 2.
    """
    spec = get_backbone(backbone)
    per_block = spec.layers_per_block
    layers = spec.cell_layers if cell_layers is None else _check_cell_layers(cell_layers, per_block)
    cells: list[CellSpec] = []
    for stage, blocks in enumerate(spec.stage_blocks):
        n_parts = -(-blocks * per_block // layers)  # ceil
        for part, part_blocks in enumerate(_split_blocks(blocks, n_parts)):
            cells.append(CellSpec(len(cells), stage, part_blocks * per_block, stage > 0 and part == 0))
    return tuple(cells)


def cell_edges(cell: CellSpec) -> tuple[Edge, ...]:
    """Edges of ``cell`` in alpha-row order: ``for dst in 1..N: for src in 0..dst-1``."""
    return tuple(
        Edge(cell.index, src, dst, cell.downsample and src == 0)
        for dst in range(1, cell.n_layers + 1)
        for src in range(dst)
    )


def edge_index(src: int, dst: int) -> int:
    """Row of edge ``x_src -> x_dst`` in a cell's alpha matrix."""
    return dst * (dst - 1) // 2 + src


def n_edges(cell: CellSpec) -> int:
    """Number of edges (alpha rows) of ``cell``: ``N (N + 1) / 2``."""
    return cell.n_layers * (cell.n_layers + 1) // 2
