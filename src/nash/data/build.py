"""``build_datasets``: dataset name + options -> (train, test, :class:`DatasetInfo`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from nash.data.arrays import ArrayDataset
from nash.data.folder import build_image_folder
from nash.data.registry import DatasetSpec, get_dataset
from nash.data.splits import stratified_subset
from nash.data.transforms import BatchTransform
from nash.errors import DataError

__all__ = ["DatasetInfo", "build_datasets", "pixel_stats"]


@dataclass(frozen=True)
class DatasetInfo:
    """What a model and a report need to know about the built datasets.

    ``shape`` is the produced ``(C, H, W)``; ``mean``/``std`` are per produced channel (the values
    used for normalisation); ``n_train``/``n_test`` count samples after subsetting.
    """

    name: str
    num_classes: int
    shape: tuple[int, int, int]
    n_train: int
    n_test: int
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _resolve_root(spec: DatasetSpec, root: str | Path | None) -> Path:
    if root is not None:
        return Path(root).expanduser()
    if spec.default_root is None:
        raise DataError(f"dataset {spec.name!r} has no default directory; pass --data DIR (root=...)")
    return Path(spec.default_root)


def _read_split(spec: DatasetSpec, root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = spec.reader(root, split)  # type: ignore[misc]
    n_classes = len(spec.classes)
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(
            f"{root}: {split} labels span {labels.min()}..{labels.max()}, expected 0..{n_classes - 1} "
            f"for {spec.name}; is --dataset right?"
        )
    if len(images) == 0:
        raise DataError(f"{root}: the {split} split of {spec.name} is empty")
    return images, labels


def _build_arrays(spec: DatasetSpec, root: Path, image_size: int | None, channels: int | None,
                  augment: bool, seed: int) -> tuple[ArrayDataset, ArrayDataset]:  # fmt: skip
    tr_img, tr_lbl = _read_split(spec, root, "train")
    te_img, te_lbl = _read_split(spec, root, "test")
    if tr_img.shape[1:] != te_img.shape[1:]:
        raise DataError(f"{root}: train images are {tr_img.shape[1:]} but test images {te_img.shape[1:]}")
    native = tuple(int(d) for d in tr_img.shape[1:])
    tf = BatchTransform(native, image_size, channels or native[0], spec.mean, spec.std,
                        augment=augment and spec.augment == "crop_flip")  # fmt: skip
    train = ArrayDataset(tr_img, tr_lbl, tf, spec.classes, seed=seed)
    test = ArrayDataset(te_img, te_lbl, dataclasses.replace(tf, augment=False), spec.classes, seed=seed)
    return train, test


def build_test_split(
    name: str,
    root: str | Path | None = None,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    test_subset: int | None = None,
    seed: int = 0,
) -> tuple[Dataset, int]:
    """The test split alone, exactly as ``build_datasets`` makes it, and the class count.

    Evaluation needs no training images: for IDX and CIFAR-10 only the test files are read
    (normalisation uses the dataset's fixed statistics, not the training images'). ImageFolder
    trees go through ``build_datasets`` (listing ``train/`` is cheap; images load lazily).
    """
    spec = get_dataset(name)
    path = _resolve_root(spec, root)
    if spec.reader is None:
        _, test, info = build_datasets(name, root, image_size=image_size, channels=channels,
                                       augment=False, test_subset=test_subset, seed=seed)  # fmt: skip
        return test, info.num_classes
    images, labels = _read_split(spec, path, "test")
    native = tuple(int(d) for d in images.shape[1:])
    tf = BatchTransform(native, image_size, channels or native[0], spec.mean, spec.std, augment=False)
    test = ArrayDataset(images, labels, tf, spec.classes, seed=seed)
    return stratified_subset(test, test_subset, seed), len(spec.classes)


def build_datasets(
    name: str,
    root: str | Path | None = None,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    augment: bool = True,
    train_subset: int | None = None,
    test_subset: int | None = None,
    seed: int = 0,
) -> tuple[Dataset, Dataset, DatasetInfo]:
    """Read a registered dataset and return ``(train, test, info)``.

    Args:
        name: registered name (``fashion-mnist``, ``mnist``, ``cifar10``, ``imagefolder``).
        root: directory with the files; ``None`` uses the dataset's default directory.
        image_size: output side; small growth zero-pads centred (28 -> 32), otherwise resizes.
        channels: 3 repeats a grey channel; ``None`` keeps the stored channels.
        augment: apply the dataset's standard training augmentation (CIFAR: 4-pixel padded random
            crop + horizontal flip; (Fashion-)MNIST: none). The test split is never augmented.
        train_subset: keep this many training samples (class-stratified, seeded).
        test_subset: keep this many test samples (class-stratified, seeded).
        seed: seed of subsets and augmentation.

    Raises:
        ConfigError: unknown dataset name or impossible ``channels`` / ``image_size``.
        DataError: missing, truncated or inconsistent files.

    Example:
        >>> train, test, info = build_datasets("fashion-mnist", image_size=32)  # doctest: +SKIP
        >>> info.shape, info.n_train
        ((1, 32, 32), 60000)
    """
    spec = get_dataset(name)
    path = _resolve_root(spec, root)
    if spec.reader is None:
        train, test, classes = build_image_folder(path, image_size, channels, augment, spec.mean, spec.std)
        c = channels or 3
        mean, std = (
            (spec.mean, spec.std) if c == 3 else ((float(np.mean(spec.mean)),), (float(np.mean(spec.std)),))
        )
        shape = (c, image_size or 224, image_size or 224)
    else:
        train, test = _build_arrays(spec, path, image_size, channels, augment, seed)
        classes, shape = spec.classes, train.transform.out_shape
        mean, std = train.transform.out_stats()
    train = stratified_subset(train, train_subset, seed)
    test = stratified_subset(test, test_subset, seed)
    info = DatasetInfo(spec.name, len(classes), shape, len(train), len(test), tuple(classes),
                       tuple(mean), tuple(std))  # fmt: skip
    return train, test, info


def pixel_stats(dataset: ArrayDataset) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Measured per-channel mean and std (in [0, 1] units) of the stored, untransformed pixels.

    Exact: computed from a 256-bin histogram of the ``uint8`` values of each channel.
    """
    images = dataset.images if dataset.indices is None else dataset.images[dataset.indices]
    values = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for c in range(images.shape[1]):
        hist = torch.bincount(images[:, c].reshape(-1), minlength=256).to(torch.float64)  # uint8 ok
        p = hist / hist.sum()
        mean = float((p * values).sum())
        means.append(round(mean, 4))
        stds.append(round(float((p * (values - mean) ** 2).sum().sqrt()), 4))
    return tuple(means), tuple(stds)
