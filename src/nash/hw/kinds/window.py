"""Shared fields of the kinds that read a feature map through a window (SWG, DownSampler, max pool)."""

from __future__ import annotations

import dataclasses

from nash.hw.layers import HwLayer

__all__ = ["WindowLayer"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class WindowLayer(HwLayer):
    """A layer with input/output feature maps, a kernel and a stride (all (H, W))."""

    ifm_dim: tuple[int, int] = (1, 1)  # (IH, IW) input feature map
    ofm_dim: tuple[int, int] = (1, 1)  # (OH, OW) output feature map
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
