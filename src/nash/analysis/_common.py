"""Shared helpers of the analysis package: row ordering, series styles, number formatting."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "VERSION_STYLES",
    "COLUMN_DIGITS",
    "version_key",
    "bits_key",
    "series_key",
    "series_label",
    "ordered_series",
    "ordered_bits",
    "style_for",
    "fmt",
    "fmt_column",
    "is_ok",
]

# Okabe-Ito colours (colour-blind safe); one marker per version so prints in grey still work.
VERSION_STYLES: dict[str, tuple[str, str]] = {
    "o": ("#4d4d4d", "o"),
    "v1": ("#0072B2", "s"),
    "v2": ("#E69F00", "^"),
    "v3": ("#009E73", "D"),
    "v4": ("#D55E00", "v"),
}
_EXTRA_STYLES = (("#CC79A7", "P"), ("#56B4E9", "X"), ("#F0E442", "*"), ("#000000", "h"))
from nash.space.quant import BITS_TAG as _BITS  # noqa: E402  (the one wXaY tag parser)


def version_key(version: str) -> tuple[int, str]:
    """Sort key: ``o`` first, then ``v1``..``vN`` numerically, then anything else by name."""
    if version in ("o", "original"):
        return (0, "")
    m = re.fullmatch(r"v(\d+)", version)
    return (1, f"{int(m.group(1)):04d}") if m else (2, version)


def bits_key(bits: str) -> tuple[int, int, str]:
    """Sort key for bit tags: ``w1a1 < w1a2 < w2a2 < w4a4 < w8a8``; unknown tags last."""
    m = _BITS.match(bits)
    return (int(m.group(1)), int(m.group(2)), "") if m else (10**6, 0, bits)


def series_key(row: Mapping[str, Any]) -> tuple[str, str]:
    """(backbone, version) identifying one plotted series."""
    return (str(row["backbone"]), str(row["version"]))


def series_label(key: tuple[str, str], multi_backbone: bool) -> str:
    """Legend label: the version, prefixed by the backbone when several backbones are present."""
    return f"{key[0]} {key[1]}" if multi_backbone else key[1]


def ordered_series(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Distinct (backbone, version) pairs, backbones in first-seen order, versions o, v1, v2, ..."""
    keys = {series_key(r) for r in rows}
    backbones = list(dict.fromkeys(k[0] for k in sorted(keys)))
    return sorted(keys, key=lambda k: (backbones.index(k[0]), version_key(k[1])))


def ordered_bits(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Distinct bit tags in bit-width order."""
    return sorted({str(r["bits"]) for r in rows}, key=bits_key)


def style_for(version: str, rank: int) -> tuple[str, str]:
    """(colour, marker) of a version; unknown versions take extra styles by their rank."""
    return VERSION_STYLES.get(version) or _EXTRA_STYLES[rank % len(_EXTRA_STYLES)]


def fmt(value: Any, digits: int = 2) -> str:
    """Human-readable cell text: ``-`` for missing, thousands separators for large numbers."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        return f"{value:,.{digits}f}"
    return str(value)


# decimals shown per results column; None = integer when whole, else 1 decimal (BRAM can be fractional)
COLUMN_DIGITS: dict[str, int | None] = {
    "top1": 2,
    "top5": 2,
    "error": 2,
    "latency_ms": 2,
    "fps": 1,
    "lut": 0,
    "dsp": 0,
    "uram": 0,
    "params": 0,
    "macs": 0,
    "bram18": None,
}


def fmt_column(column: str, value: Any) -> str:
    """Format a value of a results column with that column's precision (see ``COLUMN_DIGITS``)."""
    digits = COLUMN_DIGITS.get(column, 2)
    if isinstance(value, float) and not isinstance(value, bool):
        if digits == 0 or (digits is None and abs(value - round(value)) < 1e-6):
            return f"{round(value):,}"
    return fmt(value, 1 if digits is None else digits)


def is_ok(row: Mapping[str, Any]) -> bool:
    """True for rows whose status is ``ok``."""
    return str(row.get("status") or "ok") == "ok"
