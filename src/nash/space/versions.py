"""NASH-v1..v4 (paper Section III-D): four ways to keep unfriendly ops off size-changing edges.

``unfriendly`` defaults to ``{"max_pool_3x3", "identity"}`` (the reference code); pass
``unfriendly={"max_pool_3x3"}`` for the paper text's reading.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from nash.space.cells import Edge
from nash.space.genotype import Genotype
from nash.space.ops import OPS
from nash.space.registry import register_strategy
from nash.space.strategy import Choice, Strategy

__all__ = ["NashV1", "NashV2", "NashV3", "NashV4", "REPLACEMENT_OP"]

REPLACEMENT_OP = "conv_1x1"  # v1's substitute for an unfriendly op on a size-changing edge (paper)


@register_strategy
class NashV1(Strategy):
    """v1: plain search, then every unfriendly op on a size-changing edge becomes a 1x1 conv."""

    name = "v1"
    summary = "unfriendly ops on size-changing edges are replaced by conv_1x1 after derivation"

    def finalize(self, genotype: Genotype) -> Genotype:
        """Replace unfriendly ops on size-changing edges by ``conv_1x1``; log them in ``meta``."""
        cells, replaced = [], []
        for cell in genotype.chosen_edges():
            nodes = []
            for edge, op in cell:
                if self.forbidden(edge, op):
                    replaced.append([edge.cell, edge.dst, op, REPLACEMENT_OP])
                    op = REPLACEMENT_OP
                nodes.append((op, edge.src))
            cells.append(tuple(nodes))
        meta = {**genotype.meta, "replaced": replaced}
        return dataclasses.replace(genotype, cells=cells, meta=meta)


@register_strategy
class NashV2(Strategy):
    """v2: unfriendly ops are not candidates on size-changing edges during the search."""

    name = "v2"
    summary = "unfriendly ops are not searched on size-changing edges"

    def candidates(self, edge: Edge) -> tuple[str, ...]:
        """All ops, minus the unfriendly ones on a size-changing edge."""
        return tuple(op for op in OPS if not self.forbidden(edge, op))


@register_strategy
class NashV3(Strategy):
    """v3: plain search; a node whose best choice is forbidden takes the next best allowed one."""

    name = "v3"
    summary = "forbidden choices are skipped for the next best (predecessor, op) at derivation"

    def choose(self, choices: Sequence[Choice]) -> Choice:
        """The best-ranked choice whose op is allowed on its edge."""
        for choice in choices:
            if not self.forbidden(choice.edge, choice.op):
                return choice
        raise AssertionError("conv_1x1 is never unfriendly, so an allowed choice always exists")


@register_strategy
class NashV4(Strategy):
    """v4: the unfriendly ops are removed from every edge (candidates: zero and the three convs)."""

    name = "v4"
    summary = "unfriendly ops are removed from every edge"

    def candidates(self, edge: Edge) -> tuple[str, ...]:
        """All ops except the unfriendly ones, on every edge."""
        return tuple(op for op in OPS if op not in self.unfriendly)

    def forbidden(self, edge: Edge, op: str) -> bool:
        """Any unfriendly op on any edge breaks the v4 rule."""
        return op in self.unfriendly
