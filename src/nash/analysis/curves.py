"""Small per-epoch plots of the report: training curves, search curves and the evolution of alpha.

Inputs are the records of :mod:`nash.analysis.runs` (``metrics.jsonl`` of train runs, ``log.jsonl``
and ``alphas.jsonl`` of search runs). Every function returns a ``matplotlib.figure.Figure``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from nash.analysis._common import bits_key, series_styles
from nash.analysis.cells import OP_COLOURS
from nash.analysis.runs import OPS, SearchRecords

__all__ = [
    "TrainCurve",
    "plot_training_curves",
    "plot_search_curves",
    "plot_alpha_evolution",
    "mean_op_probs",
]

_LINESTYLES = ("-", "--", ":", "-.")

# (label, version, bits, rank of the version's series, metrics rows)
TrainCurve = tuple[str, str, str, int, Sequence[Mapping[str, Any]]]


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _xy(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for k, r in enumerate(rows, start=1):
        y = _num(r.get(key))
        if y is not None:
            xs.append(_num(r.get("epoch")) or float(k))
            ys.append(y)
    return xs, ys


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")


def plot_training_curves(curves: Sequence[TrainCurve], chance: float | None = None) -> Figure:
    """Test top-1 (%) and training loss per epoch, one line per train run (colour = version,
    line style = bit tag); the top-1 axis starts at 0, ``chance`` is drawn dashed."""
    fig = Figure(figsize=(7.6, 2.9), layout="constrained")
    ax_acc, ax_loss = fig.subplots(1, 2)
    tags = sorted({c[2] for c in curves}, key=bits_key)
    drawn = False
    styles = series_styles(c[1] for c in curves)
    for label, version, bits, _rank, rows in curves:
        colour, marker = styles[version]
        style = _LINESTYLES[tags.index(bits) % len(_LINESTYLES)]
        for ax, key in ((ax_acc, "test_top1"), (ax_loss, "train_loss")):
            xs, ys = _xy(rows, key)
            if xs:
                drawn = True
                ax.plot(xs, ys, style, color=colour, marker=marker, markersize=3.5, linewidth=1.3,
                        label=label if ax is ax_acc else None)  # fmt: skip
    top = max((max(_xy(c[4], "test_top1")[1], default=0.0) for c in curves), default=0.0)
    ax_acc.set_ylim(0.0, min(100.0, max(top * 1.1, 10.0)))
    if chance is not None:
        ax_acc.axhline(chance, color="#b3261e", linestyle="--", linewidth=0.9, label=f"chance {chance:g} %")
    ax_acc.set_title("test top-1 (%)", loc="left", fontsize=9, fontweight="bold")
    ax_loss.set_title("training loss", loc="left", fontsize=9, fontweight="bold")
    ax_loss.set_ylim(bottom=0.0)
    return _finish_epochs(fig, (ax_acc, ax_loss), drawn, "no metrics.jsonl found")


def plot_search_curves(searches: Sequence[SearchRecords]) -> Figure:
    """Loss and accuracy per search epoch: weight step (solid) and architecture step (dashed)."""
    fig = Figure(figsize=(7.6, 2.9), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    drawn = False
    styles = series_styles(s.version for s in searches)
    for s in searches:
        colour, marker = styles[s.version]
        name = f"{s.backbone} {s.version}" if len({x.backbone for x in searches}) > 1 else s.version
        for ax, (w_key, a_key) in (
            (ax_loss, ("train_loss", "arch_loss")),
            (ax_acc, ("train_acc", "arch_acc")),
        ):
            for key, style, part in ((w_key, "-", "weights"), (a_key, "--", "alpha")):
                xs, ys = _xy(s.log, key)
                if xs:
                    drawn = True
                    ax.plot(xs, ys, style, color=colour, marker=marker, markersize=3.5, linewidth=1.3,
                            label=f"{name} {part}" if ax is ax_loss else None)  # fmt: skip
    ax_loss.set_title("search loss", loc="left", fontsize=9, fontweight="bold")
    ax_acc.set_title("search accuracy (%)", loc="left", fontsize=9, fontweight="bold")
    ax_loss.set_ylim(bottom=0.0)
    ax_acc.set_ylim(0.0, 100.0)
    return _finish_epochs(fig, (ax_loss, ax_acc), drawn, "no search log.jsonl found")


def _finish_epochs(fig: Figure, axes: Sequence[Any], drawn: bool, missing: str) -> Figure:
    """Epoch x axes with integer ticks; the legend outside the axes, or ``missing`` on the first axes."""
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
    if drawn:
        fig.legend(loc="outside right upper", fontsize=7, frameon=False)
    else:
        _empty(axes[0], missing)
    return fig


def mean_op_probs(probs: Sequence[Sequence[Sequence[float]]]) -> list[list[float]]:
    """Per cell, each op's softmax(alpha) averaged over the cell's edges: ``[cell][op]``."""
    out = []
    for cell in probs:
        edges = [e for e in cell if isinstance(e, list | tuple) and len(e) == len(OPS)]
        out.append([sum(float(e[k]) for e in edges) / len(edges) if edges else 0.0 for k in range(len(OPS))])
    return out


def _uniform_start(probs: Sequence[Sequence[Sequence[float]]]) -> list[list[float]]:
    """Epoch 0: alpha starts at ~0 (1e-3 noise), i.e. uniform over each edge's allowed ops."""
    start = []
    for cell in probs:
        masks = [[1.0 if float(p) > 0 else 0.0 for p in e] for e in cell if len(e) == len(OPS)]
        rows = [[m / max(sum(mask), 1.0) for m in mask] for mask in masks]
        start.append([sum(r[k] for r in rows) / len(rows) if rows else 0.0 for k in range(len(OPS))])
    return start


def plot_alpha_evolution(search: SearchRecords) -> Figure:
    """One small panel per cell: each op's mean softmax(alpha) over the cell's edges vs epoch.

    Epoch 0 is the initial state (alpha ~ 0: uniform over each edge's allowed ops).
    """
    rows = search.alphas
    n_cells = max((len(r["probs"]) for r in rows), default=0)
    cols = max(min(n_cells, 6), 1)
    fig = Figure(figsize=(7.6, 2.5 if n_cells <= 6 else 4.6), layout="constrained")
    axes = fig.subplots(math.ceil(max(n_cells, 1) / cols), cols, squeeze=False, sharey=True).ravel()
    if not rows:
        _empty(axes[0], "no alphas.jsonl found")
        return fig
    epochs = [0.0] + [_num(r.get("epoch")) or float(k) for k, r in enumerate(rows, start=1)]
    series = [_uniform_start(rows[0]["probs"])] + [mean_op_probs(r["probs"]) for r in rows]
    for c in range(n_cells):
        ax = axes[c]
        for k, op in enumerate(OPS):
            ys = [s[c][k] if c < len(s) else float("nan") for s in series]
            if max((y for y in ys if y == y), default=0.0) <= 0.0:
                continue  # op never allowed in this cell
            ax.plot(epochs, ys, color=OP_COLOURS.get(op, "#333333"), marker="o", markersize=2.5,
                    linewidth=1.2, label=op if c == 0 else None)  # fmt: skip
        moved = (
            max(abs(series[-1][c][k] - series[0][c][k]) for k in range(len(OPS)))
            if c < len(series[-1])
            else 0.0
        )
        ax.set_title(f"cell {c}", loc="left", fontsize=8.5)
        ax.text(0.98, 0.04, f"max shift {moved:.3f}", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=6.5, color="#555555")  # fmt: skip
        ax.set_xlabel("epoch", fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    peak = max((p for s in series for cell in s for p in cell), default=1.0)  # axes share y
    axes[0].set_ylim(0.0, min(1.0, peak * 1.15) or 1.0)
    for ax in axes[n_cells:]:
        ax.set_visible(False)
    axes[0].set_ylabel("mean softmax(α)", fontsize=8)
    fig.legend(loc="outside lower center", ncols=len(OPS), fontsize=7, frameon=False)
    return fig
