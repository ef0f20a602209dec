"""Pool: max/average pooling behind a depthwise SWG, finn-cost-model.md §4.6 (no resource model)."""

from __future__ import annotations

import dataclasses

from nash.hw.costs import CostContext, LayerCost
from nash.hw.layers import HwLayer

__all__ = ["Pool"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pool(HwLayer):
    """Reduces each kh x kw window of its SWG producer. PE | C; the SWG's SIMD follows the PE (§7)."""

    kind = "Pool"
    v09_name = "Pool_Batch"
    fold_attrs = ("PE",)
    set_folds = True

    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    ofm_dim: tuple[int, int] = (1, 1)

    def fold_producer(self, producer: HwLayer) -> HwLayer:
        """SetFolding sets the SIMD of the depthwise SWG feeding this Pool to the Pool's PE."""
        if producer.kind == "ConvolutionInputGenerator":
            return dataclasses.replace(producer, simd=self.pe)
        return producer

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.6: int(C*kh*kw/PE * OH*OW * BatchSize) with BatchSize 1."""
        kh, kw = self.kernel
        oh, ow = self.ofm_dim
        return LayerCost(cycles=int(self.channels * kh * kw / self.pe * oh * ow))
