"""DownSampler: a 1x1 convolution's window with stride > 1, finn-cost-model.md §4.4."""

from __future__ import annotations

import dataclasses

from nash.hw.costs import CostContext, LayerCost
from nash.hw.kinds.window import WindowLayer

__all__ = ["DownSampler"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DownSampler(WindowLayer):
    """Keeps every stride-th pixel. SIMD | C."""

    kind = "DownSampler"
    v09_name = "DownSampler"
    fold_attrs = ("SIMD",)
    set_folds = True

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.4 DownSampler: int(C/SIMD * NIV * IDim^2) (IDim for 1-D); no resource model."""
        ih, iw = self.ifm_dim
        pixels = iw * iw if min(ih, iw) > 1 else max(ih, iw)
        return LayerCost(cycles=int(self.channels / self.simd * self.niv_prod * pixels))
