"""Stage bookkeeping: each stage directory holds a ``stage.json`` record that never lies.

The record (schema 2) holds the stage's settings, the checksums of its input artefacts (e.g. the
genotype a training used), the size and checksum of each output file, numeric outputs and the run
time. Every path in it is relative to the stage directory or to the experiment directory, so an
experiment can be moved, copied or run from any working directory.

What ``run_stage`` does with an existing record:

- same settings, same inputs, output files intact -> **skip** (the record is not touched);
- settings changed -> **refused** with ``StageChanged`` naming the keys and old/new values, unless
  the stage may re-run (``rerun=True``: ``nash run --rerun STAGE``; export and hw always may, they
  are cheap and deterministic) -> the directory is cleared and the stage runs afresh;
- an input changed (its upstream stage ran again) or an output file is missing/truncated -> the
  directory is cleared and the stage runs afresh (said in the log);
- the stage was interrupted (record ``running``) or failed (record ``failed``) -> it resumes.

The record is written as ``running`` before the work starts, as ``ok`` after it finished and as
``failed`` (with the one-line ``error``) when the work raised, so it is rewritten only when the stage
really runs; a record left ``running`` means the process was killed or interrupted. ``started``,
``finished`` and ``seconds`` are those of the last attempt; ``attempts`` lists every attempt of this
run of the stage (``{started, finished, seconds, status[, error]}``, status ``ok``, ``failed``,
``interrupted`` or ``running``) and ``seconds_total`` adds them up: a resumed stage's time is not lost.
An attempt that was killed ends at the last write of a file in the stage directory (a lower bound).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nash.errors import ConfigError
from nash.io import atomic_write_json
from nash.records import config_diff, file_digest, format_diff, verify_file

__all__ = [
    "StageResult",
    "StageChanged",
    "fingerprint",
    "run_stage",
    "read_record",
    "settings_diff",
    "damaged_artefacts",
    "one_line_error",
    "MARKER",
]

MARKER = "stage.json"
SCHEMA = 2
# keys of schema-1 records that held paths relative to the caller's working directory
_LEGACY_PATH_KEYS = ("genotype", "checkpoint", "source")


class StageChanged(ConfigError):
    """A finished or interrupted stage was run with other settings than the config asks for now."""


@dataclass(frozen=True)
class StageResult:
    """What one stage produced and whether it ran now (``skipped`` False) or was found done."""

    name: str
    directory: Path
    outputs: dict[str, Any]  # numbers recorded by the stage
    skipped: bool
    seconds: float
    files: dict[str, Path] = field(default_factory=dict)  # output name -> file (absolute or cwd-based)


def fingerprint(settings: dict[str, Any]) -> str:
    """A short stable hash of a stage's settings (JSON, sorted keys)."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def read_record(directory: Path) -> dict[str, Any] | None:
    """The stage record of ``directory``, or None when absent or unreadable."""
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def settings_diff(
    record: Mapping[str, Any] | None,
    settings: Mapping[str, Any],
    free: Iterable[str] = (),
    defaults: Mapping[str, Any] | None = None,
) -> list[tuple[str, Any, Any]]:
    """Keys whose recorded value differs from ``settings`` (``free`` keys ignored); [] without a record.

    ``defaults``: keys a record lacks (written before the setting existed) count as unchanged at
    their default value (``nash.records.config_diff``)."""
    if not record or not isinstance(record.get("settings"), dict):
        return []
    ignore = set(free)
    if record.get("schema") != SCHEMA:
        ignore |= set(_LEGACY_PATH_KEYS)
    return config_diff(record["settings"], settings, ignore=ignore, defaults=defaults)


def _inputs_changed(record: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[str]:
    if record.get("schema") != SCHEMA:
        return []
    old = record.get("inputs") or {}
    return [
        k
        for k in sorted(set(old) | set(inputs))
        if (old.get(k) or {}).get("sha256") != (inputs.get(k) or {}).get("sha256")
    ]


def _damaged(directory: Path, record: Mapping[str, Any], files: Mapping[str, str]) -> list[str]:
    digests = record.get("files") if record.get("schema") == SCHEMA else {}
    problems = []
    for key, name in files.items():
        why = verify_file(directory / name, (digests or {}).get(key))
        if why:
            problems.append(f"{name} {why}")
    return problems


def run_stage(
    name: str,
    directory: Path,
    settings: dict[str, Any],
    work: Callable[[bool], dict[str, Any]],
    *,
    root: Path | None = None,
    inputs: Mapping[str, Path] | None = None,
    files: Mapping[str, str] | None = None,
    free: Iterable[str] = (),
    rerun: bool = False,
    key_name: Callable[[str], str] = str,
    label: str = "",
    on_start: Callable[[bool, str], None] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> StageResult:
    """Run ``work(resume)`` unless ``directory`` holds a valid record for the same settings and inputs.

    Args:
        name: stage name for logs and the record.
        directory: the stage's run directory.
        settings: everything that decides the stage's result (paths excluded: see ``inputs``).
        work: does the stage; receives ``resume=True`` when an interrupted run is to be continued;
            returns numbers to record (paths go in ``files``).
        root: the experiment directory; input paths are recorded relative to it.
        inputs: upstream artefacts the stage reads, identified by checksum.
        files: output name -> file name inside ``directory``; checked (size, sha256) before a skip.
        free: settings that may change without changing the result (device, data location).
        rerun: changed settings re-run the stage instead of being refused.
        key_name: how a settings key is named in messages (``lr`` -> ``train.lr``).
        label: the stage's grid cell for messages (``resnet18-o-w2a2``).
        on_start: called as ``on_start(resume, reason)`` just before ``work`` runs.
        defaults: the settings' defaults; a record written before a setting existed is not
            "changed" when the setting is at its default.

    Raises:
        StageChanged: changed settings and ``rerun`` is False.
    """
    files = dict(files or {})
    root = root if root is not None else directory.parent.parent
    input_digests = {
        k: {"path": _relative(Path(p), root), **file_digest(p)} for k, p in (inputs or {}).items()
    }
    record = read_record(directory)
    resume, reason = _decide(
        name, directory, record, settings, input_digests, files, free, rerun, key_name, label, defaults
    )
    if reason == "":
        assert record is not None
        paths = {k: directory / v for k, v in files.items()}
        return StageResult(name, directory, _numbers(record.get("outputs", {})), True, 0.0, paths)
    attempts = _past_attempts(directory, record) if resume else []
    if not resume and directory.exists() and any(directory.iterdir()):
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    base = {"schema": SCHEMA, "stage": name, "fingerprint": fingerprint(settings), "settings": settings,
            "inputs": input_digests}  # fmt: skip
    started = _now()
    atomic_write_json(
        directory / MARKER,
        {
            **base,
            "status": "running",
            "started": started,
            "seconds_total": _total(attempts),
            "attempts": [*attempts, {"started": started, "status": "running"}],
        },  # fmt: skip
    )
    if on_start is not None:
        on_start(resume, reason)
    start = time.perf_counter()
    try:
        outputs = _numbers(work(resume))
        digests = {k: file_digest(directory / v) for k, v in files.items()}
    except Exception as exc:
        _record_failure(directory, base, started, time.perf_counter() - start, exc, attempts)
        raise
    seconds = time.perf_counter() - start
    finished = _now()
    attempts.append({"started": started, "finished": finished, "seconds": round(seconds, 2), "status": "ok"})
    atomic_write_json(
        directory / MARKER,
        {
            **base,
            "status": "ok",
            "started": started,
            "finished": finished,
            "files": {k: {"path": files[k], **d} for k, d in digests.items()},
            "outputs": outputs,
            "seconds": round(seconds, 2),
            "seconds_total": _total(attempts),
            "attempts": attempts,
        },  # fmt: skip
    )
    return StageResult(name, directory, outputs, False, seconds, {k: directory / v for k, v in files.items()})


def _record_failure(
    directory: Path, base: Mapping[str, Any], started: str, seconds: float, exc: Exception, attempts: list
) -> None:
    """Write the ``failed`` record (the caller re-raises ``exc``; a failing write must not hide it)."""
    error, finished = one_line_error(exc), _now()
    attempts.append({"started": started, "finished": finished, "seconds": round(seconds, 2),
                     "status": "failed", "error": error})  # fmt: skip
    record = {**base, "status": "failed", "started": started, "finished": finished, "error": error,
              "seconds": round(seconds, 2), "seconds_total": _total(attempts), "attempts": attempts}  # fmt: skip
    with contextlib.suppress(Exception):
        atomic_write_json(directory / MARKER, record)


def one_line_error(exc: BaseException) -> str:
    """``TrainingError: loss became NaN ...``: the exception's type and the first line of its message."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _total(attempts: Iterable[Mapping[str, Any]]) -> float:
    return round(sum(float(a["seconds"]) for a in attempts if isinstance(a.get("seconds"), int | float)), 2)


def _past_attempts(directory: Path, record: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The attempts a resumed stage continues: those of its record, the killed one closed as ``interrupted``.

    A record without ``attempts`` (written before they were recorded) counts as one attempt. An
    attempt still ``running`` was killed; its end is taken as the last write of a file in the stage
    directory (what a resume builds on), so its ``seconds`` are a lower bound.
    """
    if not record:
        return []
    attempts = [dict(a) for a in record.get("attempts") or [] if isinstance(a, dict)]
    if not attempts and record.get("started"):
        old = {"started": record["started"], "status": record.get("status", "running")}
        for key in ("finished", "seconds", "error"):
            if key in record:
                old[key] = record[key]
        attempts = [old]
    for attempt in attempts:
        if attempt.get("status") == "running":
            attempt["status"] = "interrupted"
            begun, last = _epoch(attempt.get("started")), _last_write(directory)
            if begun is not None and last is not None:
                attempt["finished"] = _now(last)
                attempt["seconds"] = round(max(0.0, last - begun), 2)
    return attempts


def _last_write(directory: Path) -> float | None:
    times = [p.stat().st_mtime for p in directory.rglob("*") if p.is_file() and p.name != MARKER]
    return max(times) if times else None


def _epoch(stamp: Any) -> float | None:
    try:
        return time.mktime(time.strptime(str(stamp), _TIME_FORMAT))
    except (ValueError, OverflowError):
        return None


def _decide(
    name, directory, record, settings, inputs, files, free, rerun, key_name, label, defaults
) -> tuple[bool, str]:
    """``(resume, reason)``; reason ``""`` means skip."""
    partial = directory.exists() and any(p.name != MARKER for p in directory.iterdir())
    if record is None:
        return partial, "resuming" if partial else "new"
    diffs = settings_diff(record, settings, free, defaults)
    if diffs:
        named = [(key_name(k), old, new) for k, old, new in diffs]
        if not rerun:
            raise StageChanged(
                f"{name} {label} ran with other settings than the config now asks for "
                f"({format_diff(named)}); pass --rerun {name} to run it again with the new settings "
                "(its old results are replaced) or use a new --out"
            )
        return False, f"settings changed ({format_diff(named)})"
    changed = _inputs_changed(record, inputs)
    if changed:
        return False, f"its input {', '.join(changed)} changed"
    if record.get("status") == "ok":
        damaged = _damaged(directory, record, files)
        if damaged:
            return False, f"{'; '.join(damaged)}"
        return False, ""
    return partial, "resuming" if partial else "new"


def damaged_artefacts(root: str | Path, *, checksums: bool = False) -> dict[str, str]:
    """Output files of finished stages that no longer match their record: ``{relative path: why}``.

    Reads every ``<root>/<stage>/<cell>/stage.json``; by default compares sizes only (fast even for
    large checkpoints), ``checksums=True`` also the sha256. What ``nash report`` warns about and
    what a report should show instead of ``ok``.
    """
    base = Path(root)
    found: dict[str, str] = {}
    for marker in sorted(base.glob(f"*/*/{MARKER}")):
        record = read_record(marker.parent)
        if not record or record.get("status") != "ok" or record.get("schema") != SCHEMA:
            continue
        entries = record.get("files") if isinstance(record.get("files"), dict) else {}
        for entry in entries.values():
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                continue  # a hand-edited record: nothing to compare against
            digest = {k: v for k, v in entry.items() if k == "size" or (checksums and k == "sha256")}
            why = verify_file(marker.parent / entry["path"], digest)
            if why:
                found[str((marker.parent / entry["path"]).relative_to(base))] = why
    return found


def _numbers(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Drop path strings (schema-1 records held cwd-relative paths); keep numbers and the rest."""
    return {k: v for k, v in outputs.items() if not (isinstance(v, str) and ("/" in v or "\\" in v))}


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"  # local time, as the run's log lines


def _now(seconds: float | None = None) -> str:
    return time.strftime(_TIME_FORMAT, time.localtime(seconds))
