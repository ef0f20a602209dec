"""In-memory image datasets: one shared ``uint8`` tensor, batches transformed in one go."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from nash.data.transforms import BatchTransform

__all__ = ["ArrayDataset", "sample_seed"]


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A well-mixed 63-bit seed for one (seed, epoch, sample) triple."""
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(2, np.uint64)[0] >> np.uint64(1))


class ArrayDataset(Dataset):
    """A torch ``Dataset`` over a ``uint8 (N, C, H, W)`` tensor and ``int64 (N,)`` labels.

    Items are ``(float tensor (C', S, S), int label)`` after ``transform``. Subsets are views
    (an index tensor over the shared storage), so splitting never copies images. Use
    :meth:`get_batch` (as :class:`~nash.data.loader.TensorBatchLoader` does) to transform a whole
    batch at once; ``__getitem__`` exists for ``torch.utils.data.DataLoader`` compatibility and
    draws its augmentation from ``(seed, epoch, index)`` so it is deterministic in any worker.

    Args:
        images: ``uint8 (N, C, H, W)`` (numpy or torch; not copied when already a tensor).
        labels: ``(N,)`` integer labels.
        transform: the batch transform (augmentation on or off).
        classes: class names, index = label.
        indices: positions into ``images`` this dataset exposes (``None`` = all).
        seed: seed of the per-sample augmentation of ``__getitem__``.
    """

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        labels: np.ndarray | torch.Tensor,
        transform: BatchTransform,
        classes: Sequence[str] = (),
        indices: torch.Tensor | None = None,
        seed: int = 0,
    ) -> None:
        self.images = torch.as_tensor(images)  # (N, C, H, W) uint8, shared between views
        self.labels = torch.as_tensor(labels, dtype=torch.int64)  # (N,)
        self.transform = transform
        self.classes = tuple(classes)
        self.indices = indices
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.labels) if self.indices is None else len(self.indices)

    @property
    def targets(self) -> torch.Tensor:
        """Labels of the exposed samples, ``int64 (len(self),)``."""
        return self.labels if self.indices is None else self.labels[self.indices]

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation stream of ``__getitem__`` (as ``DistributedSampler.set_epoch``)."""
        self.epoch = epoch

    def _rows(self, positions: torch.Tensor) -> torch.Tensor:
        return positions if self.indices is None else self.indices[positions]

    def get_batch(
        self, positions: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Transformed images ``(B, C, S, S)`` and labels ``(B,)`` for dataset positions."""
        rows = self._rows(positions)
        return self.transform(self.images[rows], generator), self.labels[rows]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} samples")
        index = index % len(self)
        gen = None
        if self.transform.augment:
            gen = torch.Generator().manual_seed(sample_seed(self.seed, self.epoch, index))
        x, y = self.get_batch(torch.tensor([index]), gen)
        return x[0], int(y[0])

    def subset(self, positions: Sequence[int] | np.ndarray | torch.Tensor) -> ArrayDataset:
        """A view on some positions of this dataset (no image copy)."""
        rows = self._rows(torch.as_tensor(np.asarray(positions), dtype=torch.int64))
        return ArrayDataset(self.images, self.labels, self.transform, self.classes, rows, self.seed)

    def with_transform(self, transform: BatchTransform) -> ArrayDataset:
        """The same samples under another transform (e.g. augmentation off for evaluation)."""
        return ArrayDataset(self.images, self.labels, transform, self.classes, self.indices, self.seed)
