"""Dataset registry and the ImageFolder path (layout checks work without torchvision)."""

from __future__ import annotations

import importlib.util

import pytest

from nash.data import DatasetSpec, build_datasets, check_folder_layout, get_dataset, list_datasets
from nash.data.registry import register_dataset
from nash.errors import ConfigError, DataError

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


def test_registry_names_and_unknown():
    assert {"fashion-mnist", "mnist", "cifar10", "imagefolder"} <= set(list_datasets())
    assert get_dataset("Fashion_MNIST").name == "fashion-mnist"
    assert list_datasets("mnist") == ["fashion-mnist", "mnist"]
    with pytest.raises(ConfigError, match=r"unknown dataset 'svhn'; valid datasets: cifar10, fashion-mnist"):
        get_dataset("svhn")


def test_register_twice_warns():
    spec = get_dataset("mnist")
    with pytest.warns(UserWarning, match="registered twice"):
        register_dataset(spec)
    assert isinstance(get_dataset("mnist"), DatasetSpec)


def _layout(root, train=("cat", "dog"), val=("cat", "dog")):
    for split, classes in (("train", train), ("val", val)):
        for c in classes:
            (root / split / c).mkdir(parents=True)
            (root / split / c / "0.jpg").write_bytes(b"")
    return root


def test_folder_layout(tmp_path):
    assert check_folder_layout(_layout(tmp_path / "ok")) == ("cat", "dog")
    with pytest.raises(DataError, match="differ from train"):
        check_folder_layout(_layout(tmp_path / "bad", val=("cat", "cow")))
    (tmp_path / "noval" / "train" / "a").mkdir(parents=True)
    with pytest.raises(DataError, match="missing val/ folder"):
        check_folder_layout(tmp_path / "noval")
    with pytest.raises(DataError, match="does not exist"):
        build_datasets("imagefolder", tmp_path / "missing")


@pytest.mark.skipif(HAS_TORCHVISION, reason="checks the error raised when torchvision is absent")
def test_imagefolder_without_torchvision_names_extra(tmp_path):
    with pytest.raises(DataError, match=r"pip install -e \.\[vision\]"):
        build_datasets("imagefolder", _layout(tmp_path / "ok"))
