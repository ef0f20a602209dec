"""DuplicateStreams: fan-out of one stream to several consumers.

finn-cost-model.md §4.9; cycles only (FINN has no resource model for it).
"""

from __future__ import annotations

import dataclasses

from nash.hw.costs import CostContext, LayerCost
from nash.hw.layers import HwLayer, stream_cycles

__all__ = ["DuplicateStreams"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DuplicateStreams(HwLayer):
    """Fan-out of one stream to several consumers. PE | C."""

    kind = "DuplicateStreams"
    v09_name = "DuplicateStreams_Batch"
    fold_attrs = ("PE",)
    set_folds = True

    n_outputs: int = 2  # NumOutputStreams

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.9: prod(NIV)*C/PE, independent of the number of outputs."""
        return LayerCost(cycles=stream_cycles(self))
