"""Fast batch loading: whole batches gathered and transformed at once, DDP-style sharding.

:class:`TensorBatchLoader` replaces ``torch.utils.data.DataLoader`` for the in-memory
:class:`~nash.data.arrays.ArrayDataset`: no per-sample Python, no worker processes, batches
deterministic given ``seed`` and the epoch. :func:`make_loader` picks it when it can and falls back
to a ``DataLoader`` (with a ``DistributedSampler`` under DDP) for other datasets such as ImageFolder.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from nash.data.arrays import ArrayDataset, sample_seed
from nash.errors import ConfigError

__all__ = ["TensorBatchLoader", "make_loader", "shard_indices"]


def shard_indices(order: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """This rank's share of ``order``, padded by wrapping so every rank gets the same count.

    Same rule as ``torch.utils.data.DistributedSampler`` (``drop_last=False``): the union of all
    shards covers every index, and at most ``world_size - 1`` indices appear twice.
    """
    if not 0 <= rank < world_size:
        raise ConfigError(f"rank {rank} is outside 0..{world_size - 1}; check the DDP world size")
    n = len(order)
    total = math.ceil(n / world_size) * world_size
    if total > n:
        order = torch.cat([order] * math.ceil(total / n))[:total]
    return order[rank:total:world_size]


class TensorBatchLoader:
    """Iterate ``(images (B, C, S, S), labels (B,))`` batches of an :class:`ArrayDataset`.

    Each ``iter()`` is one epoch; the epoch counter advances by itself, or set it with
    :meth:`set_epoch` (e.g. when resuming). The order depends on ``(seed, epoch)`` only and is the
    same on every rank; augmentation depends on ``(seed, epoch, rank)``.

    Args:
        dataset: the in-memory dataset.
        batch_size: samples per batch.
        shuffle: new random order every epoch.
        seed: seed of order and augmentation.
        drop_last: skip a last, smaller batch.
        sampler: any iterable of dataset positions (e.g. a ``DistributedSampler``); overrides
            ``shuffle`` and the rank split. Its ``set_epoch`` is called when present.
        rank: this process's rank for the DDP split.
        world_size: number of DDP processes.
    """

    def __init__(
        self,
        dataset: ArrayDataset,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        sampler: Iterable[int] | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be at least 1")
        shard_indices(torch.arange(1), rank, world_size)  # validates rank / world_size early
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.seed, self.drop_last, self.sampler = seed, drop_last, sampler
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` produce epoch ``epoch``."""
        self.epoch = epoch

    def _n_samples(self) -> int:
        if self.sampler is not None:
            return len(self.sampler)  # type: ignore[arg-type]
        return math.ceil(len(self.dataset) / self.world_size)

    def __len__(self) -> int:
        n = self._n_samples()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def indices(self, epoch: int) -> torch.Tensor:
        """Dataset positions this rank visits in ``epoch``, in order."""
        if self.sampler is not None:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(epoch)
            return torch.as_tensor(list(self.sampler), dtype=torch.int64)
        n = len(self.dataset)
        if self.shuffle:
            gen = torch.Generator().manual_seed(sample_seed(self.seed, epoch, 0))
            order = torch.randperm(n, generator=gen)
        else:
            order = torch.arange(n)
        return shard_indices(order, self.rank, self.world_size) if self.world_size > 1 else order

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        order = self.indices(epoch)
        gen = torch.Generator().manual_seed(sample_seed(self.seed, epoch, 1 + self.rank))
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield self.dataset.get_batch(order[start : start + self.batch_size], gen)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
    sampler: Iterable[int] | None = None,
    *,
    rank: int = 0,
    world_size: int = 1,
    workers: int = 0,
) -> TensorBatchLoader | DataLoader:
    """The fastest loader for ``dataset``: :class:`TensorBatchLoader` or a ``DataLoader``.

    Args:
        dataset: an :class:`ArrayDataset` (fast path) or any map-style dataset.
        batch_size: samples per batch.
        shuffle: reshuffle every epoch.
        seed: seed of order (and augmentation for the fast path).
        drop_last: drop a last, smaller batch.
        sampler: explicit index sampler; replaces ``shuffle`` and the rank split.
        rank: DDP rank.
        world_size: DDP world size; > 1 shards the data like ``DistributedSampler``.
        workers: worker processes of the ``DataLoader`` fallback (the fast path needs none).
    """
    if isinstance(dataset, ArrayDataset):
        return TensorBatchLoader(dataset, batch_size, shuffle, seed, drop_last, sampler, rank, world_size)
    gen = torch.Generator().manual_seed(seed)
    if sampler is None and world_size > 1:
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,  # type: ignore[arg-type]
        drop_last=drop_last,
        num_workers=workers,
        generator=gen,
        persistent_workers=workers > 0,
    )
