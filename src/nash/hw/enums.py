"""Choices of FINN node attributes as string enums, parsed with one-line errors.

Members are ``str`` subclasses (``StrEnum``), so they compare equal to FINN's spellings, print as
them and serialise to JSON unchanged. ``parse_choice`` is the one place a user-supplied value
(folding file, config) becomes a member; a misspelt value raises the given ``NashError`` subclass
naming the key, the value and the valid values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from nash.config.hw import Generation
from nash.errors import NashError

__all__ = ["Backend", "MemMode", "RamStyle", "ResType", "Generation", "parse_choice"]


class Backend(StrEnum):
    """Implementation back-end of a FINN layer (the ``_hls``/``_rtl`` suffix of its op type, §5)."""

    HLS = "hls"
    RTL = "rtl"


class MemMode(StrEnum):
    """Where an MVAU keeps its weights (§4.1); FINN v0.9's ``const``/``decoupled`` are aliases."""

    INTERNAL_EMBEDDED = "internal_embedded"
    INTERNAL_DECOUPLED = "internal_decoupled"
    EXTERNAL = "external"


class RamStyle(StrEnum):
    """Memory primitive of weights, thresholds or line buffers (``ram_style*`` attributes)."""

    AUTO = "auto"
    BLOCK = "block"
    DISTRIBUTED = "distributed"
    ULTRA = "ultra"


class ResType(StrEnum):
    """Multiplier resource of an MVAU (``resType``); ``auto`` is costed as LUT (§4.1)."""

    AUTO = "auto"
    LUT = "lut"
    DSP = "dsp"


_ALIASES = {MemMode: {"const": MemMode.INTERNAL_EMBEDDED, "decoupled": MemMode.INTERNAL_DECOUPLED}}
E = TypeVar("E", bound=StrEnum)


def parse_choice(enum_cls: type[E], value: object, where: str, error: type[NashError]) -> E:
    """``value`` as a member of ``enum_cls`` (aliases accepted), else ``error`` naming key and choices.

    Args:
        enum_cls: the enum to parse into.
        value: the raw value (a member, or its string spelling).
        where: what is being set, e.g. ``"MVAU_hls_0: ram_style"``.
        error: the exception class to raise (``FoldingError`` for folding files).
    """
    alias = _ALIASES.get(enum_cls, {})
    if isinstance(value, str) and value in alias:
        return alias[value]
    try:
        return enum_cls(value)
    except ValueError:
        valid = ", ".join([m.value for m in enum_cls] + list(alias))
        raise error(f"{where} {value!r} is not valid; valid values: {valid}") from None
