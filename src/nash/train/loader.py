"""Deterministic, rank-sharded loaders: the data of an epoch is a pure function of (seed, epoch).

Built on :func:`nash.data.loader.make_loader` (the fast whole-batch loader for in-memory datasets,
a ``DataLoader`` otherwise). Because every epoch's order and augmentation derive from ``seed`` and
the epoch number, a resumed run sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler

from nash.data.loader import make_loader

__all__ = ["ShardSampler", "train_loader", "eval_loader"]


class ShardSampler(Sampler[int]):
    """This rank's share of a dataset, shuffled per epoch when ``shuffle`` is set.

    With ``pad=True`` (training) every rank gets the same number of indices (the permutation is
    padded by wrapping around), so all ranks run the same number of optimizer steps. With
    ``pad=False`` (evaluation) each index is visited exactly once over all ranks.
    """

    def __init__(
        self, n: int, rank: int = 0, world_size: int = 1, *, shuffle: bool, seed: int = 0, pad: bool
    ) -> None:
        self.n, self.rank, self.world_size = n, rank, world_size
        self.shuffle, self.seed, self.pad = shuffle, seed, pad
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch``."""
        self.epoch = epoch

    def _indices(self) -> list[int]:
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.n, generator=gen).tolist()
        else:
            order = list(range(self.n))
        if self.pad and self.world_size > 1:
            total = -(-self.n // self.world_size) * self.world_size
            order = (order * self.world_size)[:total]
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices())

    def __len__(self) -> int:
        if self.pad:
            return -(-self.n // self.world_size)
        return len(range(self.rank, self.n, self.world_size))


def _at_epoch(loader: Any, sampler: ShardSampler, epoch: int) -> Iterable:
    sampler.set_epoch(epoch)
    if hasattr(loader, "set_epoch"):
        loader.set_epoch(epoch)  # the fast loader derives its augmentation seed from the epoch
    return loader


def train_loader(
    dataset: Dataset,
    batch_size: int,
    epoch: int,
    *,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    workers: int = 0,
) -> Iterable:
    """Shuffled loader of this rank's training shard for ``epoch`` (full batches when possible)."""
    sampler = ShardSampler(len(dataset), rank, world_size, shuffle=True, seed=seed, pad=True)
    # Dropping the ragged last batch keeps BatchNorm away from tiny batches; a shard smaller than
    # one batch is still used whole.
    drop_last = len(sampler) >= batch_size
    loader = make_loader(
        dataset,
        batch_size,
        seed=seed,
        drop_last=drop_last,
        sampler=sampler,
        rank=rank,
        world_size=world_size,
        workers=workers,
    )
    return _at_epoch(loader, sampler, epoch)


def eval_loader(
    dataset: Dataset, batch_size: int, *, rank: int = 0, world_size: int = 1, workers: int = 0
) -> Iterable:
    """Ordered loader of this rank's evaluation shard; all ranks together see each image once."""
    sampler = ShardSampler(len(dataset), rank, world_size, shuffle=False, pad=False)
    loader = make_loader(
        dataset, batch_size, sampler=sampler, rank=rank, world_size=world_size, workers=workers
    )
    return _at_epoch(loader, sampler, 0)
