"""Shared fields and formula pieces of the multiply-accumulate kinds, MVAU (§4.1) and VVAU (§4.2)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from nash.hw.enums import MemMode, RamStyle, ResType
from nash.hw.layers import HwLayer

__all__ = ["MacLayer", "acc_bound", "lut_hls_core", "dsp_hls"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class MacLayer(HwLayer):
    """Weights, accumulator, fused thresholds and memory choices of an MVAU or VVAU.

    Bit widths: ``weight_bits`` is after weight minimisation (used by the estimates),
    ``weight_bits_quant`` the quantiser's width (SetFolding's stream-width cap, §7); ``acc_bits``
    the (minimised or INT32) accumulator width, ``acc_assumption`` says which.
    """

    weight_bits: int
    weight_bits_quant: int = 0
    weight_signed: bool = True
    weight_narrow: bool = False
    acc_bits: int = 32
    acc_assumption: str = ""  # "minimized" | "worst-case"
    num_steps: int = 0  # thresholds per output channel when fused (2^B - 1)
    no_activation: bool = True  # no fused thresholds
    mem_mode: MemMode = MemMode.INTERNAL_DECOUPLED
    ram_style: RamStyle = RamStyle.AUTO
    ram_style_thresholds: RamStyle = RamStyle.AUTO
    res_type: ResType = ResType.AUTO

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive(weight_bits=self.weight_bits)
        self.coerce_choices(
            mem_mode=MemMode, ram_style=RamStyle, ram_style_thresholds=RamStyle, res_type=ResType
        )

    def folding_entry(self) -> dict[str, Any]:
        """PE, SIMD, ram_style, resType, mem_mode (runtime_writeable_weights 0)."""
        return super().folding_entry() | {
            "ram_style": self.ram_style,
            "resType": self.res_type,
            "mem_mode": self.mem_mode,
            "runtime_writeable_weights": 0,
        }

    def rtl_operands_ok(self) -> bool:
        """§5 operand rule shared by MVU/VVU RTL: no thresholds, signed 4..8-bit weights, 4..8(9 signed)-bit inputs."""
        a_ok = self.input_bits <= 8 or (self.input_bits == 9 and self.input_signed)
        return (
            self.input_bits >= 4
            and 4 <= self.weight_bits <= 8
            and self.no_activation
            and self.weight_signed
            and a_ok
        )

    def weight_lutram(self, wmem: float) -> bool:
        """Weights in LUTRAM: decoupled + distributed, or embedded with WMEM <= 128 (the c2 term)."""
        decoupled = self.mem_mode == MemMode.INTERNAL_DECOUPLED and self.ram_style == RamStyle.DISTRIBUTED
        return decoupled or (self.mem_mode == MemMode.INTERNAL_EMBEDDED and wmem <= 128)


def acc_bound(layer: MacLayer, n_inputs: int) -> int:
    """§4.1 accumulator bound (arXiv:2301.13376) over ``n_inputs`` products, capped by ``acc_bits``."""
    w, a = layer.weight_bits, layer.input_bits
    alpha = math.log2(n_inputs) + w + a - 1 - (1 if layer.input_signed else 0)
    return min(layer.acc_bits, math.ceil(alpha + math.log2(1 + 2**-alpha) + 1))


def lut_hls_core(layer: MacLayer) -> int:
    """Multiplier + adder-tree LUTs of one PE (FINN-R): mult (0 with resType dsp) + (W+A)*(2*SIMD-1)."""
    q, wa = layer.simd, layer.weight_bits + layer.input_bits
    mult = 0 if layer.res_type == ResType.DSP else q * (2 * math.ceil(wa / 6) - 1) * wa
    return mult + wa * (2 * q - 1)


def dsp_hls(layer: MacLayer, per_pe: int) -> int:
    """HLS DSPs with resType dsp: PE * per_pe * ceil((W+A)/48), else 0."""
    if layer.res_type != ResType.DSP:
        return 0
    return layer.pe * per_pe * math.ceil((layer.weight_bits + layer.input_bits) / 48)
