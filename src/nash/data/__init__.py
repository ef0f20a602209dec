"""Datasets for search and training: IDX (Fashion-)MNIST, CIFAR-10 batches, ImageFolder.

Array datasets live in memory as one ``uint8`` tensor and are transformed a whole batch at a time;
use :func:`make_loader` for fast, deterministic, DDP-shardable batches.

Example:
    >>> from nash.data import build_datasets, make_loader, search_split  # doctest: +SKIP
    >>> train, test, info = build_datasets("fashion-mnist", image_size=32, channels=3)
    >>> w_half, a_half = search_split(train, 0.5, seed=0)
    >>> for x, y in make_loader(w_half, 256, shuffle=True, seed=0): ...
"""

from nash.data.arrays import ArrayDataset
from nash.data.build import DatasetInfo, build_datasets, build_test_split, pixel_stats
from nash.data.cifar import load_cifar_split, read_cifar_batch
from nash.data.folder import check_folder_layout
from nash.data.idx import load_idx_split, read_idx
from nash.data.loader import TensorBatchLoader, make_loader, shard_indices
from nash.data.registry import DatasetSpec, get_dataset, list_datasets, register_dataset
from nash.data.splits import search_split, stratified_order, stratified_subset
from nash.data.transforms import BatchTransform

__all__ = [
    "ArrayDataset",
    "BatchTransform",
    "DatasetInfo",
    "DatasetSpec",
    "TensorBatchLoader",
    "build_datasets",
    "build_test_split",
    "check_folder_layout",
    "get_dataset",
    "list_datasets",
    "load_cifar_split",
    "load_idx_split",
    "make_loader",
    "pixel_stats",
    "read_cifar_batch",
    "read_idx",
    "register_dataset",
    "search_split",
    "shard_indices",
    "stratified_order",
    "stratified_subset",
]
