"""Run records that never lie: compare a stored config with a requested one, fingerprint artefacts.

Used by ``nash.pipeline`` (``stage.json``) and meant for every stage that keeps a ``config.yaml``
beside its artefacts (``nash.train``, ``nash.search``): a record is rewritten only when the stage
really runs with the new settings; otherwise a changed setting is refused, naming the key, the
old and the new value, and the fix. Pure Python, no torch.

Example (what ``run_training(..., resume=True)`` should do before writing ``config.yaml``)::

    from nash.records import refuse_changed_config
    refuse_changed_config(out / "config.yaml", to_dict(cfg), ignore=("device", "data_root"),
                          fix="resume without the changed flags, or train into a new --out")
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nash.errors import ConfigError, NashError

__all__ = [
    "config_diff",
    "format_diff",
    "refuse_changed_config",
    "file_digest",
    "verify_file",
    "check_results_csv",
]

_MISSING = "<unset>"


def config_diff(
    stored: Mapping[str, Any],
    requested: Mapping[str, Any],
    *,
    ignore: Iterable[str] = (),
    prefix: str = "",
    defaults: Mapping[str, Any] | None = None,
) -> list[tuple[str, Any, Any]]:
    """The keys whose values differ, as ``(dotted key, stored value, requested value)``, sorted.

    Nested mappings are compared key by key (``train.lr``); lists and tuples compare equal when
    their items do; ints and floats compare by value (YAML writes ``1.0`` back as ``1.0``, JSON may
    hold ``1``); two NaNs are equal. A key absent on one side shows ``<unset>``. ``ignore`` names
    keys (dotted, without ``prefix``) that may differ freely, e.g. ``device``. ``defaults`` (the
    settings' defaults): a key the stored record lacks is no difference when the requested value
    is its default: the setting was introduced after the record was written, and the run behaved
    as its default does.
    """
    skip = set(ignore)
    diffs: list[tuple[str, Any, Any]] = []
    for key in sorted(set(stored) | set(requested), key=str):
        if str(key) in skip:
            continue
        old, new = stored.get(key, _MISSING), requested.get(key, _MISSING)
        name = f"{prefix}{key}"
        default = (defaults or {}).get(key, _MISSING)
        if old is _MISSING and default is not _MISSING and _same(default, new):
            continue
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            inner = {k[len(f"{key}.") :] for k in skip if k.startswith(f"{key}.")}
            sub = default if isinstance(default, Mapping) else None
            diffs += config_diff(old, new, ignore=inner, prefix=f"{name}.", defaults=sub)
        elif not _same(old, new):
            diffs.append((name, old, new))
    return diffs


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    return a == b


def format_diff(diffs: list[tuple[str, Any, Any]], limit: int = 3) -> str:
    """``lr 0.05 -> 0.02, epochs 2 -> 3 (and 2 more)`` for error messages."""
    parts = [f"{k} {_show(old)} -> {_show(new)}" for k, old, new in diffs[:limit]]
    more = f" (and {len(diffs) - limit} more)" if len(diffs) > limit else ""
    return ", ".join(parts) + more


def _show(value: Any) -> str:
    return value if value == _MISSING else repr(value)


def refuse_changed_config(
    stored: str | os.PathLike[str] | Mapping[str, Any],
    requested: Mapping[str, Any],
    *,
    ignore: Iterable[str] = (),
    fix: str = "use the original settings or a new --out",
    what: str | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Raise ``ConfigError`` when ``requested`` differs from the stored config in a key not ignored.

    Args:
        stored: the stored record (a ``config.yaml``/JSON path, or the mapping itself). A path
            that does not exist means nothing is stored yet: no error.
        requested: the settings about to be used (``to_dict(cfg)``).
        ignore: keys that may change between runs (device, data location, worker count).
        fix: what the user should do, appended to the message.
        what: how to name the record in the message (default: the path).
        defaults: the settings' defaults (see ``config_diff``): keys added since the record was
            written are no difference at their default value.

    Raises:
        ConfigError: ``<what> was written with lr 0.05 -> now 0.02; <fix>``.
    """
    if isinstance(stored, Mapping):
        old, name = stored, what or "the stored config"
    else:
        path = Path(stored)
        if not path.is_file():
            return
        import yaml

        try:
            old = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            raise ConfigError(f"{path} is unreadable; restore it or use a new --out") from None
        name = what or str(path)
    diffs = config_diff(old, requested, ignore=ignore, defaults=defaults)
    if diffs:
        raise ConfigError(f"{name} was run with other settings ({format_diff(diffs)}); {fix}")


def file_digest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"size": bytes, "sha256": hex}`` of a file (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    p = Path(path)
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"size": p.stat().st_size, "sha256": h.hexdigest()}


def verify_file(path: str | os.PathLike[str], digest: Mapping[str, Any] | None) -> str:
    """``""`` when ``path`` matches its recorded digest, else why not (missing, size, checksum).

    Without a recorded digest only existence and a non-zero size are checked.
    """
    p = Path(path)
    if not p.is_file():
        return "missing"
    size = p.stat().st_size
    if not digest:
        return "" if size > 0 else "empty"
    if "size" in digest and int(digest["size"]) != size:
        return f"{size} bytes, recorded {digest['size']}"
    if "sha256" in digest and file_digest(p)["sha256"] != digest["sha256"]:
        return "checksum differs from the recorded one"
    return ""


def check_results_csv(path: str | os.PathLike[str]) -> None:
    """Refuse a ``results.csv`` with a torn row (fewer cells than the header, or no status).

    A row cut short by an interrupted copy would otherwise read as ``status: ok`` with missing
    numbers. Raises ``NashError`` naming the line and the fix.
    """
    p = Path(path)
    if not p.is_file():
        return
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            return
        status = header.index("status") if "status" in header else None
        for row in reader:
            if not row:
                continue
            line = reader.line_num
            if len(row) != len(header):
                raise NashError(
                    f"{p} line {line} has {len(row)} cells, the header {len(header)}: the file is "
                    "truncated or edited; rerun `nash run` on the experiment to rewrite it"
                )
            if status is not None and row[status] not in ("ok", "failed"):
                raise NashError(
                    f"{p} line {line}: status {row[status]!r} is neither ok nor failed; rerun `nash run` "
                    "on the experiment to rewrite it"
                )
