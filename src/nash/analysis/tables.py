"""Tables of the report: results, Pareto sets, latency/throughput (paper Table II), as HTML or Markdown.

A table is built once as ``(headers, rows of cell text)`` and rendered by :func:`html_table` or
:func:`md_table`, so the HTML report and ``report.md`` always show the same numbers.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from nash.analysis._common import COLUMN_DIGITS, fmt, fmt_column, is_ok, ordered_bits, ordered_series
from nash.analysis.pareto import resolve_metric

__all__ = [
    "Table",
    "RESULT_TABLE_COLUMNS",
    "html_table",
    "md_table",
    "RESULT_LEAD",
    "si",
    "results_table",
    "pareto_table",
    "latency_table",
]

Table = tuple[list[str], list[list[str]]]

# (column, header, digits) of the results table shown to people (paths go to the artefact table);
# "export" and "fps_delta" come from the row's run records (see ``results_table``'s ``checks``)
RESULT_TABLE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("backbone", "backbone", 0),
    ("version", "version", 0),
    ("bits", "bits", 0),
    ("status", "status", 0),
    ("pareto", "Pareto", 0),
    ("top1", "top-1 %", 2),
    ("top5", "top-5 %", 2),
    ("params", "params", 0),
    ("macs", "MACs", 0),
    ("export", "export", 0),
    ("fps", "fps", 1),
    ("fps_delta", "vs slowest", 0),
    ("latency_ms", "latency ms", 2),
    ("lut", "LUT", 0),
    ("bram18", "BRAM18", 1),
    ("dsp", "DSP", 0),
    ("uram", "URAM", 0),
    ("fits_device", "fits", 0),
)
RESULT_LEAD = 4  # backbone, version, bits, status: a failed row shows its error after these


def _cell(row: Mapping[str, Any], column: str, digits: int = 2) -> str:
    return fmt_column(column, row.get(column)) if column in COLUMN_DIGITS else fmt(row.get(column), digits)


def si(value: Any) -> str:
    """Compact count: ``180 k``, ``11.2 M``, ``1.82 G`` (at least three significant digits); ``-`` for missing."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return fmt(value)
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            v = value / scale
            return f"{v:.2f} {unit}" if v < 10 else f"{v:.1f} {unit}" if v < 100 else f"{v:,.0f} {unit}"
    return fmt(value, 0) if isinstance(value, int) else f"{value:.3g}"


def results_table(
    rows: Sequence[Mapping[str, Any]],
    marks: Mapping[int, str] | None = None,
    checks: Sequence[Mapping[str, str]] | None = None,
    fps_header: str | None = None,
) -> Table:
    """Every row with its numbers and a last ``note`` column (warnings, a failed row's error).

    Args:
        rows: result rows.
        marks: row index -> the Pareto fronts it lies on (column ``Pareto``).
        checks: per row ``{"export", "fps_delta", "note"}`` texts from the run records
            (``nash.analysis.review.row_checks``); without them the error message is the note.
        fps_header: header of the fps column, e.g. ``fps (target 2,000 @ 5 ns)`` naming the folding.
    """
    marks = marks or {}
    headers = [fps_header if c == "fps" and fps_header else h for c, h, _ in RESULT_TABLE_COLUMNS] + ["note"]
    body = []
    for i, row in enumerate(rows):
        extra = dict(checks[i]) if checks else {}
        extra["pareto"] = marks.get(i, "")
        cells = []
        for c, _, d in RESULT_TABLE_COLUMNS:
            if c in extra or c in ("export", "fps_delta"):
                cells.append(extra.get(c, "-"))
            elif c in ("params", "macs"):
                cells.append(si(row.get(c)))
            else:
                cells.append(_cell(row, c, d))
        if checks:
            note = extra.get("note", "")
        else:
            note = "" if is_ok(row) else str(row.get("error_message") or "failed (no message recorded)")
        body.append(cells + [note])
    return headers, body


def pareto_table(rows: Sequence[Mapping[str, Any]], front: Sequence[int], x: str, y: str) -> Table:
    """The Pareto-optimal rows in front order with their two objectives and top-1."""
    mx, my = resolve_metric(x), resolve_metric(y)
    extra = [] if "top1" in (mx.column, my.column) else ["top1"]
    headers = ["#", "backbone", "version", "bits", mx.label, my.label] + ["top-1 %"] * len(extra)
    body = []
    for rank, i in enumerate(front, start=1):
        r = rows[i]
        body.append(
            [str(rank), str(r["backbone"]), str(r["version"]), str(r["bits"])]
            + [_cell(r, c) for c in (mx.column, my.column, *extra)]
        )
    return headers, body


def latency_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Paper Table II: latency (ms) and throughput (fps) per bit tag (two lines each) and version."""
    ok = [r for r in rows if is_ok(r)]
    series = ordered_series(ok)
    multi = len({b for b, _ in series}) > 1
    headers = ["bits", "metric"] + [f"{b} {v}" if multi else v for b, v in series]
    body = []
    for tag in ordered_bits(ok):
        for column, label, digits in (("latency_ms", "latency (ms)", 1), ("fps", "throughput (fps)", 1)):
            line = [tag, label]
            for key in series:
                match = [r for r in ok if (r["backbone"], r["version"], r["bits"]) == (*key, tag)]
                line.append(fmt(match[0].get(column), digits) if match else "n/a")
            body.append(line)
    return headers, body


def html_table(table: Table, css_class: str = "", row_classes: Sequence[str] | None = None) -> str:
    """Render a table as escaped HTML; numeric-looking cells are right-aligned via class ``num``.

    A body row shorter than the header row ends in a cell spanning the remaining columns.
    """
    headers, body = table
    numeric = [
        bool(body) and all(len(r) > k and "num" in _num_class(r[k]) for r in body)
        for k in range(len(headers))
    ]
    num_th = ' class="num"'
    head = "".join(f"<th{num_th if n else ''}>{html.escape(h)}</th>" for h, n in zip(headers, numeric))
    lines = []
    for k, cells in enumerate(body):
        cls = f' class="{row_classes[k]}"' if row_classes and row_classes[k] else ""
        tds = "".join(f"<td{_num_class(c)}>{html.escape(c)}</td>" for c in cells[:-1])
        span = len(headers) - len(cells) + 1  # a short row: its last cell spans the remaining columns
        last = html.escape(cells[-1]) if cells else ""
        tds += f'<td colspan="{span}">{last}</td>' if span > 1 else f"<td{_num_class(last)}>{last}</td>"
        lines.append(f"<tr{cls}>{tds}</tr>")
    klass = f' class="{css_class}"' if css_class else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


_UNITS = (" k", " M", " G", " %", " s", " min", " h", " ns")


def _is_number(text: str) -> bool:
    t = text.strip().lstrip("+")
    for unit in _UNITS:
        if t.endswith(unit):
            t = t[: -len(unit)]
            break
    t = t.replace(",", "").replace(".", "", 1).replace("-", "", 1)
    return t.isdigit() or text in ("-", "n/a", "=")


def _num_class(text: str) -> str:
    """``class="num"`` (right-aligned) for numbers, ``"warn"`` for warnings (``⚠ ...``), else nothing."""
    if text.startswith("\u26a0"):  # a warning cell (see nash.analysis.review)
        return ' class="num warn"' if _is_number(text[1:].strip()) else ' class="warn"'
    return ' class="num"' if _is_number(text) else ""


def md_table(table: Table) -> str:
    """Render a table as GitHub Markdown (pipes in cells escaped)."""
    headers, body = table
    esc = [[c.replace("|", "\\|").replace("\n", " ") for c in line] for line in [headers, *body]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(line) + " |" for line in esc[1:]]
    return "\n".join(lines)
