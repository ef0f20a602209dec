"""The results table: one row per (backbone, version, bits), written as CSV + JSON, read back typed.

The column order is the "results row" contract of ``docs/contracts.md``. Missing values are ``None``
in Python, ``null`` in JSON and an empty cell in CSV, so a CSV/JSON round trip gives equal rows.
Extra keys a row carries beyond the contract are kept (after the contract columns).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nash.errors import NashError
from nash.io import atomic_write_json, atomic_write_text

__all__ = [
    "RESULT_COLUMNS",
    "FLOAT_COLUMNS",
    "INT_COLUMNS",
    "PATH_COLUMNS",
    "ResultsError",
    "normalize_row",
    "load_results",
    "write_results",
]

RESULT_COLUMNS: tuple[str, ...] = (
    "backbone",
    "version",
    "bits",
    "top1",
    "top5",
    "error",
    "params",
    "macs",
    "fps",
    "latency_ms",
    "lut",
    "bram18",
    "dsp",
    "uram",
    "fits_device",
    "device",
    "hw_scale",
    "status",
    "error_message",
    "genotype_path",
    "checkpoint_path",
    "onnx_path",
    "estimate_path",
    "num_classes",
)
FLOAT_COLUMNS = frozenset({"top1", "top5", "error", "fps", "latency_ms", "lut", "bram18", "dsp", "uram"})
INT_COLUMNS = frozenset({"params", "macs", "num_classes"})
PATH_COLUMNS = ("genotype_path", "checkpoint_path", "onnx_path", "estimate_path")
_REQUIRED = ("backbone", "version", "bits")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}


class ResultsError(NashError, ValueError):
    """A results table is missing, unreadable or holds a value of the wrong type."""


def normalize_row(row: Mapping[str, Any], where: str = "row") -> dict[str, Any]:
    """Return ``row`` in contract column order with typed values (``None`` for missing).

    Numbers become ``float``/``int`` (NaN and empty strings become ``None``), ``fits_device`` becomes
    ``bool | None``, empty strings become ``None``; a row without a ``status`` is ``"ok"`` (the files
    ``load_results`` reads must hold one when they have the column) and ``error`` is filled as
    ``100 - top1`` when only ``top1`` is known.

    Raises:
        ResultsError: a required column (backbone, version, bits) is empty, or a number does not parse.
    """
    out: dict[str, Any] = {}
    for key in list(RESULT_COLUMNS) + [k for k in row if k not in RESULT_COLUMNS]:
        out[key] = _coerce(key, row.get(key), where)
    for key in _REQUIRED:
        if out[key] is None:
            raise ResultsError(
                f"{where}: column {key!r} is empty; every row needs backbone, version and bits"
            )
        out[key] = str(out[key])
    out["status"] = out["status"] or "ok"
    if out["error"] is None and out["top1"] is not None:
        out["error"] = round(100.0 - out["top1"], 6)
    return out


def _coerce(key: str, value: Any, where: str) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if value is None:
        return None
    if key in FLOAT_COLUMNS or key in INT_COLUMNS:
        return _number(key, value, where)
    if key == "fits_device":
        return _boolean(value, where)
    if key == "device" and isinstance(value, Mapping):  # a whole device record: keep its name
        return str(value.get("name", value))
    if key in RESULT_COLUMNS:
        return str(value)
    return value


def _number(key: str, value: Any, where: str) -> float | int | None:
    if isinstance(value, bool):
        raise ResultsError(f"{where}: column {key!r} holds {value!r}, expected a number")
    try:
        num = float(value)
    except (TypeError, ValueError):
        raise ResultsError(f"{where}: column {key!r} holds {value!r}, expected a number or empty") from None
    if math.isnan(num):
        return None
    if key in INT_COLUMNS and math.isfinite(num):
        return int(num)
    return num


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ResultsError(f"{where}: column 'fits_device' holds {value!r}, expected true/false or empty")


def _parse_extra(text: str) -> Any:
    # Extra CSV columns carry no type information: restore ints/floats, keep the rest as text.
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _resolve(path_or_dir: str | os.PathLike[str]) -> Path:
    p = Path(path_or_dir)
    if p.is_dir():
        for name in ("results.json", "results.csv"):
            if (p / name).is_file():
                return p / name
        raise ResultsError(
            f"{p} holds no results.json or results.csv; run `nash run EXPERIMENT.yaml --out DIR` first"
        )
    if not p.is_file():
        raise ResultsError(
            f"results file {p} not found; pass results.csv, results.json or the experiment dir"
        )
    if p.suffix.lower() not in (".csv", ".json"):
        raise ResultsError(f"{p}: unknown results format {p.suffix!r}; use a .csv or .json file")
    return p


def _read_json(p: Path) -> list[Mapping[str, Any]]:
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"{p}: not valid JSON (line {exc.lineno}); rewrite it or load results.csv"
        ) from None
    if isinstance(data, dict):
        data = data.get("rows")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ResultsError(f"{p}: expected a JSON list of row objects (or {{'rows': [...]}})")
    for i, row in enumerate(data):
        if "status" in row and _blank(row["status"]):
            raise ResultsError(f"{p} row {i + 1}: {_EMPTY_STATUS}")
    return data


_EMPTY_STATUS = (
    "column 'status' is empty, expected ok or failed; the file was cut short or edited: rerun "
    "`nash run EXPERIMENT.yaml --out DIR` on the experiment to rewrite it"
)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_csv(p: Path) -> list[Mapping[str, Any]]:
    """Rows of a CSV results table; a torn row (cells missing or extra) or an empty status is an error.

    ``csv.DictReader`` fills the cells a short row lacks with ``None`` and files the surplus of a
    long row under the key ``None``; either means the row was cut short (an interrupted copy) or
    edited by hand, and reading it would make a half row look finished.
    """
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            return []
        missing = [c for c in _REQUIRED if c not in reader.fieldnames]
        if missing:
            raise ResultsError(
                f"{p}: header lacks column {missing[0]!r}; the first line must name the columns"
            )
        rows = []
        for raw in reader:
            if None in raw or any(v is None for v in raw.values()):
                cells = sum(v is not None for k, v in raw.items() if k is not None) + len(raw.get(None) or [])
                raise ResultsError(
                    f"{p} line {reader.line_num} has {cells} cells, the header {len(reader.fieldnames)}: "
                    "the row is torn (cut short or edited); rerun `nash run EXPERIMENT.yaml --out DIR` on the "
                    "experiment to rewrite it"
                )
            if "status" in raw and _blank(raw["status"]):
                raise ResultsError(f"{p} line {reader.line_num}: {_EMPTY_STATUS}")
            rows.append(
                {k: (_parse_extra(v) if k not in RESULT_COLUMNS and v else v) for k, v in raw.items()}
            )
        return rows


def load_results(path_or_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read ``results.json`` or ``results.csv`` (a file or an experiment dir) into typed rows.

    A directory is read from ``results.json`` when present, else ``results.csv``.

    Raises:
        ResultsError: the file is missing, malformed, or holds a value of the wrong type.
    """
    p = _resolve(path_or_dir)
    raw = _read_json(p) if p.suffix.lower() == ".json" else _read_csv(p)
    return [normalize_row(r, where=f"{p.name} row {i + 1}") for i, r in enumerate(raw)]


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols = list(RESULT_COLUMNS)
    for row in rows:
        cols += [k for k in row if k not in cols]
    return cols


def _csv_text(rows: list[dict[str, Any]], cols: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _csv_cell(row.get(c)) for c in cols])
    return buf.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def write_results(rows: Iterable[Mapping[str, Any]], out_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``results.csv`` and ``results.json`` atomically into ``out_dir``.

    Rows are normalised first (contract column order, typed values), so a later
    ``load_results`` returns the same rows from either file.

    Returns:
        The paths ``(results.csv, results.json)``.
    """
    norm = [normalize_row(r, where=f"row {i + 1}") for i, r in enumerate(rows)]
    cols = _columns(norm)
    out = Path(out_dir)
    csv_path = atomic_write_text(out / "results.csv", _csv_text(norm, cols))
    json_path = atomic_write_json(out / "results.json", [{c: r.get(c) for c in cols} for r in norm])
    return csv_path, json_path
