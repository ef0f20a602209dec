"""Integer datatypes of streams, weights and accumulators (QONNX ``DataType`` semantics, §2).

A ``DType`` is the small subset of QONNX datatypes a dataflow accelerator carries: INTn, UINTn,
BIPOLAR ({-1, +1}) and BINARY ({0, 1}). ``smallest_for`` walks the same candidate order as QONNX's
``get_smallest_possible`` so minimised widths match FINN (finn-cost-model.md §2 and §8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nash.errors import HardwareError

__all__ = ["DType", "int_type", "parse_dtype", "BIPOLAR", "BINARY", "smallest_for", "smallest_covering"]


@dataclass(frozen=True)
class DType:
    """An integer datatype: ``kind`` is "INT", "UINT", "BIPOLAR" or "BINARY"; ``bits`` its width."""

    kind: str
    bits: int

    @property
    def signed(self) -> bool:
        """True when the minimum is negative (INTn and BIPOLAR)."""
        return self.kind in ("INT", "BIPOLAR")

    @property
    def min(self) -> int:
        """Smallest representable value."""
        if self.kind == "BIPOLAR":
            return -1
        if self.kind in ("BINARY", "UINT"):
            return 0
        return -(2 ** (self.bits - 1))

    @property
    def max(self) -> int:
        """Largest representable value."""
        if self.kind in ("BIPOLAR", "BINARY"):
            return 1
        if self.kind == "UINT":
            return 2**self.bits - 1
        return 2 ** (self.bits - 1) - 1

    @property
    def name(self) -> str:
        """QONNX spelling, e.g. ``INT8``, ``UINT4``, ``BIPOLAR``."""
        return self.kind if self.kind in ("BIPOLAR", "BINARY") else f"{self.kind}{self.bits}"

    def __str__(self) -> str:
        return self.name


BIPOLAR = DType("BIPOLAR", 1)
BINARY = DType("BINARY", 1)


def int_type(bits: int, signed: bool) -> DType:
    """``INT<bits>`` or ``UINT<bits>``."""
    return DType("INT" if signed else "UINT", int(bits))


def parse_dtype(name: str, who: str = "") -> DType:
    """``"UINT4"``/``"INT8"``/``"BIPOLAR"``/``"BINARY"`` -> ``DType``; anything else -> ``HardwareError``."""
    text = str(name).upper()
    if text in ("BIPOLAR", "BINARY"):
        return BIPOLAR if text == "BIPOLAR" else BINARY
    for kind in ("UINT", "INT"):
        if text.startswith(kind) and text[len(kind) :].isdigit() and int(text[len(kind) :]) >= 1:
            return int_type(int(text[len(kind) :]), kind == "INT")
    raise HardwareError(
        f"{who}: datatype {name!r} is not INTn, UINTn, BIPOLAR or BINARY; re-export the model"
    )


def smallest_for(value: int) -> DType:
    """Smallest QONNX type holding ``value`` (order BINARY, UINTn, BIPOLAR, INTn as in QONNX)."""
    value = int(value)
    if value in (0, 1):
        return BINARY
    if value > 0:
        return int_type(math.ceil(math.log2(value + 1)), False)
    if value == -1:
        return BIPOLAR
    return int_type(math.ceil(math.log2(-value)) + 1, True)


def smallest_covering(lo: int, hi: int) -> DType:
    """Smallest INTn/UINTn holding every integer in [lo, hi] (used for threshold types)."""
    if lo >= 0:
        return int_type(max(1, math.ceil(math.log2(hi + 1))), False)
    need = max(-lo, hi + 1)
    return int_type(max(2, math.ceil(math.log2(need)) + 1), True)
