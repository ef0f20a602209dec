"""GlobalAccPool: per-channel sum over the whole map (a global average pool without its scale).

finn-cost-model.md §4.11; cycles only (FINN has no resource model for it).
"""

from __future__ import annotations

import dataclasses

from nash.hw.costs import CostContext, LayerCost
from nash.hw.layers import HwLayer

__all__ = ["GlobalAccPool"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class GlobalAccPool(HwLayer):
    """Per-channel sum over the whole map (a global average pool without its scale). PE | C."""

    kind = "GlobalAccPool"
    v09_name = "GlobalAccPool_Batch"
    fold_attrs = ("PE",)
    set_folds = True

    ifm_dim: tuple[int, int] = (1, 1)

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.11: int(prod(NIV)*C/PE + C/PE)."""
        return LayerCost(cycles=int(self.niv_prod * self.channels / self.pe + self.channels / self.pe))
