"""Shared helpers of the analysis package: row ordering, series styles, number formatting."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "VERSION_STYLES",
    "HW_STYLES",
    "COLUMN_DIGITS",
    "is_hw_version",
    "version_key",
    "bits_key",
    "series_key",
    "series_label",
    "ordered_series",
    "ordered_bits",
    "style_for",
    "series_styles",
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
# Hardware-aware search variants (hw-l0.3, hw-budget, ...): one family, reddish purples and
# star-like filled markers, so they read as "the hardware-aware ones" next to o/v1..v4.
HW_STYLES: tuple[tuple[str, str], ...] = (
    ("#882255", "*"),
    ("#CC79A7", "P"),
    ("#AA4499", "X"),
    ("#6A3D9A", "p"),
    ("#E7298A", "h"),
    ("#C994C7", "H"),
    ("#49006A", "8"),
    ("#DD3497", "d"),
)
_EXTRA_STYLES = (("#56B4E9", "<"), ("#F0E442", ">"), ("#000000", "1"), ("#999933", "2"))
from nash.config.pipeline import is_hw_variant as is_hw_version  # noqa: E402  (the one name rule)
from nash.space.quant import BITS_TAG as _BITS  # noqa: E402  (the one wXaY tag parser)


def _natural(text: str) -> tuple[tuple[int, float | str], ...]:
    # "hw-l0.3" < "hw-l1" < "hw-l3" < "hw-l10": numbers (decimals too) compare as numbers
    parts = re.split(r"(\d+(?:\.\d+)?)", text)
    return tuple((0, float(p)) if k % 2 else (1, p) for k, p in enumerate(parts) if p)


def version_key(version: str) -> tuple:
    """Sort key: ``o`` first, then ``v1``..``vN`` numerically, then the hardware-aware variants
    (``hw...``, numbers in their names compared as numbers), then anything else by name."""
    if version in ("o", "original"):
        return (0, ())
    m = re.fullmatch(r"v(\d+)", version)
    if m:
        return (1, ((0, float(m.group(1))),))
    return (2, _natural(version)) if is_hw_version(version) else (3, _natural(version))


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
    """(colour, marker) of a version; a hardware-aware variant takes the ``HW_STYLES`` entry of
    ``rank``, other unknown versions an extra style by ``rank`` (see :func:`series_styles`)."""
    if version in VERSION_STYLES:
        return VERSION_STYLES[version]
    if is_hw_version(version):
        return HW_STYLES[rank % len(HW_STYLES)]
    return _EXTRA_STYLES[rank % len(_EXTRA_STYLES)]


def series_styles(versions: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) of every distinct version: o/v1..v4 fixed, hardware-aware variants the
    ``HW_STYLES`` family in version order, anything else an extra style in version order."""
    out: dict[str, tuple[str, str]] = {}
    hw = other = 0
    for version in sorted(set(versions), key=version_key):
        if version in VERSION_STYLES:
            out[version] = VERSION_STYLES[version]
        elif is_hw_version(version):
            out[version], hw = style_for(version, hw), hw + 1
        else:
            out[version], other = style_for(version, other), other + 1
    return out


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
