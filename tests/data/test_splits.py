"""Stratified subsets and the (weights, architecture) search split."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import Subset, TensorDataset

from nash.data import ArrayDataset, BatchTransform, build_datasets, search_split, stratified_subset
from nash.errors import ConfigError, DataError


def _dataset(labels) -> ArrayDataset:
    labels = np.asarray(labels)
    images = (
        np.arange(len(labels), dtype=np.int64).astype(np.uint8).reshape(-1, 1, 1, 1).repeat(8, 2).repeat(8, 3)
    )
    return ArrayDataset(images, labels, BatchTransform((1, 8, 8), None, 1, (0.0,), (1.0,)))


def test_search_split_halves_are_disjoint_and_stratified():
    ds = _dataset(np.arange(101) % 10)
    w, a = search_split(ds, 0.5, seed=0)
    assert (len(w), len(a)) == (50, 51)
    rows_w, rows_a = set(w.indices.tolist()), set(a.indices.tolist())
    assert not rows_w & rows_a and rows_w | rows_a == set(range(101))
    assert w.targets.bincount().tolist() == [5] * 10
    w2, _ = search_split(ds, 0.5, seed=0)
    assert torch.equal(w.indices, w2.indices)
    assert not torch.equal(w.indices, search_split(ds, 0.5, seed=1)[0].indices)
    assert len(search_split(ds, 0.8)[0]) == 80


def test_subset_keeps_class_proportions():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    sub = stratified_subset(_dataset(labels), 20, seed=4)
    assert sub.targets.bincount().tolist() == [12, 6, 2]
    assert stratified_subset(sub, 10, seed=0).targets.bincount().tolist() == [6, 3, 1]  # nested views
    assert stratified_subset(sub, None) is sub and stratified_subset(sub, 999) is sub


def test_generic_dataset_split_uses_subset():
    ds = TensorDataset(torch.zeros(10, 1), torch.arange(10) % 2)
    w, a = search_split(ds, 0.5)
    assert isinstance(w, Subset) and (len(w), len(a)) == (5, 5)


def test_bad_split_arguments():
    ds = _dataset(np.arange(10) % 2)
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        search_split(ds, 1.0)
    with pytest.raises(DataError, match="one half would be empty"):
        search_split(_dataset([0]), 0.5)
    with pytest.raises(ConfigError, match="at least 1"):
        stratified_subset(ds, 0)


def test_build_subsets(write_idx):
    train, test, info = build_datasets("mnist", write_idx(), train_subset=20, test_subset=10, seed=1)
    assert (len(train), len(test), info.n_train, info.n_test) == (20, 10, 20, 10)
    assert train.targets.bincount().tolist() == [2] * 10
    again, _, _ = build_datasets("mnist", write_idx(name="again"), train_subset=20, seed=1)
    assert torch.equal(train.indices, again.indices)
