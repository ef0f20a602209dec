"""Dataset registry: name -> :class:`DatasetSpec` (where files live, how to read, statistics).

How to add a dataset:
    Write a reader ``reader(root: Path, split: str) -> (uint8 (N, C, H, W), int64 (N,))`` that
    raises ``DataError`` for bad files, then register a spec::

        register_dataset(DatasetSpec("kmnist", load_idx_split, classes=(...), mean=(0.19,),
                                     std=(0.35,), native=(1, 28, 28)))

    ``build_datasets("kmnist", root)`` then works, including subsets, splits and the fast loader.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nash.data.cifar import CIFAR10_CLASSES, load_cifar_split
from nash.data.idx import load_idx_split
from nash.errors import ConfigError

__all__ = ["DatasetSpec", "register_dataset", "get_dataset", "list_datasets"]

Reader = Callable[[Path, str], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class DatasetSpec:
    """Static facts about one dataset.

    Args:
        name: registry key, e.g. ``"fashion-mnist"``.
        reader: ``reader(root, "train" | "test")`` for in-memory datasets; ``None`` for ImageFolder.
        classes: class names, index = label (empty: discovered from folders).
        mean: per-channel mean of the training pixels in [0, 1] units (normalisation).
        std: per-channel standard deviation of the training pixels.
        native: stored ``(C, H, W)``; ``None`` when images vary (ImageFolder).
        augment: ``"crop_flip"`` (4-pixel-padded random crop + flip), ``"resized_crop_flip"`` or
            ``"none"``, applied to the training split when augmentation is requested.
        default_root: directory used when no ``root`` is given (``None``: the user must pass one).
    """

    name: str
    reader: Reader | None
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    native: tuple[int, int, int] | None
    augment: str = "none"
    default_root: str | None = None


_REGISTRY: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec`` under ``spec.name`` (re-registering a name warns and replaces it)."""
    if spec.name in _REGISTRY:
        warnings.warn(f"dataset {spec.name!r} registered twice; the new spec replaces the old", stacklevel=2)
    _REGISTRY[spec.name] = spec
    return spec


def get_dataset(name: str) -> DatasetSpec:
    """The spec registered as ``name``.

    Raises:
        ConfigError: unknown name; the message lists the valid names.
    """
    key = name.lower().replace("_", "-")
    if key not in _REGISTRY:
        raise ConfigError(f"unknown dataset {name!r}; valid datasets: {', '.join(list_datasets())}")
    return _REGISTRY[key]


def list_datasets(filter: str | None = None) -> list[str]:
    """Sorted registered names, optionally only those containing ``filter``."""
    return sorted(n for n in _REGISTRY if filter is None or filter in n)


FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

register_dataset(
    DatasetSpec(
        "fashion-mnist", load_idx_split, FASHION_MNIST_CLASSES, (0.2860,), (0.3530,), (1, 28, 28),
        default_root="/usr/share/datasets/fashion-mnist",
    )
)  # fmt: skip
register_dataset(
    DatasetSpec("mnist", load_idx_split, tuple(str(i) for i in range(10)), (0.1307,), (0.3081,), (1, 28, 28))
)
register_dataset(
    DatasetSpec(
        "cifar10", load_cifar_split, CIFAR10_CLASSES, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
        (3, 32, 32), augment="crop_flip",
    )
)  # fmt: skip
register_dataset(
    DatasetSpec(
        "imagefolder", None, (), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), None,
        augment="resized_crop_flip",
    )
)  # fmt: skip
