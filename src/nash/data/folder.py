"""ImageFolder datasets (ImageNet layout ``root/train/<class>/*`` and ``root/val/<class>/*``).

Decoding JPEGs needs torchvision (the ``vision`` extra). The directory layout is checked first,
without torchvision, so a wrong ``--data`` is reported as such rather than as a missing package.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from torch.utils.data import Dataset

from nash.errors import DataError

__all__ = ["check_folder_layout", "build_image_folder", "DEFAULT_FOLDER_SIZE"]

DEFAULT_FOLDER_SIZE = 224  # ImageNet training resolution


def _class_dirs(split_dir: Path) -> list[str]:
    return sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def check_folder_layout(root: str | Path) -> tuple[str, ...]:
    """Validate ``root/{train,val}/<class>/`` and return the sorted class names.

    Raises:
        DataError: missing directory, missing ``train``/``val``, no class folders, or different
            class folders in the two splits (labels would not match).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset directory {root} does not exist; pass --data DIR with train/ and val/")
    for split in ("train", "val"):
        if not (root / split).is_dir():
            raise DataError(
                f"{root}: missing {split}/ folder; ImageFolder needs {root}/{split}/<class>/<img>"
            )
    classes = _class_dirs(root / "train")
    if not classes:
        raise DataError(f"{root / 'train'}: no class folders; put images in train/<class_name>/")
    diff = sorted(set(_class_dirs(root / "val")) ^ set(classes))
    if diff:
        raise DataError(
            f"{root / 'val'}: class folders differ from train/ (e.g. {diff[:3]}); both splits need the same classes"
        )
    return tuple(classes)


def _import_torchvision() -> ModuleType:
    try:
        import torchvision
    except ImportError:
        raise DataError(
            "the imagefolder dataset needs torchvision; install the vision extra: pip install -e .[vision]"
        ) from None
    return torchvision


def build_image_folder(
    root: str | Path,
    image_size: int | None,
    channels: int | None,
    augment: bool,
    mean: tuple[float, ...],
    std: tuple[float, ...],
) -> tuple[Dataset, Dataset, tuple[str, ...]]:
    """Train and val ``torchvision.datasets.ImageFolder`` with standard ImageNet transforms.

    Training: ``RandomResizedCrop(size)`` + flip when ``augment``, else resize + centre crop;
    validation: resize to ``size * 8/7`` + centre crop. ``channels=1`` converts to grey.

    Raises:
        DataError: bad layout (see :func:`check_folder_layout`) or torchvision missing.
    """
    root = Path(root)
    classes = check_folder_layout(root)
    tv = _import_torchvision()
    t = tv.transforms
    size = image_size or DEFAULT_FOLDER_SIZE
    head = [t.Grayscale(1)] if channels == 1 else []
    if channels == 1:  # grey: average of the colour statistics
        mean, std = (sum(mean) / len(mean),), (sum(std) / len(std),)
    tail = [t.ToTensor(), t.Normalize(mean, std)]
    evaluate = [t.Resize(round(size * 8 / 7)), t.CenterCrop(size)]
    train_tf = [t.RandomResizedCrop(size), t.RandomHorizontalFlip()] if augment else evaluate
    train = tv.datasets.ImageFolder(str(root / "train"), transform=t.Compose(head + train_tf + tail))
    test = tv.datasets.ImageFolder(str(root / "val"), transform=t.Compose(head + evaluate + tail))
    return train, test, classes
