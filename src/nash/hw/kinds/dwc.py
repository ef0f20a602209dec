"""StreamingDataWidthConverter (DWC): re-packs a stream between two widths, finn-cost-model.md §4.14.

FINN inserts DWCs after folding where a producer's output width differs from its consumer's input
width. Like FINN's estimate reports (which run before ``InsertDWC``), the lowering does not insert
them; the kind exists for users who model them explicitly and as the worked example of a kind.
"""

from __future__ import annotations

import dataclasses
import math

from nash.hw.costs import CostContext, LayerCost
from nash.hw.enums import Backend, Generation
from nash.hw.layers import HwLayer

__all__ = ["StreamingDataWidthConverter"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class StreamingDataWidthConverter(HwLayer):
    """Converts ``in_width``-bit words to ``out_width``-bit words; no folding attributes."""

    kind = "StreamingDataWidthConverter"
    v09_name = "StreamingDataWidthConverter_Batch"

    in_width: int  # producer output stream width in bits
    out_width: int  # consumer input stream width in bits

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive(in_width=self.in_width, out_width=self.out_width)

    def pick_backend(self, generation: str, dsp_block: str) -> Backend:
        """§5: RTL when one width divides the other (current FINN), else HLS."""
        if generation == Generation.FINN_09:
            return Backend.HLS
        hi, lo = max(self.in_width, self.out_width), min(self.in_width, self.out_width)
        return Backend.RTL if hi % lo == 0 else Backend.HLS

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.14: 0 cycles; LUT = int(cnt + cset) over the lcm word I of the two widths."""
        i, o = self.in_width, self.out_width
        word = math.lcm(i, o)
        cnt = cset = 0
        if i != word:
            cnt, cset = cnt + abs(math.ceil(math.log2(i / word))), cset + word
        if word != o:
            cnt, cset = cnt + abs(math.ceil(math.log2(word / o))), cset + o
        return LayerCost(cycles=0, lut=int(cnt + cset))

    cost_rtl = cost_hls  # same model for both back-ends
