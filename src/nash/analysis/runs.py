"""What each grid cell left on disk besides its results row: run logs, export check, estimate, stage times.

The pipeline lays an experiment out as ``<root>/{search,train,export,hw}/<cell>/`` (see
``nash.pipeline.steps``). A row names some of its artefacts (``checkpoint_path``, ``onnx_path``, ...);
a cell's run directory is the parent of that artefact, or the conventional directory when the row
names none (a failed cell). Paths that no longer exist because the experiment was moved or copied
are looked up again under ``root`` by their ``<stage>/<cell>/...`` tail.

Everything here is tolerant: a missing or broken file gives ``None`` plus a short reason, never an
exception. Nothing here imports torch.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "OPS",
    "STAGES",
    "CHANCE_MARGIN",
    "KNOWN_CLASSES",
    "CellRecords",
    "SearchRecords",
    "resolve_path",
    "artefact_state",
    "damaged_files",
    "experiment_running",
    "read_json",
    "read_jsonl",
    "read_metrics_csv",
    "stage_status",
    "cell_records",
    "search_records",
    "chance_level",
    "throughput_spread",
    "fold_text",
]

# candidate ops in the column order of ``alphas.jsonl`` (``nash.space.ops.OPS``; kept here so the
# report never imports torch; a test checks both agree)
OPS: tuple[str, ...] = ("zero", "max_pool_3x3", "identity", "conv_1x1", "conv_3x3", "conv_5x5")
STAGES: tuple[str, ...] = ("search", "train", "export", "hw")
# top-1 within this many points of 100/num_classes counts as chance level
CHANCE_MARGIN = 5.0
# classes of the datasets the pipeline knows, for when no estimate tells the classifier width
KNOWN_CLASSES: dict[str, int] = {
    "mnist": 10,
    "fashion-mnist": 10,
    "cifar10": 10,
    "cifar-10": 10,
    "cifar100": 100,
    "cifar-100": 100,
    "imagenet": 1000,
}
# a throughput more than this fraction above the slowest row is not "equal throughput"
EQUAL_FPS_TOLERANCE = 0.05


def resolve_path(root: Path, value: Any) -> Path | None:
    """Absolute path of an artefact column; relative to ``root``; re-rooted when the experiment moved.

    A path that does not exist but contains a ``search/``, ``train/``, ``export/`` or ``hw/`` part is
    tried again as ``root/<that part>/...`` (an experiment copied elsewhere keeps its layout).
    """
    if not value:
        return None
    p = Path(os.fspath(value))
    full = p if p.is_absolute() else root / p
    if full.exists():
        return full
    parts = p.parts
    for k in range(len(parts) - 1, -1, -1):
        if parts[k] in STAGES:
            moved = root.joinpath(*parts[k:])
            if moved.exists():
                return moved
            break
    return full


def artefact_state(
    path: Path | None, damaged: Mapping[str, str] | None = None, root: Path | None = None
) -> str:
    """``ok``, ``missing``, ``empty`` (0 bytes), ``truncated``, ``changed`` or ``-`` (no path).

    ``truncated``: a ``.pt`` that is not a whole zip archive (``torch.save`` writes one), or a file
    smaller than its stage record says; ``changed``: another size than recorded. ``damaged`` is
    :func:`damaged_files` of ``root`` (what ``nash.pipeline.stage.damaged_artefacts`` finds).
    """
    if path is None:
        return "-"
    if not path.exists():
        return "missing"
    if path.is_file():
        if path.stat().st_size == 0:
            return "empty"
        if path.suffix == ".pt" and not zipfile.is_zipfile(path):  # torch.save writes a zip archive
            return "truncated"
    if damaged and root is not None:
        why = damaged.get(_relative_key(path, root))
        if why:
            return _damage_state(why)
    return "ok"


def _relative_key(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), root.resolve())
    except ValueError:  # another drive (Windows)
        return str(path)


def _damage_state(why: str) -> str:
    if why in ("missing", "empty"):
        return why
    m = re.fullmatch(r"(\d+) bytes, recorded (\d+)", why)
    return "truncated" if m and int(m.group(1)) < int(m.group(2)) else "changed"


def damaged_files(root: Path) -> dict[str, str]:
    """Output files of finished stages under ``root`` that no longer match their ``stage.json``
    (``{path relative to root: why}``; sizes compared, see ``nash.pipeline.stage.damaged_artefacts``);
    ``{}`` when the records cannot be read."""
    try:
        from nash.pipeline.stage import damaged_artefacts

        return damaged_artefacts(root)
    except Exception:  # noqa: BLE001 - the report shows what it can, it never fails on a record
        return {}


def read_json(path: Path | None) -> tuple[Any, str]:
    """``(data, "")`` or ``(None, reason)`` for a JSON file; reason is missing / unreadable (...)."""
    if path is None:
        return None, "not produced"
    if not path.is_file():
        return None, "missing"
    try:
        return json.loads(path.read_text(encoding="utf-8")), ""
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"unreadable ({type(exc).__name__})"


def read_jsonl(path: Path | None) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file (objects only); stops at a torn line; [] when absent."""
    if path is None or not path.is_file():
        return []
    rows = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            break
        if isinstance(rec, dict):
            rows.append(rec)
    return rows


def read_metrics_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``metrics.csv`` (header line, then one line per epoch), numbers as floats; [] if absent."""
    if not path.is_file():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return [{k: _num(v) if _num(v) is not None else v for k, v in r.items() if k} for r in rows]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        num = float(value)
    except (TypeError, ValueError):
        return None
    return num if math.isfinite(num) else None


@dataclass
class CellRecords:
    """The run records of one results row (one grid cell)."""

    cell: str  # "<backbone>-<version>-<bits>"
    dirs: dict[str, Path | None] = field(default_factory=dict)  # stage -> run directory
    export_check: dict[str, Any] | None = None
    export_problem: str = "not produced"
    estimate: dict[str, Any] | None = None
    estimate_problem: str = "not produced"
    train_metrics: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float | None] = field(default_factory=dict)  # stage -> seconds
    seconds_source: dict[str, str] = field(default_factory=dict)  # stage -> where the number came from
    status: dict[str, str | None] = field(default_factory=dict)  # stage -> stage.json status
    errors: dict[str, str] = field(default_factory=dict)  # stage -> error of a failed stage record
    num_classes: int | None = None
    dataset: str | None = None
    artefacts: dict[str, str] = field(default_factory=dict)  # path column -> artefact_state

    @property
    def settings(self) -> dict[str, Any]:
        """The hardware estimate's settings (fold, target_fps, clock_ns, ...), {} when unknown."""
        s = (self.estimate or {}).get("settings")
        return s if isinstance(s, dict) else {}

    @property
    def clock_ns(self) -> float | None:
        return _num((self.estimate or {}).get("clock_ns", self.settings.get("clock_ns")))


@dataclass
class SearchRecords:
    """One search run: its per-epoch log and alpha probabilities."""

    backbone: str
    version: str
    directory: Path | None
    log: list[dict[str, Any]] = field(default_factory=list)
    alphas: list[dict[str, Any]] = field(default_factory=list)
    seconds: float | None = None
    reference: bool = False  # a published genotype copied, no search ran
    status: str | None = None  # stage.json status
    error: str = ""  # the error of a failed search record


def _stage_dir(root: Path, row: Mapping[str, Any], stage: str, column: str | None) -> Path | None:
    if column and row.get(column):
        p = resolve_path(root, row[column])
        if p is not None:
            return p.parent
    parts = [str(row["backbone"]), str(row["version"])] + ([] if stage == "search" else [str(row["bits"])])
    d = root / stage / "-".join(parts)
    return d if d.is_dir() else None


def _stage_seconds(directory: Path | None) -> float | None:
    """Seconds of a finished or failed stage: every attempt (``seconds_total``), else the last one."""
    data, _ = read_json(directory / "stage.json" if directory else None)
    if isinstance(data, dict) and data.get("status", "ok") in ("ok", "failed"):
        total = _num(data.get("seconds_total"))
        return total if total is not None else _num(data.get("seconds"))
    return None


def stage_status(directory: Path | None) -> str | None:
    """The ``status`` of a stage record (``ok``, ``failed``, ``running`` = started and not finished), or None."""
    data, _ = read_json(directory / "stage.json" if directory else None)
    return str(data.get("status", "ok")) if isinstance(data, dict) else None


def _stage_error(directory: Path | None) -> str:
    data, _ = read_json(directory / "stage.json" if directory else None)
    if isinstance(data, dict) and data.get("status") == "failed":
        return str(data.get("error") or "no error recorded")
    return ""


def experiment_running(root: Path) -> bool:
    """True while another process's ``nash run`` holds the experiment's lock (stages may be running)."""
    try:
        from nash.pipeline.lock import lock_holder

        holder = lock_holder(root)
    except Exception:  # noqa: BLE001 - no lock support: assume nothing runs
        return False
    return holder is not None and holder.get("pid") != str(os.getpid())


def _classes_from_estimate(est: Mapping[str, Any] | None) -> int | None:
    """Output width of the last matrix layer (the classifier), when the estimate lists layers."""
    layers = (est or {}).get("layers")
    if not isinstance(layers, list):
        return None
    for la in reversed(layers):
        if isinstance(la, dict) and la.get("op_type") == "MVAU":
            mh = la.get("MH")
            return int(mh) if isinstance(mh, int) and mh > 1 else None
    return None


def cell_records(
    row: Mapping[str, Any],
    root: Path,
    default_dataset: str | None = None,
    damaged: Mapping[str, str] | None = None,
) -> CellRecords:
    """Collect the run records of one row; see the module docstring for where each comes from.

    ``damaged``: :func:`damaged_files` of ``root`` (computed here when not given).
    """
    rec = CellRecords(f"{row['backbone']}-{row['version']}-{row['bits']}")
    damaged = damaged_files(root) if damaged is None else damaged
    rec.artefacts = {
        c: artefact_state(resolve_path(root, row.get(c)), damaged, root)
        for c in ("genotype_path", "checkpoint_path", "onnx_path", "estimate_path")
    }
    rec.dirs = {
        "search": _stage_dir(root, row, "search", "genotype_path") if row["version"] != "o" else None,
        "train": _stage_dir(root, row, "train", "checkpoint_path"),
        "export": _stage_dir(root, row, "export", "onnx_path"),
        "hw": _stage_dir(root, row, "hw", "estimate_path"),
    }
    exp_dir = rec.dirs["export"]
    data, rec.export_problem = read_json(exp_dir / "export_check.json" if exp_dir else None)
    if data is not None and not isinstance(data, dict):
        data, rec.export_problem = None, "malformed (not a JSON object)"
    rec.export_check = data
    est_path = resolve_path(root, row.get("estimate_path"))
    if est_path is None and rec.dirs["hw"] is not None:
        est_path = rec.dirs["hw"] / "estimate.json"
    data, rec.estimate_problem = read_json(est_path)
    if data is not None and not isinstance(data, dict):
        data, rec.estimate_problem = None, "malformed (not a JSON object)"
    rec.estimate = data
    train_dir = rec.dirs["train"]
    rec.train_metrics = read_jsonl(train_dir / "metrics.jsonl" if train_dir else None)
    if not rec.train_metrics and train_dir is not None:
        rec.train_metrics = read_metrics_csv(train_dir / "metrics.csv")
    if train_dir is not None and (train_dir / "config.yaml").is_file():
        rec.dataset = _read_yaml(train_dir / "config.yaml").get("dataset")
    rec.dataset = rec.dataset or default_dataset
    for stage in STAGES:
        secs = _stage_seconds(rec.dirs.get(stage))
        rec.status[stage] = stage_status(rec.dirs.get(stage))
        if rec.status[stage] == "failed":
            rec.errors[stage] = _stage_error(rec.dirs.get(stage))
        source = "stage.json"
        if secs is None and stage == "train" and rec.train_metrics:
            vals = [_num(m.get("seconds")) for m in rec.train_metrics]
            secs, source = (
                (sum(v for v in vals if v is not None), "metrics.jsonl") if any(vals) else (None, "")
            )
        if secs is None and stage == "export" and rec.export_check:
            secs, source = _num(rec.export_check.get("seconds")), "export_check.json"
        rec.seconds[stage] = secs
        rec.seconds_source[stage] = source if secs is not None else ""
    classes = row.get("num_classes")
    rec.num_classes = int(classes) if isinstance(classes, int | float) and classes > 1 else None
    rec.num_classes = rec.num_classes or _classes_from_estimate(rec.estimate)
    if rec.num_classes is None and rec.dataset:
        rec.num_classes = KNOWN_CLASSES.get(str(rec.dataset).lower().replace("_", "-"))
    return rec


def search_records(rows: Sequence[Mapping[str, Any]], root: Path) -> list[SearchRecords]:
    """One record per distinct (backbone, version) search run the rows use, in row order."""
    out: dict[tuple[str, str], SearchRecords] = {}
    for row in rows:
        key = (str(row["backbone"]), str(row["version"]))
        if key[1] == "o" or key in out:
            continue
        d = _stage_dir(root, row, "search", "genotype_path")
        rec = SearchRecords(*key, d)
        if d is not None:
            rec.log = read_jsonl(d / "log.jsonl")
            rec.alphas = [a for a in read_jsonl(d / "alphas.jsonl") if isinstance(a.get("probs"), list)]
            rec.seconds = _stage_seconds(d)
            rec.status = stage_status(d)
            rec.error = _stage_error(d)
            if rec.seconds is None and rec.log:
                vals = [_num(r.get("seconds")) for r in rec.log]
                rec.seconds = sum(v for v in vals if v is not None) if any(vals) else None
            marker, _ = read_json(d / "stage.json")
            settings = marker.get("settings") if isinstance(marker, dict) else None
            rec.reference = isinstance(settings, dict) and "reference" in settings
        out[key] = rec
    return list(out.values())


def chance_level(top1: Any, num_classes: int | None) -> float | None:
    """The chance accuracy (%) when ``top1`` is within ``CHANCE_MARGIN`` points of it, else None."""
    acc = _num(top1)
    if acc is None or not num_classes or num_classes < 2:
        return None
    chance = 100.0 / num_classes
    return chance if acc <= chance + CHANCE_MARGIN else None


def throughput_spread(fps_values: Sequence[float | None]) -> tuple[float | None, float]:
    """``(slowest fps, fastest / slowest)`` over the known values; ``(None, 1.0)`` when none."""
    vals = [v for v in fps_values if v is not None and v > 0]
    if not vals:
        return None, 1.0
    return min(vals), max(vals) / min(vals)


def fold_text(settings: Mapping[str, Any], clock_ns: float | None, short: bool = False) -> str:
    """Human text of a folding: ``target 2,000 fps``, ``max``, ``fit ZCU104``, ``file x.json``, plus
    `` @ 5 ns (200 MHz)`` when the clock is known; ``short`` drops the units (``target 2,000 @ 5 ns``)."""
    fold = str(settings.get("fold", "") or "")
    if not fold:
        return ("not recorded" if short else "not recorded in estimate.json") + (
            f" @ {clock_ns:g} ns" if clock_ns else ""
        )
    if fold == "target_fps":
        target = _num(settings.get("target_fps"))
        text = f"target {target:,.0f}" if target is not None else "target"
        text += "" if short else " fps"
    elif fold == "fit":
        text = f"fit {settings.get('device') or '?'}"
    elif fold == "file":
        text = f"file {Path(str(settings.get('folding_file') or '?')).name}"
    elif fold == "max":
        text = "max" + ("" if settings.get("two_pass_relaxation", True) else " (no relaxation)")
    else:
        text = fold
    if clock_ns:
        text += f" @ {clock_ns:g} ns" + ("" if short else f" ({1000.0 / clock_ns:.0f} MHz)")
    return text
