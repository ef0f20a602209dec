"""Figures of the report: Pareto fronts (paper Figs 10-11), accuracy (Figs 6-7), resources (Figs 8-9).

Figures are built with ``matplotlib.figure.Figure`` directly (Agg canvas, no pyplot state) and saved
atomically as PNG and SVG. Only rows with status ``ok`` are plotted.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from nash.analysis._common import is_ok, ordered_bits, ordered_series, series_label, series_styles
from nash.analysis.pareto import pareto_front, resolve_metric
from nash.io import atomic_path

__all__ = ["PLOTS", "plot_pareto", "plot_grouped_bars", "save_figure", "write_plots", "write_figures"]

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "nash",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}

# name -> (kind, column/x, title)
PLOTS: dict[str, tuple[str, str, str]] = {
    "pareto_error_bram": ("pareto", "bram18", "Error vs BRAM (Pareto front)"),
    "pareto_error_lut": ("pareto", "lut", "Error vs LUT (Pareto front)"),
    "pareto_error_latency": ("pareto", "latency_ms", "Error vs latency (Pareto front)"),
    "accuracy_top1": ("bars", "top1", "Top-1 accuracy per version and bit width"),
    "accuracy_top5": ("bars", "top5", "Top-5 accuracy per version and bit width"),
    "resources_bram": ("bars", "bram18", "BRAM utilisation per version and bit width"),
    "resources_lut": ("bars", "lut", "LUT utilisation per version and bit width"),
}


def _num(row: Mapping[str, Any], key: str) -> float | None:
    v = row.get(key)
    return None if v is None or isinstance(v, bool) else float(v)


def plot_pareto(
    rows: Sequence[Mapping[str, Any]], x: str = "bram18", y: str = "error", title: str = ""
) -> Figure:
    """Scatter of ``y`` vs ``x``, one series per version, bit tags labelled, the front as a step line.

    Hardware-aware variants (``hw...``) are drawn in their own colour/marker family after v1..v4."""
    mx, my = resolve_metric(x), resolve_metric(y)
    rows = [r for r in rows if is_ok(r) and _num(r, mx.column) is not None and _num(r, my.column) is not None]
    fig = Figure(figsize=(7.0, 4.4), layout="constrained")
    ax = fig.add_subplot()
    series = ordered_series(rows)
    multi = len({b for b, _ in series}) > 1
    front = pareto_front(rows, mx.column, my.column)
    on_front = set(front)
    styles = series_styles(k[1] for k in series)
    for key in series:
        colour, marker = styles[key[1]]
        hollow = multi and key[0] != series[0][0]
        pts = [(i, r) for i, r in enumerate(rows) if (r["backbone"], r["version"]) == key]
        xs = [_num(r, mx.column) for _, r in pts]
        ys = [_num(r, my.column) for _, r in pts]
        ax.scatter(
            xs,
            ys,
            s=36,
            marker=marker,
            label=series_label(key, multi),
            zorder=3,
            facecolors="none" if hollow else colour,
            edgecolors=colour,
            linewidths=1.2,
        )
        for (i, r), vx, vy in zip(pts, xs, ys):
            ax.annotate(
                str(r["bits"]),
                (vx, vy),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=7,
                color=colour,
                fontweight="bold" if i in on_front else "normal",
            )
    _draw_front(ax, rows, front, mx.column, my.column)
    _log_if_wide(ax, [_num(r, mx.column) for r in rows])
    ax.set_xlabel(mx.label)
    ax.set_ylabel(my.label)
    ax.set_title(title or f"{my.label} vs {mx.label}", loc="left", fontweight="bold")
    if rows:  # outside the axes, so the legend never covers a point
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0.0)
    else:
        ax.text(0.5, 0.5, "no finished rows with both values", ha="center", transform=ax.transAxes)
    return fig


def _draw_front(ax: Any, rows: Sequence[Mapping[str, Any]], front: list[int], x: str, y: str) -> None:
    if not front:
        return
    xs = [_num(rows[i], x) for i in front]
    ys = [_num(rows[i], y) for i in front]
    ax.step(
        xs, ys, where="post", color="#222222", linewidth=1.0, linestyle="--", zorder=2, label="Pareto front"
    )
    ax.scatter(xs, ys, s=140, facecolors="none", edgecolors="#222222", linewidths=1.0, zorder=4)


def _log_if_wide(ax: Any, values: list[float | None]) -> None:
    vals = [v for v in values if v is not None and v > 0]
    if vals and max(vals) / min(vals) > 30:
        ax.set_xscale("log")


def plot_grouped_bars(
    rows: Sequence[Mapping[str, Any]], column: str, title: str = "", chance: float | None = None
) -> Figure:
    """Grouped bars of ``column``: one group per bit tag, one bar per version (missing shown as n/a).

    The y axis starts at zero; accuracy bars carry their value on top (so small gaps stay readable
    without zooming the axis) and ``chance`` (%) draws the chance level as a dashed line.
    """
    metric = resolve_metric(column)
    rows = [r for r in rows if is_ok(r)]
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    bits, series = ordered_bits(rows), ordered_series(rows)
    multi = len({b for b, _ in series}) > 1
    width = 0.8 / max(len(series), 1)
    values: list[float] = []
    labelled: set[str] = set()
    styles = series_styles(k[1] for k in series)
    for rank, key in enumerate(series):
        colour, _ = styles[key[1]]
        for g, tag in enumerate(bits):
            match = [r for r in rows if (r["backbone"], r["version"], r["bits"]) == (*key, tag)]
            v = _num(match[0], metric.column) if match else None
            xpos = g - 0.4 + width * (rank + 0.5)
            if v is None:
                ax.text(
                    xpos,
                    0.02,
                    "n/a",
                    rotation=90,
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    color="#888888",
                    transform=ax.get_xaxis_transform(),
                )  # x in data, y in axes units: always visible
                continue
            values.append(v)
            label = series_label(key, multi)
            ax.bar(xpos, v, width * 0.92, color=colour, label=None if label in labelled else label)
            labelled.add(label)
            if metric.maximise:  # accuracies: the value inside the top of the bar, above a short one
                inside = v >= 30.0
                ax.annotate(f"{v:.1f}", (xpos, v), xytext=(0, -3 if inside else 2), textcoords="offset points",
                            ha="center", va="top" if inside else "bottom", rotation=90, fontsize=6.5,
                            color="#ffffff" if inside else "#333333")  # fmt: skip
    if chance is not None and metric.maximise:
        ax.axhline(chance, color="#b3261e", linestyle="--", linewidth=1.0, label=f"chance ({chance:g} %)")
    _set_bar_axes(ax, bits, values, metric.maximise)
    ax.set_ylabel(metric.label)
    ax.set_title(title or metric.label, loc="left", fontweight="bold")
    if values:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig


def _set_bar_axes(ax: Any, bits: list[str], values: list[float], accuracy: bool) -> None:
    ax.set_xticks(range(len(bits)), bits)
    ax.grid(axis="x", visible=False)
    top = max(values, default=0.0)
    if accuracy:  # from zero (values are printed on the bars, so small gaps stay readable)
        ax.set_ylim(0.0, min(100.0, top * 1.08) if top > 0 else 100.0)
    else:
        ax.set_ylim(0.0, top * 1.05 if top > 0 else 1.0)


def save_figure(fig: Figure, out_dir: str | os.PathLike[str], name: str) -> dict[str, Path]:
    """Save ``fig`` as ``<name>.png`` (150 dpi) and ``<name>.svg`` atomically; return both paths."""
    paths = {}
    for ext in ("png", "svg"):
        target = Path(out_dir) / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, dpi=150, metadata={"Date": None} if ext == "svg" else None)
        paths[ext] = target
    return paths


def write_plots(
    rows: Sequence[Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    chance: float | None = None,
    exclude: Collection[int] = (),
) -> dict[str, dict[str, Path]]:
    """Write every figure of :data:`PLOTS` into ``out_dir``; returns ``{name: {"png": p, "svg": p}}``.

    ``chance`` (top-1 %, 100 / classes) is drawn on the top-1 bar chart; rows whose index is in
    ``exclude`` (at chance level) are left out of the Pareto plots but keep their bars.
    """
    out: dict[str, dict[str, Path]] = {}
    front_rows = [r for i, r in enumerate(rows) if i not in exclude]
    with matplotlib.rc_context(_RC):
        for name, (kind, column, title) in PLOTS.items():
            if kind == "pareto":
                fig = plot_pareto(front_rows, column, "error", title)
            else:
                fig = plot_grouped_bars(rows, column, title, chance if column == "top1" else None)
            out[name] = save_figure(fig, out_dir, name)
    return out


def write_figures(figures: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> dict[str, dict[str, Path]]:
    """Build and save figures given as ``{name: zero-argument function returning a Figure}``."""
    out: dict[str, dict[str, Path]] = {}
    with matplotlib.rc_context(_RC):
        for name, build in figures.items():
            out[name] = save_figure(build(), out_dir, name)
    return out
