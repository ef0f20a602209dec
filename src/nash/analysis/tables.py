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
    "results_table",
    "pareto_table",
    "latency_table",
]

Table = tuple[list[str], list[list[str]]]

# (column, header, digits) of the results table shown to people (paths go to the artefact table)
RESULT_TABLE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("backbone", "backbone", 0),
    ("version", "version", 0),
    ("bits", "bits", 0),
    ("status", "status", 0),
    ("top1", "top-1 %", 2),
    ("top5", "top-5 %", 2),
    ("error", "error %", 2),
    ("params", "params", 0),
    ("macs", "MACs", 0),
    ("latency_ms", "latency ms", 2),
    ("fps", "fps", 1),
    ("lut", "LUT", 0),
    ("bram18", "BRAM18", 1),
    ("dsp", "DSP", 0),
    ("uram", "URAM", 0),
    ("fits_device", "fits", 0),
)


def _cell(row: Mapping[str, Any], column: str, digits: int = 2) -> str:
    return fmt_column(column, row.get(column)) if column in COLUMN_DIGITS else fmt(row.get(column), digits)


def results_table(rows: Sequence[Mapping[str, Any]], marks: Mapping[int, str] | None = None) -> Table:
    """Every row with its numbers; ``marks`` adds a Pareto-membership column; failed rows get their error."""
    marks = marks or {}
    headers = [h for _, h, _ in RESULT_TABLE_COLUMNS] + ["Pareto", "note"]
    body = []
    for i, row in enumerate(rows):
        cells = [_cell(row, c, d) for c, _, d in RESULT_TABLE_COLUMNS]
        note = "" if is_ok(row) else str(row.get("error_message") or "failed (no message recorded)")
        body.append(cells + [marks.get(i, ""), note])
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
    numeric = [bool(body) and all(len(r) > k and _num_class(r[k]) for r in body) for k in range(len(headers))]
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


def _num_class(text: str) -> str:
    stripped = text.replace(",", "").replace(".", "", 1).replace("-", "", 1)
    return ' class="num"' if stripped.isdigit() or text in ("-", "n/a") else ""


def md_table(table: Table) -> str:
    """Render a table as GitHub Markdown (pipes in cells escaped)."""
    headers, body = table
    esc = [[c.replace("|", "\\|").replace("\n", " ") for c in line] for line in [headers, *body]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(line) + " |" for line in esc[1:]]
    return "\n".join(lines)
