"""ChannelwiseOp: a per-channel add/mul/compare, finn-cost-model.md §4.10 (HLS only)."""

from __future__ import annotations

import dataclasses
from typing import Any

from nash.hw.costs import CostContext, LayerCost
from nash.hw.enums import RamStyle
from nash.hw.kinds.thresholding import channelwise_resources
from nash.hw.layers import HwLayer, stream_cycles

__all__ = ["ChannelwiseOp"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChannelwiseOp(HwLayer):
    """Per-channel parameter op. PE | C; costed with the Thresholding_hls formulas."""

    kind = "ChannelwiseOp"
    v09_name = "ChannelwiseOp_Batch"
    fold_attrs = ("PE",)
    set_folds = True

    ram_style: RamStyle = RamStyle.AUTO  # parameter memory

    def __post_init__(self) -> None:
        super().__post_init__()
        self.coerce_choices(ram_style=RamStyle)

    def folding_entry(self) -> dict[str, Any]:
        """PE and ram_style."""
        return super().folding_entry() | {"ram_style": self.ram_style}

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.10 ChannelwiseOp_hls: the Thresholding_hls cycle and resource formulas."""
        lut, bram = channelwise_resources(self)
        return LayerCost(cycles=stream_cycles(self), lut=lut, bram18=bram)
