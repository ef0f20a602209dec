"""Batch transforms: padding, resizing, channel repeat, crop+flip against a per-image reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nash.data.transforms import BatchTransform, fit_mode, random_crop_flip
from nash.errors import ConfigError


def test_fit_mode():
    assert fit_mode(28, 32) == "pad" and fit_mode(28, 28) == "none"
    assert fit_mode(32, 224) == "resize" and fit_mode(32, 16) == "resize"


def test_pad_to_32_and_three_channels():
    images = torch.full((4, 1, 28, 28), 255, dtype=torch.uint8)
    x = BatchTransform((1, 28, 28), 32, 3, (0.5,), (0.25,))(images)
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32
    assert torch.allclose(x[:, :, 2:30, 2:30], torch.tensor(2.0))  # (1 - 0.5) / 0.25
    assert torch.allclose(x[:, :, :2], torch.tensor(-2.0)) and torch.allclose(
        x[:, :, :, 30:], torch.tensor(-2.0)
    )


def test_resize_and_stats():
    t = BatchTransform((1, 28, 28), 64, 3, (0.2,), (0.3,))
    assert t(torch.zeros(2, 1, 28, 28, dtype=torch.uint8)).shape == (2, 3, 64, 64)
    assert t.out_shape == (3, 64, 64) and t.out_stats() == ((0.2,) * 3, (0.3,) * 3)
    assert BatchTransform((3, 32, 32), None, 3, (0,) * 3, (1,) * 3).out_shape == (3, 32, 32)


@pytest.mark.parametrize("kwargs", [dict(channels=2), dict(image_size=4), dict(mean=(0.1, 0.2))])
def test_invalid_transform(kwargs):
    base = dict(native=(1, 28, 28), image_size=None, channels=1, mean=(0.1,), std=(0.2,)) | kwargs
    with pytest.raises(ConfigError):
        BatchTransform(**base)


def _reference(img: np.ndarray, dy: int, dx: int, flip: bool, pad: int) -> np.ndarray:
    padded = np.pad(img, ((0, 0), (pad, pad), (pad, pad)))
    h, w = img.shape[1:]
    crop = padded[:, dy : dy + h, dx : dx + w]
    return crop[:, :, ::-1] if flip else crop


def test_crop_flip_matches_reference():
    x = torch.rand(16, 3, 8, 8)
    out = random_crop_flip(x, 4, torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)  # replay the same draws
    offsets = torch.randint(0, 9, (16, 2), generator=gen)
    flips = torch.rand(16, generator=gen) < 0.5
    for i in range(16):
        ref = _reference(x[i].numpy(), int(offsets[i, 0]), int(offsets[i, 1]), bool(flips[i]), 4)
        np.testing.assert_array_equal(out[i].numpy(), ref)
    assert 0 < int(flips.sum()) < 16


def test_augmentation_deterministic_by_seed():
    t = BatchTransform((3, 32, 32), None, 3, (0.5,) * 3, (0.5,) * 3, augment=True)
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    a = t(images, torch.Generator().manual_seed(1))
    assert torch.equal(a, t(images, torch.Generator().manual_seed(1)))
    assert not torch.equal(a, t(images, torch.Generator().manual_seed(2)))
