"""AddStreams: element-wise sum of two equal-typed streams (a residual add).

finn-cost-model.md §4.8; cycles only (FINN has no resource model for it).
"""

from __future__ import annotations

import dataclasses

from nash.hw.costs import CostContext, LayerCost
from nash.hw.layers import HwLayer, stream_cycles

__all__ = ["AddStreams"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AddStreams(HwLayer):
    """Element-wise sum of two equal-typed streams (a residual add). PE | C."""

    kind = "AddStreams"
    v09_name = "AddStreams_Batch"
    plus_kind = "ElementwiseAdd"  # FINN+ 1.6.1 implements the residual add as ElementwiseAdd_hls
    fold_attrs = ("PE",)
    set_folds = True

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.8: prod(NIV)*C/PE."""
        return LayerCost(cycles=stream_cycles(self))
