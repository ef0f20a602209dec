"""IDX reader for MNIST-style files (``train-images-idx3-ubyte[.gz]`` and friends).

The IDX format is a 4-byte magic number (two zero bytes, a dtype code, the number of
dimensions), one big-endian ``int32`` per dimension, then the raw values. Only unsigned bytes
(dtype code ``0x08``) occur in (Fashion-)MNIST, so only that type is accepted. Every check
names the offending file and what was expected.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from nash.errors import DataError

__all__ = ["read_idx", "find_idx_file", "load_idx_split"]

_UBYTE = 0x08
_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (plain or gzip) into a ``uint8`` array.

    Args:
        path: the file; a ``.gz`` suffix means gzip-compressed.
        ndim: expected number of dimensions (3 for images, 1 for labels), or ``None``.

    Raises:
        DataError: missing, truncated, corrupt file or unexpected magic / dimensions.
    """
    p = Path(path)
    raw = _read_bytes(p)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{p}: not an IDX file (bad magic number); re-download the dataset file")
    if raw[2] != _UBYTE:
        raise DataError(f"{p}: IDX dtype code 0x{raw[2]:02x} unsupported, expected 0x08 (unsigned byte)")
    nd = raw[3]
    if ndim is not None and nd != ndim:
        raise DataError(f"{p}: IDX file has {nd} dimensions, expected {ndim}; is it the right file?")
    header = 4 + 4 * nd
    if len(raw) < header:
        raise DataError(f"{p}: truncated IDX header; re-download the dataset file")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=nd, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected:
        raise DataError(
            f"{p}: {len(raw)} bytes but dimensions {dims} need {expected}; the file is truncated or "
            "corrupt, re-download it"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _read_bytes(p: Path) -> bytearray:
    # a bytearray makes the numpy view writable, so torch.as_tensor can share it without a copy
    if not p.is_file():
        raise DataError(f"{p}: file not found; check the dataset directory")
    try:
        if p.suffix != ".gz":
            return bytearray(p.read_bytes())
        with gzip.open(p, "rb") as fh:
            return bytearray(fh.read())
    except PermissionError:
        raise DataError(
            f"{p}: cannot be read (permission denied); fix its permissions or pass --data with a readable copy"
        ) from None
    except (OSError, EOFError, zlib.error) as exc:
        if p.suffix != ".gz":
            raise DataError(f"{p}: cannot be read ({exc}); check the file or pass --data DIR") from None
        raise DataError(f"{p}: corrupt or truncated gzip file ({exc}); re-download it") from None


def find_idx_file(root: Path, split: str, kind: str) -> Path:
    """Locate ``<prefix>-<kind>-idx<n>-ubyte[.gz]`` in ``root`` (or ``root/raw``).

    Args:
        root: dataset directory.
        split: ``"train"`` or ``"test"`` (file prefix ``train`` / ``t10k``).
        kind: ``"images"`` or ``"labels"``.

    Raises:
        DataError: no candidate file exists; the message names the expected file.
    """
    n = 3 if kind == "images" else 1
    stem = f"{_PREFIX[split]}-{kind}"
    names = [f"{stem}-idx{n}-ubyte", f"{stem}.idx{n}-ubyte"]
    for folder in (root, root / "raw"):
        for name in names:
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.is_file():
                    return candidate
    raise DataError(f"{root}: missing {names[0]}[.gz]; pass --data DIR holding the IDX files")


def load_idx_split(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of an MNIST-style dataset.

    Returns:
        ``(images, labels)``: ``uint8`` of shape ``(N, 1, H, W)`` and ``int64`` of shape ``(N,)``.

    Raises:
        DataError: missing directory or file, corrupt file, image/label count mismatch.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset directory {root} does not exist; pass --data DIR with the IDX files")
    img_path = find_idx_file(root, split, "images")
    lbl_path = find_idx_file(root, split, "labels")
    images = read_idx(img_path, ndim=3)
    labels = read_idx(lbl_path, ndim=1)
    if len(images) != len(labels):
        raise DataError(
            f"{lbl_path}: {len(labels)} labels but {img_path.name} has {len(images)} images; "
            "the files do not belong together"
        )
    return images[:, None], labels.astype(np.int64)
