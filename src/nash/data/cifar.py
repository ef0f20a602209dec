"""CIFAR-10 reader for the python pickle batches (``data_batch_1..5``, ``test_batch``).

Never downloads. Accepts either the ``cifar-10-batches-py`` directory itself or a directory that
contains it. The pickles are read with a restricted unpickler that only rebuilds numpy arrays,
so a foreign pickle in the data directory cannot execute code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from nash.errors import DataError

__all__ = ["CIFAR10_CLASSES", "resolve_cifar_root", "read_cifar_batch", "load_cifar_split"]

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except the few numpy needs to rebuild an array."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def resolve_cifar_root(root: str | Path) -> Path:
    """The directory holding the batch files: ``root`` or ``root/cifar-10-batches-py``.

    Raises:
        DataError: the directory is missing or holds no CIFAR-10 batches.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset directory {root} does not exist; pass --data DIR with cifar-10-batches-py")
    for candidate in (root, root / "cifar-10-batches-py"):
        if (candidate / "test_batch").is_file() or (candidate / "data_batch_1").is_file():
            return candidate
    raise DataError(
        f"{root}: no CIFAR-10 batches (data_batch_1..5, test_batch) here or in {root}/cifar-10-batches-py; "
        "download and extract cifar-10-python.tar.gz there"
    )


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one pickle batch into ``uint8 (N, 3, 32, 32)`` images and ``int64 (N,)`` labels.

    Raises:
        DataError: missing, truncated or corrupt file, or wrong array sizes.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found; the CIFAR-10 directory needs data_batch_1..5 and test_batch")
    try:
        with open(p, "rb") as fh:
            batch = _ArrayUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
        raise DataError(f"{p}: corrupt or truncated CIFAR-10 batch ({exc}); re-extract the archive") from None
    if not isinstance(batch, dict):
        raise DataError(f"{p}: expected a pickled dict with 'data' and 'labels', got {type(batch).__name__}")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or labels is None:
        raise DataError(f"{p}: missing 'data' array or 'labels' list; is this a CIFAR-10 python batch?")
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{p}: data is {data.dtype} {data.shape}, expected uint8 (N, 3072)")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(data),):
        raise DataError(f"{p}: {labels.size} labels for {len(data)} images; the batch is corrupt")
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar_split(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load the train (5 batches) or test split of CIFAR-10 from ``root``.

    Raises:
        DataError: see :func:`resolve_cifar_root` and :func:`read_cifar_batch`.
    """
    folder = resolve_cifar_root(root)
    parts = [read_cifar_batch(folder / name) for name in _FILES[split]]
    images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    labels = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    return images, labels
