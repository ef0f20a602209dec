"""Vectorised batch transforms: uint8 images in, normalised float tensors out.

All work happens on a whole batch at once (no per-sample Python), in this order:
pad (in uint8) or resize to ``image_size`` -> random crop + horizontal flip (if ``augment``) ->
scale to [0, 1] and normalise per channel -> repeat a grey channel to ``channels``.
Randomness comes only from the ``torch.Generator`` passed in, so a seed fixes every batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nash.errors import ConfigError

__all__ = ["BatchTransform", "fit_mode", "random_crop_flip"]


def fit_mode(native: int, size: int) -> str:
    """How ``native`` pixels become ``size``: ``"none"``, ``"pad"`` (centred zeros) or ``"resize"``.

    Small growth (at most a quarter of the side, e.g. 28 -> 32) is zero padding, which keeps every
    pixel intact as the reference FINN/LeNet-style setups do; anything else is bilinear resizing.
    """
    if size == native:
        return "none"
    if native < size <= native + native // 4:
        return "pad"
    return "resize"


@dataclass(frozen=True)
class BatchTransform:
    """Turn ``uint8 (B, C0, H0, W0)`` images into normalised ``float32 (B, C, S, S)`` tensors.

    Args:
        native: ``(C0, H0, W0)`` of the stored images.
        image_size: output side ``S``; ``None`` keeps ``H0, W0``.
        channels: output channels ``C``; must equal ``C0`` or be 3 with ``C0 == 1``.
        mean: per native channel, in [0, 1] pixel units.
        std: per native channel.
        augment: random crop (zero padding ``pad``) and horizontal flip.
        pad: padding of the random crop in pixels.

    Example:
        >>> t = BatchTransform((1, 28, 28), 32, 3, (0.5,), (0.5,))
        >>> t(torch.zeros(2, 1, 28, 28, dtype=torch.uint8)).shape
        torch.Size([2, 3, 32, 32])
    """

    native: tuple[int, int, int]
    image_size: int | None
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: bool = False
    pad: int = 4

    def __post_init__(self) -> None:
        c0 = self.native[0]
        if self.channels not in (c0, 3) or (self.channels == 3 and c0 not in (1, 3)):
            raise ConfigError(f"channels={self.channels} impossible for {c0}-channel images; use {c0} or 3")
        if self.image_size is not None and self.image_size < 8:
            raise ConfigError(f"image_size={self.image_size} is too small; use at least 8 pixels")
        if len(self.mean) != c0 or len(self.std) != c0:
            raise ConfigError(f"mean/std need {c0} values, one per image channel")

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the produced tensors."""
        h, w = self.native[1:] if self.image_size is None else (self.image_size, self.image_size)
        return (self.channels, h, w)

    def out_stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Mean and std per *output* channel (a grey value repeated for 3 channels)."""
        rep = self.channels // len(self.mean)
        return tuple(self.mean) * rep, tuple(self.std) * rep

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Transform one batch; ``generator`` drives the augmentation (ignored without it)."""
        x = images  # (B, C0, H0, W0) uint8; padding and cropping stay in uint8 (4x less memory traffic)
        if self._resizes(x):
            x = self._resize(x.float())
        elif self.image_size is not None:
            x = _pad_centre(x, self.image_size)  # (B, C0, S, S)
        if self.augment:
            x = random_crop_flip(x, self.pad, generator)
        scale = 1.0 / (255.0 * torch.tensor(self.std, dtype=torch.float32)).view(1, -1, 1, 1)
        shift = (torch.tensor(self.mean, dtype=torch.float32) / torch.tensor(self.std)).view(1, -1, 1, 1)
        x = x.float().mul_(scale).sub_(shift)  # (x / 255 - mean) / std
        if self.channels != x.shape[1]:
            x = x.expand(-1, self.channels, -1, -1).contiguous()  # grey -> (B, 3, S, S)
        return x

    def _resizes(self, x: torch.Tensor) -> bool:
        h, w = x.shape[-2:]
        return self.image_size is not None and (h != w or fit_mode(h, self.image_size) == "resize")

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        size = self.image_size
        x = F.interpolate(
            x, size=(size, size), mode="bilinear", align_corners=False, antialias=size < x.shape[-2]
        )
        return x.clamp_(0, 255)  # keep the uint8 value range after interpolation


def _pad_centre(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    top, left = (size - h) // 2, (size - w) // 2
    return F.pad(x, (left, size - w - left, top, size - h - top))  # zeros = black border


def random_crop_flip(x: torch.Tensor, pad: int, generator: torch.Generator | None) -> torch.Tensor:
    """Random ``pad``-padded crop plus random horizontal flip of every image (any dtype).

    ``x`` is ``(B, C, H, W)``; each image gets its own offset in ``[0, 2 * pad]`` and flip coin.
    Two ``gather`` calls (rows, then columns) do all images at once.
    """
    b, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))  # (B, C, H + 2p, W + 2p), zeros as in torchvision
    offsets = torch.randint(0, 2 * pad + 1, (b, 2), generator=generator)
    flip = torch.rand(b, generator=generator) < 0.5
    rows = offsets[:, :1] + torch.arange(h)  # (B, H)
    cols_fwd = torch.arange(w)
    cols = offsets[:, 1:] + torch.where(flip[:, None], w - 1 - cols_fwd, cols_fwd)  # (B, W)
    x = padded.gather(2, rows[:, None, :, None].expand(b, c, h, w + 2 * pad))  # (B, C, H, W + 2p)
    return x.gather(3, cols[:, None, None, :].expand(b, c, h, w))  # (B, C, H, W)
