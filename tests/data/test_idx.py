"""IDX reader: round trip, real Fashion-MNIST, and every corrupt-file error names the file."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from datafiles import idx_bytes, tiny_images

from nash.data import build_datasets, load_idx_split, pixel_stats, read_idx
from nash.errors import DataError


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(write_idx, gz):
    root = write_idx(gz=gz)
    images, labels = load_idx_split(root, "train")
    expected, expected_labels = tiny_images(50, 0)
    assert images.shape == (50, 1, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[:, 0], expected)
    np.testing.assert_array_equal(labels, expected_labels)
    assert labels.dtype == np.int64
    assert load_idx_split(root, "test")[0].shape == (20, 1, 28, 28)


def test_truncated_plain_file_names_file(write_idx):
    root = write_idx(gz=False)
    path = root / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.*truncated"):
        load_idx_split(root, "train")


def test_truncated_gzip_names_file(write_idx):
    root = write_idx(gz=True)
    path = root / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:15])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz"):
        load_idx_split(root, "test")


def test_garbage_gzip_names_file(write_idx):
    root = write_idx(gz=True)
    (root / "train-labels-idx1-ubyte.gz").write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: corrupt"):
        load_idx_split(root, "train")


@pytest.mark.parametrize("gz", [True, False])
def test_unreadable_file_is_not_called_corrupt(write_idx, monkeypatch, gz):
    """Issue 15 item 10: a file the user may not read was reported as a corrupt gzip to re-download.
    (Tests run as root, who reads any file, so the denial is injected where the bytes are read.)"""
    root = write_idx(gz=gz)

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(gzip, "open", denied)
    monkeypatch.setattr("pathlib.Path.read_bytes", denied)
    with pytest.raises(DataError, match=r"permission denied\); fix its permissions") as info:
        load_idx_split(root, "train")
    assert "corrupt" not in str(info.value) and "re-download" not in str(info.value)


def test_bad_magic_and_wrong_ndim(tmp_path):
    bad = tmp_path / "x-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x08\x03" + bytes(20))
    with pytest.raises(DataError, match="bad magic"):
        read_idx(bad)
    labels = tmp_path / "labels"
    labels.write_bytes(idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DataError, match="1 dimensions, expected 3"):
        read_idx(labels, ndim=3)
    floats = tmp_path / "floats"
    floats.write_bytes(b"\x00\x00\x0d\x01" + (4).to_bytes(4, "big") + bytes(16))
    with pytest.raises(DataError, match="0x0d unsupported"):
        read_idx(floats)


def test_missing_file_and_directory(write_idx, tmp_path):
    root = write_idx(gz=True)
    (root / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"missing t10k-images-idx3-ubyte\[\.gz\]"):
        load_idx_split(root, "test")
    with pytest.raises(DataError, match="does not exist"):
        load_idx_split(tmp_path / "nowhere", "train")


def test_label_count_mismatch(write_idx):
    root = write_idx(gz=True)
    (root / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(49, np.uint8))))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: 49 labels but .* 50 images"):
        load_idx_split(root, "train")


def test_out_of_range_labels_rejected(write_idx):
    root = write_idx(gz=False)
    (root / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(50, 12, np.uint8)))
    with pytest.raises(DataError, match=r"labels span 12\.\.12, expected 0\.\.9"):
        build_datasets("mnist", root)


@pytest.fixture(scope="module")
def fmnist(fmnist_dir):
    """The real dataset, read once for the module (about 1 s)."""
    return build_datasets("fashion-mnist", fmnist_dir, image_size=32, channels=3)


def test_real_fashion_mnist_files(fmnist):
    train, test, info = fmnist
    assert (info.n_train, info.n_test, info.num_classes) == (60000, 10000, 10)
    assert tuple(train.images.shape) == (60000, 1, 28, 28)  # stored as read: uint8, 1x28x28
    assert tuple(test.images.shape) == (10000, 1, 28, 28)
    assert train.targets.bincount().tolist() == [6000] * 10
    assert test.targets.bincount().tolist() == [1000] * 10
    mean, std = pixel_stats(train)  # measured statistics match the registered constants
    assert abs(mean[0] - 0.2860) < 1e-3 and abs(std[0] - 0.3530) < 1e-3


def test_real_fashion_mnist_padded_rgb(fmnist):
    train, test, info = fmnist
    assert info.shape == (3, 32, 32) and info.classes[9] == "Ankle boot"
    assert info.mean == (0.2860,) * 3
    x, y = test[0]
    assert x.shape == (3, 32, 32) and y == int(test.targets[0])
    assert (x[0] == x[1]).all() and (x[1] == x[2]).all()
    zero = (0 - 0.2860) / 0.3530  # the 2-pixel zero border, normalised
    assert float(x[0, 0].sub(zero).abs().max()) < 1e-5
    raw = test.images[0, 0].float() / 255  # centre equals the original pixels
    assert float((x[0, 2:30, 2:30] * 0.3530 + 0.2860 - raw).abs().max()) < 1e-5
