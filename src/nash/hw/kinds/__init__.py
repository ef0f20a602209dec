"""FINN layer kinds: one module per kind, registered in ``LAYER_KINDS`` (the one table).

Each kind is a frozen dataclass subclassing ``nash.hw.layers.HwLayer`` that holds its fields, its
legal folding values, its SetFolding policy, its FINN node names per generation and its cost
functions per back-end (see ``HwLayer`` for the hooks).

How to add a kind:
    1. Write ``nash/hw/kinds/<kind>.py`` with ``class MyKind(HwLayer)``: set ``kind``,
       ``v09_name``, ``fold_attrs`` (and ``set_folds``/``rtl``), declare its fields, and implement
       ``cost_hls`` and/or ``cost_rtl`` citing the section of finn-cost-model.md.
    2. Add the class to ``_BUILTIN`` below. Lowering can then emit it with
       ``state.add("MyKind", ...)`` and folding, folding files, estimates and FINN names follow.

Registry verbs: ``register_kind`` (decorator, for kinds defined elsewhere), ``get_kind(name)``,
``create_layer(kind, **fields)``, ``list_kinds()``.
"""

from __future__ import annotations

import warnings
from typing import Any

from nash.errors import HardwareError
from nash.hw.kinds.addstreams import AddStreams
from nash.hw.kinds.channelwise import ChannelwiseOp
from nash.hw.kinds.concat import StreamingConcat
from nash.hw.kinds.downsampler import DownSampler
from nash.hw.kinds.duplicate import DuplicateStreams
from nash.hw.kinds.dwc import StreamingDataWidthConverter
from nash.hw.kinds.fmpadding import FMPadding
from nash.hw.kinds.globalaccpool import GlobalAccPool
from nash.hw.kinds.labelselect import LabelSelect
from nash.hw.kinds.maxpool import StreamingMaxPool
from nash.hw.kinds.mvau import MVAU
from nash.hw.kinds.pool import Pool
from nash.hw.kinds.swg import ConvolutionInputGenerator
from nash.hw.kinds.thresholding import Thresholding
from nash.hw.kinds.vvau import VVAU
from nash.hw.layers import HwLayer

__all__ = ["LAYER_KINDS", "register_kind", "get_kind", "create_layer", "list_kinds"]

_BUILTIN: tuple[type[HwLayer], ...] = (
    MVAU,
    VVAU,
    ConvolutionInputGenerator,
    FMPadding,
    DownSampler,
    StreamingMaxPool,
    Pool,
    Thresholding,
    ChannelwiseOp,
    AddStreams,
    DuplicateStreams,
    GlobalAccPool,
    LabelSelect,
    StreamingConcat,
    StreamingDataWidthConverter,
)
LAYER_KINDS: dict[str, type[HwLayer]] = {cls.kind: cls for cls in _BUILTIN}


def register_kind(cls: type[HwLayer]) -> type[HwLayer]:
    """Class decorator adding a kind to ``LAYER_KINDS`` under ``cls.kind`` (warns when replacing one)."""
    if cls.kind in LAYER_KINDS and LAYER_KINDS[cls.kind] is not cls:
        warnings.warn(f"layer kind {cls.kind!r} registered twice; the last one wins", stacklevel=2)
    LAYER_KINDS[cls.kind] = cls
    return cls


def get_kind(name: str) -> type[HwLayer]:
    """The class of kind ``name`` (FINN op type without back-end, e.g. ``"MVAU"``)."""
    if name not in LAYER_KINDS:
        raise HardwareError(f"unknown layer kind {name!r}; registered: {', '.join(sorted(LAYER_KINDS))}")
    return LAYER_KINDS[name]


def create_layer(kind: str, /, **fields: Any) -> HwLayer:
    """A layer of ``kind`` with the given fields (unknown fields raise ``TypeError``)."""
    return get_kind(kind)(**fields)


def list_kinds() -> list[str]:
    """Registered kind names, in registration order."""
    return list(LAYER_KINDS)
