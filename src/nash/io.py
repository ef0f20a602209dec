"""Atomic file writes: a reader never sees a half-written artefact, an interrupted run loses nothing.

Every artefact is written to a temporary file in the destination directory and then renamed over
the target (``os.replace`` is atomic on POSIX).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

__all__ = [
    "atomic_path",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_write_yaml",
    "append_jsonl",
    "read_jsonl",
    "ensure_writable",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    Example:
        >>> with atomic_path("out/model.onnx") as tmp:   # doctest: +SKIP
        ...     write_model(tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; artefacts are meant to be shared and served
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write(path: str | os.PathLike[str], writer: Any) -> Path:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        writer(fh)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    return _write(path, lambda fh: fh.write(text))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically and return the path."""

    def dump(fh: IO[str]) -> None:
        json.dump(obj, fh, indent=indent, sort_keys=False, default=_json_default)
        fh.write("\n")

    return _write(path, dump)


def atomic_write_yaml(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as YAML to ``path`` atomically and return the path."""
    return _write(path, lambda fh: yaml.safe_dump(obj, fh, sort_keys=False))


def append_jsonl(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Append one JSON line and flush it to disk (used for per-epoch metrics)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=_json_default) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a JSON-lines file; a torn last line (interrupted write) is ignored."""
    rows: list[dict[str, Any]] = []
    p = Path(path)
    if not p.exists():
        return rows
    for line in p.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def ensure_writable(path: str | os.PathLike[str], *, kind: str = "dir", what: str = "--out") -> Path:
    """Check before any work that ``path`` can be written, so a long run never fails at its end.

    ``kind="dir"``: ``path`` is (or will be) a directory; it is created. ``kind="file"``: ``path``
    is a file; its parent directory is created and ``path`` must not be a directory. A probe file
    is created and removed (``os.access`` says yes to root even on read-only file systems).

    Raises:
        OutputError: one line naming the path and the fix.
    """
    from nash.errors import OutputError

    target = Path(path)
    if kind == "file" and target.is_dir():
        raise OutputError(f"{what} {target} is a directory; give a file name, e.g. {target / 'model.onnx'}")
    if kind == "dir" and target.exists() and not target.is_dir():
        raise OutputError(f"{what} {target} is a file; give a directory")
    directory = target if kind == "dir" else target.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
        if kind == "file" and target.exists() and not os.access(target, os.W_OK):
            raise PermissionError(13, "Permission denied", str(target))
    except (PermissionError, NotADirectoryError, FileExistsError, OSError) as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(
            f"cannot write {what} {target}: {reason.lower()}; choose a location you can write"
        ) from None
    return target


def _json_default(obj: Any) -> Any:
    # numpy scalars/arrays and Paths appear in metrics; turn them into plain JSON values.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
