"""StreamingConcat: channel-wise concatenation of streams.

finn-cost-model.md §4.13; cycles only (FINN has no resource model for it).
"""

from __future__ import annotations

import dataclasses

from nash.hw.costs import CostContext, LayerCost
from nash.hw.layers import HwLayer

__all__ = ["StreamingConcat"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class StreamingConcat(HwLayer):
    """Channel-wise concatenation of streams. SetFolding leaves it unfolded (§7)."""

    kind = "StreamingConcat"
    v09_name = "StreamingConcat"

    elems_per_stream: tuple[int, ...] = ()  # channels of each input stream

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.13: prod(NIV) cycles (main branch, unfolded: one pixel per cycle)."""
        return LayerCost(cycles=self.niv_prod)
