"""StreamingMaxPool: max pooling with kernel = stride on an unpadded map, finn-cost-model.md §4.5."""

from __future__ import annotations

import dataclasses

from nash.hw.costs import CostContext, LayerCost
from nash.hw.kinds.window import WindowLayer

__all__ = ["StreamingMaxPool"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class StreamingMaxPool(WindowLayer):
    """Non-overlapping max pool; SetFolding leaves it unfolded (§7)."""

    kind = "StreamingMaxPool"
    v09_name = "StreamingMaxPool_Batch"

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.5: 2-D int(IW*IW*(1 + 1/kw^2)) (W only); 1-D OD*(C/PE)*(k+1); no resource model."""
        ih, iw = self.ifm_dim
        if min(ih, iw) == 1:
            k = max(self.kernel)
            od = max(self.ofm_dim)
            return LayerCost(cycles=int(od * (self.channels / self.pe) * (k + 1)))
        kw = self.kernel[1]
        return LayerCost(cycles=int(iw * iw * (1 + 1 / (kw * kw))))
