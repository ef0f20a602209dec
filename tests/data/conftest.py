"""Tiny dataset files written by the tests themselves (IDX and CIFAR-10 pickle batches)."""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from datafiles import idx_bytes, tiny_images


@pytest.fixture
def write_idx(tmp_path: Path) -> Callable[..., Path]:
    """Factory: write an MNIST-style directory (train/t10k, gz or plain) and return it."""

    def make(n_train: int = 50, n_test: int = 20, gz: bool = True, name: str = "idx") -> Path:
        root = tmp_path / name
        root.mkdir()
        for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
            images, labels = tiny_images(n, seed)
            for kind, arr, nd in (("images", images, 3), ("labels", labels, 1)):
                path = root / f"{prefix}-{kind}-idx{nd}-ubyte"
                data = idx_bytes(arr)
                if gz:
                    path.with_name(path.name + ".gz").write_bytes(gzip.compress(data))
                else:
                    path.write_bytes(data)
        return root

    return make


@pytest.fixture
def write_cifar(tmp_path: Path) -> Callable[..., Path]:
    """Factory: write ``<tmp>/cifar-10-batches-py`` with 5 train batches of ``per_batch`` images."""

    def make(per_batch: int = 10, n_test: int = 10) -> Path:
        folder = tmp_path / "cifar" / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for i, name in enumerate(names):
            n = n_test if name == "test_batch" else per_batch
            rng = np.random.default_rng(i)
            batch = {
                b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                b"labels": [int(v) for v in (np.arange(n) + i) % 10],
                b"batch_label": name.encode(),
            }
            (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        return folder.parent

    return make
