"""Thresholding: a standalone multi-threshold activation, finn-cost-model.md §4.7.

Used for quantisers FINN cannot fuse into an MVAU (the network input, requantisers after
AddStreams, residual branches). HLS in FINN v0.9, RTL in current FINN. PE | C.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from nash.hw.costs import CostContext, LayerCost
from nash.hw.enums import Backend, Generation, RamStyle
from nash.hw.layers import HwLayer, stream_cycles

__all__ = ["Thresholding", "channelwise_resources", "threshold_rtl_memories"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Thresholding(HwLayer):
    """``num_steps`` thresholds of ``threshold_bits`` bits per channel."""

    kind = "Thresholding"
    v09_name = "Thresholding_Batch"
    fold_attrs = ("PE",)
    rtl = True
    set_folds = True

    num_steps: int = 0  # thresholds per channel (2^B - 1)
    threshold_bits: int = 0  # threshold datatype width
    ram_style: RamStyle = RamStyle.AUTO

    def __post_init__(self) -> None:
        super().__post_init__()
        self.coerce_choices(ram_style=RamStyle)

    def folding_entry(self) -> dict[str, Any]:
        """PE (+ ram_style for the HLS back-end)."""
        extra = {"ram_style": self.ram_style} if self.backend == Backend.HLS else {}
        return super().folding_entry() | extra

    def cost_hls(self, ctx: CostContext) -> LayerCost:
        """§4.7 Thresholding_hls: cycles prod(NIV)*C/PE; LUT A*P (+ LUTRAM); BRAM only for block."""
        lut, bram = channelwise_resources(self)
        return LayerCost(cycles=stream_cycles(self), lut=lut, bram18=bram)

    def cost_rtl(self, ctx: CostContext) -> LayerCost:
        """§4.7 Thresholding_rtl: LUT = LUTRAM bucket, URAM bucket; BRAM reported 0 (FINN key-name bug,
        fixed in FINN+, which reports the BRAM18 bucket)."""
        mem = threshold_rtl_memories(self)
        bram = mem["BRAM18"] if ctx.generation == Generation.FINN_PLUS else 0
        return LayerCost(cycles=stream_cycles(self), lut=mem["LUTRAM"], bram18=bram, uram=mem["URAM"])


def channelwise_resources(layer: Any) -> tuple[int, int]:
    """§4.7/§4.10 (LUT, BRAM18) of Thresholding_hls and ChannelwiseOp_hls; A = input bit width."""
    a, p = layer.input_bits, layer.pe
    tmem = layer.channels / p
    bram = (
        math.ceil(a * p / 16) * math.ceil(tmem / 1024)
        if layer.ram_style == RamStyle.BLOCK and tmem > 1
        else 0
    )
    lut = a * p + (
        p * a * math.ceil(tmem / 64) if layer.ram_style == RamStyle.DISTRIBUTED and tmem > 1 else 0
    )
    return lut, bram


# §4.7 primitive list, in FINN's order (ties go to the first): (bucket, width, depth).
_PRIMITIVES = (
    ("URAM", 72, 4096),
    ("URAM", 36, 8192),
    ("URAM", 18, 16384),
    ("URAM", 9, 32768),
    ("BRAM18", 36, 512),
    ("BRAM18", 18, 1024),
    ("BRAM18", 9, 2048),
    ("LUTRAM", 1, 64),
)


def threshold_rtl_memories(layer: Thresholding) -> dict[str, int]:
    """§4.7 RTL threshold memories: per geometry (T, cf*2^x) pick the least-waste primitive, times PE."""
    cf = layer.channels // layer.pe
    buckets = {"URAM": 0, "BRAM18": 0, "LUTRAM": 0}
    for x in range(layer.output_bits):
        width, depth = layer.threshold_bits, cf * 2**x
        best = None
        for bucket, pw, pd in _PRIMITIVES:
            count = math.ceil(width / pw) * math.ceil(depth / pd)
            waste = count * pw * pd - width * depth
            if best is None or waste < best[0]:
                best = (waste, bucket, count)
        buckets[best[1]] += layer.pe * best[2]
    return buckets
