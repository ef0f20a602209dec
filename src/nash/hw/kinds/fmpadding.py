"""FMPadding: zero padding of a feature map, finn-cost-model.md §4.4 (no resource model)."""

from __future__ import annotations

import dataclasses

from nash.hw.costs import CostContext, LayerCost
from nash.hw.enums import Backend, Generation
from nash.hw.layers import HwLayer

__all__ = ["FMPadding"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class FMPadding(HwLayer):
    """Pads (top, left, bottom, right) around an (IH, IW) map. SIMD | C; SetFolding folds only HLS."""

    kind = "FMPadding"
    v09_name = "FMPadding_Batch"
    fold_attrs = ("SIMD",)
    rtl = True

    ifm_dim: tuple[int, int] = (1, 1)
    ofm_dim: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right

    def fold(self, target: float, ctx: CostContext, wwidth_max: int) -> FMPadding:
        """§7: SetFolding leaves FMPadding_rtl alone (FINN+ folds it too) and folds the HLS one like a SWG."""
        if self.backend == Backend.RTL and ctx.generation != Generation.FINN_PLUS:
            return self
        return self.least_parallel("simd", self.channels, target, ctx)

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.4 FMPadding: int(C/SIMD * NIV * PH * PW); no resource model."""
        top, left, bottom, right = self.padding
        ph, pw = self.ifm_dim[0] + top + bottom, self.ifm_dim[1] + left + right
        return LayerCost(cycles=int(self.channels / self.simd * self.niv_prod * ph * pw))

    cost_rtl = cost_hls
