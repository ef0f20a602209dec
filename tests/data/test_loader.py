"""TensorBatchLoader: every sample once per epoch, deterministic order, DDP sharding, fallback."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from nash.data import ArrayDataset, BatchTransform, TensorBatchLoader, make_loader, shard_indices


def _dataset(n: int = 103, augment: bool = False) -> ArrayDataset:
    images = np.random.default_rng(0).integers(0, 256, (n, 1, 8, 8), dtype=np.uint8)
    tf = BatchTransform((1, 8, 8), None, 1, (0.5,), (0.5,), augment=augment, pad=2)
    return ArrayDataset(images, np.arange(n), tf)  # label = sample id


def _labels(loader) -> list[int]:
    return [int(v) for _, y in loader for v in y]


def test_every_sample_once_per_epoch():
    loader = make_loader(_dataset(), 10, shuffle=True, seed=0)
    assert isinstance(loader, TensorBatchLoader) and len(loader) == 11
    first, second = _labels(loader), _labels(loader)
    assert sorted(first) == list(range(103)) and sorted(second) == list(range(103))
    assert first != second  # reshuffled per epoch
    replay = make_loader(_dataset(), 10, shuffle=True, seed=0)
    assert _labels(replay) == first  # same seed, same epoch -> same order
    replay.set_epoch(1)
    assert _labels(replay) == second


def test_batches_match_getitem_and_drop_last():
    ds = _dataset()
    loader = make_loader(ds, 32, drop_last=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 3 and all(len(y) == 32 for _, y in batches)
    x, y = batches[1]
    assert torch.equal(x[5], ds[37][0]) and int(y[5]) == ds[37][1] == 37


def test_ddp_shards_cover_everything():
    ds = _dataset(103)
    shards = [_labels(make_loader(ds, 8, shuffle=True, seed=2, rank=r, world_size=3)) for r in range(3)]
    assert [len(s) for s in shards] == [35, 35, 35]
    assert set().union(*shards) == set(range(103))
    order = torch.arange(10)
    assert shard_indices(order, 1, 4).tolist() == [1, 5, 9]
    assert shard_indices(order, 3, 4).tolist() == [3, 7, 1]  # wrapped padding, like DistributedSampler


def test_external_sampler_and_augmented_getitem():
    ds = _dataset(20, augment=True)
    sampler = DistributedSampler(ds, num_replicas=2, rank=1, shuffle=True, seed=0)
    loader = make_loader(ds, 4, sampler=sampler)
    assert len(loader) == 3 and sorted(_labels(loader)) == sorted(list(sampler))
    assert torch.equal(ds[3][0], ds[3][0])  # per-sample augmentation is seeded
    ds.set_epoch(1)
    assert not torch.equal(ds[3][0], ds.with_transform(ds.transform)[3][0])


def test_fallback_to_dataloader():
    ds = TensorDataset(torch.zeros(9, 2), torch.arange(9))
    loader = make_loader(ds, 4, shuffle=True, seed=0)
    assert isinstance(loader, DataLoader)
    assert sorted(int(v) for _, y in loader for v in y) == list(range(9))
    ddp = make_loader(ds, 4, rank=0, world_size=2)
    assert isinstance(ddp.sampler, DistributedSampler) and len(ddp.sampler) == 5
