"""Deterministic, class-stratified subsets and the search split of Algorithm 1.

Both use one ordering: samples shuffled by ``seed``, then interleaved so that every prefix holds
each class in proportion to its size. Taking the first ``n`` gives a stratified subset; cutting
at ``portion`` gives two stratified halves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch.utils.data import Dataset, Subset

from nash.data.arrays import ArrayDataset
from nash.errors import ConfigError, DataError

__all__ = ["stratified_order", "stratified_subset", "search_split", "dataset_targets"]


def dataset_targets(dataset: Dataset) -> np.ndarray:
    """Integer labels of every sample, read without loading images where possible."""
    if isinstance(dataset, Subset):
        return dataset_targets(dataset.dataset)[np.asarray(dataset.indices)]
    targets = getattr(dataset, "targets", None)
    if targets is None:
        targets = [int(dataset[i][1]) for i in range(len(dataset))]  # type: ignore[arg-type]
    return np.asarray(targets, dtype=np.int64)


def stratified_order(targets: np.ndarray | Sequence[int], seed: int = 0) -> np.ndarray:
    """All positions ordered so that every prefix is stratified by class (proportionally).

    Sample ``r`` (0-based, after a seeded shuffle) of a class with ``n_c`` members gets the key
    ``(r + 0.5) / n_c``; sorting by key interleaves the classes at their natural rates.
    """
    t = np.asarray(targets, dtype=np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(t))
    tp = t[perm]
    by_class = np.argsort(tp, kind="stable")  # shuffled positions grouped by class
    classes, starts, counts = np.unique(tp[by_class], return_index=True, return_counts=True)
    rank = np.empty(len(t), dtype=np.int64)
    rank[by_class] = np.arange(len(t)) - np.repeat(starts, counts)
    size = np.zeros(int(classes.max()) + 1 if len(classes) else 0, dtype=np.float64)
    size[classes] = counts
    key = (rank + 0.5) / size[tp]
    return perm[np.argsort(key, kind="stable")]


def _take(dataset: Dataset, positions: np.ndarray) -> Dataset:
    positions = np.sort(positions)  # ascending keeps memory access local
    if isinstance(dataset, ArrayDataset):
        return dataset.subset(positions)
    return Subset(dataset, positions.tolist())


def stratified_subset(dataset: Dataset, n: int | None, seed: int = 0) -> Dataset:
    """``n`` samples of ``dataset`` with class proportions kept (``None`` or ``n >= len`` = all).

    Raises:
        ConfigError: ``n`` < 1.
    """
    if n is None or n >= len(dataset):  # type: ignore[arg-type]
        return dataset
    if n < 1:
        raise ConfigError(f"subset size {n} must be at least 1 (or unset for the whole split)")
    return _take(dataset, stratified_order(dataset_targets(dataset), seed)[:n])


def search_split(train: Dataset, portion: float = 0.5, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split the training set into (weight half, architecture half) as in DARTS / NASH search.

    The first ``floor(portion * N)`` samples (stratified, seeded) train the weights; the rest
    train the architecture parameters.

    Raises:
        ConfigError: ``portion`` outside (0, 1).
        DataError: either half would be empty.
    """
    if not 0.0 < portion < 1.0:
        raise ConfigError(f"search_portion={portion} must lie strictly between 0 and 1 (paper: 0.5)")
    n = len(train)  # type: ignore[arg-type]
    cut = int(np.floor(portion * n))
    if cut == 0 or cut == n:
        raise DataError(f"cannot split {n} samples at portion {portion}: one half would be empty")
    order = stratified_order(dataset_targets(train), seed)
    return _take(train, order[:cut]), _take(train, order[cut:])
