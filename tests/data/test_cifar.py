"""CIFAR-10 pickle reader on tiny batches written by the test."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from nash.data import build_datasets, load_cifar_split
from nash.errors import DataError


def test_reads_batches_and_layout(write_cifar):
    parent = write_cifar(per_batch=10, n_test=10)
    images, labels = load_cifar_split(parent, "train")  # parent of cifar-10-batches-py accepted
    assert images.shape == (50, 3, 32, 32) and images.dtype == np.uint8
    assert labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2]
    raw = pickle.loads((parent / "cifar-10-batches-py" / "data_batch_1").read_bytes())[b"data"]
    np.testing.assert_array_equal(images[0, 1].reshape(-1), raw[0, 1024:2048])  # green plane
    test_images, _ = load_cifar_split(parent / "cifar-10-batches-py", "test")
    assert test_images.shape == (10, 3, 32, 32)


def test_build_cifar_augments_train_only(write_cifar):
    train, test, info = build_datasets("cifar10", write_cifar(), test_subset=5, seed=3)
    assert info.shape == (3, 32, 32) and info.num_classes == 10 and info.classes[0] == "airplane"
    assert (info.n_train, info.n_test) == (50, 5)
    assert train.transform.augment and not test.transform.augment
    assert train[0][0].shape == (3, 32, 32)


def test_truncated_batch_names_file(write_cifar):
    parent = write_cifar()
    path = parent / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match=r"data_batch_3: corrupt or truncated"):
        load_cifar_split(parent, "train")


def test_missing_batch_and_directory(write_cifar, tmp_path):
    parent = write_cifar()
    (parent / "cifar-10-batches-py" / "data_batch_5").unlink()
    with pytest.raises(DataError, match=r"data_batch_5: file not found"):
        load_cifar_split(parent, "train")
    with pytest.raises(DataError, match="does not exist"):
        load_cifar_split(tmp_path / "none", "train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no CIFAR-10 batches"):
        load_cifar_split(tmp_path / "empty", "test")


def test_wrong_sizes_and_foreign_pickle(write_cifar):
    folder = write_cifar() / "cifar-10-batches-py"
    (folder / "test_batch").write_bytes(
        pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
    )
    with pytest.raises(DataError, match=r"test_batch: data is uint8 \(2, 100\), expected uint8 \(N, 3072\)"):
        load_cifar_split(folder, "test")
    (folder / "test_batch").write_bytes(
        pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]})
    )
    with pytest.raises(DataError, match="1 labels for 2 images"):
        load_cifar_split(folder, "test")

    class Evil:
        def __reduce__(self):
            return (os.getcwd, ())

    (folder / "test_batch").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(DataError, match="not allowed"):
        load_cifar_split(folder, "test")


def test_cifar_needs_a_directory():
    with pytest.raises(DataError, match="no default directory; pass --data"):
        build_datasets("cifar10")
