"""Data settings shared by search and training (``data:`` section of a stage config)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nash.errors import ConfigError

__all__ = ["DataConfig"]


@dataclass(frozen=True)
class DataConfig:
    """Which dataset, how it is shaped, subsetted, split and batched.

    Example:
        >>> DataConfig(dataset="cifar10", root="/data/cifar", batch_size=128).search_portion
        0.5
    """

    dataset: str = "fashion-mnist"  # registered name: fashion-mnist | mnist | cifar10 | imagefolder
    root: str | None = None  # directory with the files; None = the dataset's default directory
    image_size: int | None = None  # output side; 28 -> 32 zero-pads, larger changes resize; None = native
    channels: int | None = None  # 3 repeats a grey channel; None = as stored
    augment: bool = True  # dataset's standard train augmentation (CIFAR crop+flip; MNIST none)
    train_subset: int | None = None  # keep this many training samples (stratified); None = all
    test_subset: int | None = None  # keep this many test samples (stratified); None = all
    search_portion: float = 0.5  # share of the training set for weights in the search (paper: 0.5)
    batch_size: int = 256  # samples per batch (paper: 256 for ResNet18, 128 for ResNet34)
    workers: int = 0  # DataLoader workers (ImageFolder only; in-memory datasets need none)
    seed: int = 0  # seed of subsets, the search split, shuffling and augmentation

    def __post_init__(self) -> None:
        if self.image_size is not None and self.image_size < 8:
            raise ConfigError(
                f"data.image_size={self.image_size} is too small; use at least 8 or leave it unset"
            )
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"data.channels={self.channels} must be 1 or 3 (or unset)")
        for key in ("train_subset", "test_subset"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ConfigError(f"data.{key}={getattr(self, key)} must be at least 1 (or unset for all)")
        if not 0.0 < self.search_portion < 1.0:
            raise ConfigError(f"data.search_portion={self.search_portion} must lie strictly between 0 and 1")
        if self.batch_size < 1:
            raise ConfigError(f"data.batch_size={self.batch_size} must be at least 1")
        if self.workers < 0:
            raise ConfigError(f"data.workers={self.workers} must be 0 or more")

    @classmethod
    def from_stage(cls, cfg: Any, **overrides: Any) -> DataConfig:
        """The data settings of a search or training config (``data_root`` is ``root`` here).

        Fields the stage config does not have keep their defaults; ``overrides`` win.
        """
        names = ("dataset", "image_size", "channels", "augment", "train_subset", "test_subset", "seed")
        values = {n: getattr(cfg, n) for n in names if hasattr(cfg, n)}
        return cls(**{**values, "root": cfg.data_root, **overrides})

    def build(self) -> tuple[Any, Any, Any]:
        """``nash.data.build_datasets`` with these settings: ``(train, test, DatasetInfo)``."""
        from nash.data import build_datasets

        return build_datasets(
            self.dataset,
            self.root,
            image_size=self.image_size,
            channels=self.channels,
            augment=self.augment,
            train_subset=self.train_subset,
            test_subset=self.test_subset,
            seed=self.seed,
        )
