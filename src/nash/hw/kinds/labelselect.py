"""LabelSelect: top-k of ``channels`` labels.

finn-cost-model.md §4.12; cycles only (FINN has no resource model for it).
"""

from __future__ import annotations

import dataclasses

from nash.hw.costs import CostContext, LayerCost
from nash.hw.layers import HwLayer

__all__ = ["LabelSelect"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelSelect(HwLayer):
    """Top-k of ``channels`` labels. PE | Labels."""

    kind = "LabelSelect"
    v09_name = "LabelSelect_Batch"
    fold_attrs = ("PE",)
    set_folds = True

    k: int = 1

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.12: int(L/PE)."""
        return LayerCost(cycles=int(self.channels / self.pe))
