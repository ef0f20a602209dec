"""Draw a genotype's cells as inline SVG: nodes x0..xN, the backbone chain, the chosen NAS edges.

Each node j >= 1 of a cell has one NAS edge ``(op, i)`` from a predecessor ``i < j`` (the genotype
JSON of ``docs/contracts.md``). Backbone edges are the fixed 3x3 convolutions ``x(j-1) -> xj``.
Edges leaving x0 in a downsampling cell (first cell of ResNet stages 1..3) change the feature-map
size; they are drawn red and tagged ``/2``. The SVG is plain text (no external references), so it can
be pasted into a self-contained HTML page.
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["OP_COLOURS", "read_genotype", "downsample_flags", "cell_svg", "genotype_table"]

OP_COLOURS: dict[str, str] = {
    "zero": "#b0b0b0",
    "max_pool_3x3": "#E69F00",
    "identity": "#6b6b6b",
    "conv_1x1": "#0072B2",
    "conv_3x3": "#009E73",
    "conv_5x5": "#CC79A7",
}
_SIZE_CHANGE = "#D55E00"
_BLOCKS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}
_DEFAULT_CELL_LAYERS = {"resnet18": 4, "resnet34": 6}
_DX, _R, _PAD = 104, 17, 36


def read_genotype(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, str]:
    """Load a genotype JSON; returns ``(data, "")`` or ``(None, reason)`` (never raises)."""
    p = Path(path)
    if not p.is_file():
        return None, "missing"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"unreadable ({type(exc).__name__})"
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list) or not all(_valid_cell(c) for c in cells):
        return None, "malformed (expected 'cells': [[[op, predecessor], ...], ...])"
    return data, ""


def _valid_cell(cell: Any) -> bool:
    if not isinstance(cell, list):
        return False
    for j, entry in enumerate(cell, start=1):
        ok = isinstance(entry, list | tuple) and len(entry) == 2 and isinstance(entry[0], str)
        if not ok or isinstance(entry[1], bool) or not isinstance(entry[1], int) or not 0 <= entry[1] < j:
            return False
    return True


def downsample_flags(backbone: str, n_cells: int, cell_layers: int | None = None) -> list[bool]:
    """Which cells downsample, from ``nash.space.cell_specs`` or the same split rule done locally."""
    try:
        from nash.space import cell_specs

        specs = cell_specs(backbone, cell_layers)
        if len(specs) == n_cells:
            return [bool(s.downsample) for s in specs]
    except Exception:  # noqa: BLE001 - space module absent or genotype of another backbone: use the rule
        pass
    blocks = _BLOCKS.get(backbone)
    per = cell_layers or _DEFAULT_CELL_LAYERS.get(backbone)
    if not blocks or not per:
        return [False] * n_cells
    flags: list[bool] = []
    for stage, n_blocks in enumerate(blocks):
        n = math.ceil(2 * n_blocks / per)
        flags += [stage > 0 and k == 0 for k in range(n)]
    return flags if len(flags) == n_cells else [False] * n_cells


def _node_x(k: int) -> float:
    return _PAD + _R + k * _DX


def _arrowhead(x: float, y: float, dx: float, dy: float, colour: str) -> str:
    norm = math.hypot(dx, dy) or 1.0
    ux, uy = dx / norm, dy / norm
    a = (x - 9 * ux + 4.5 * uy, y - 9 * uy - 4.5 * ux)
    b = (x - 9 * ux - 4.5 * uy, y - 9 * uy + 4.5 * ux)
    return f'<polygon points="{x:.1f},{y:.1f} {a[0]:.1f},{a[1]:.1f} {b[0]:.1f},{b[1]:.1f}" fill="{colour}"/>'


def _label(x: float, y: float, text: str, colour: str) -> str:
    w = 6.3 * len(text) + 8
    return (
        f'<rect x="{x - w / 2:.1f}" y="{y - 9:.1f}" width="{w:.1f}" height="16" rx="3" fill="#ffffff" '
        f'stroke="{colour}" stroke-width="0.8"/><text x="{x:.1f}" y="{y + 3:.1f}" fill="{colour}" '
        f'text-anchor="middle" font-size="11">{html.escape(text)}</text>'
    )


def _backbone_edge(k: int, base: float, stride2: bool) -> str:
    x0, x1 = _node_x(k - 1) + _R, _node_x(k) - _R
    colour = _SIZE_CHANGE if stride2 else "#222222"
    text = "conv3x3 /2" if stride2 else "conv3x3"
    return (
        f'<line x1="{x0:.1f}" y1="{base}" x2="{x1 - 2:.1f}" y2="{base}" stroke="{colour}" '
        f'stroke-width="2"/>{_arrowhead(x1, base, 1, 0, colour)}'
        f'<text x="{(x0 + x1) / 2:.1f}" y="{base + 30}" text-anchor="middle" font-size="10" '
        f'fill="{colour}">{text}</text>'
    )


def _nas_edge(src: int, dst: int, op: str, base: float, size_changing: bool) -> str:
    colour = _SIZE_CHANGE if size_changing else OP_COLOURS.get(op, "#333333")
    x0, x1 = _node_x(src), _node_x(dst)
    h = 36 + 36 * (dst - src)  # taller arcs for longer edges so labels do not collide
    cx, cy, sy = (x0 + x1) / 2, base - _R - h, base - _R
    dash = ' stroke-dasharray="4 3"' if op == "zero" else ""
    path = (
        f'<path d="M{x0:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {x1:.1f},{sy:.1f}" fill="none" '
        f'stroke="{colour}" stroke-width="1.8"{dash}/>'
    )
    text = f"{op} /2" if size_changing else op
    return path + _arrowhead(x1, sy, x1 - cx, sy - cy, colour) + _label(cx, (sy + cy) / 2 + 2, text, colour)


def cell_svg(cell: list[Any], downsample: bool = False, title: str = "") -> str:
    """Inline SVG of one cell; ``cell`` lists ``(op, predecessor)`` for nodes 1..N."""
    n = len(cell)
    max_span = max([j + 1 - int(p) for j, (_, p) in enumerate(cell)] or [1])
    top = 22 + (36 + 36 * max_span) / 2 + 12
    base = top + _R + 4
    width, height = _PAD * 2 + 2 * _R + n * _DX, base + _R + 26
    parts = [
        f'<svg class="cell" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{html.escape(title)}">'
    ]
    if title:
        parts.append(
            f'<text x="4" y="14" font-size="12" font-weight="bold" fill="#222">{html.escape(title)}</text>'
        )
    for j, (op, pred) in enumerate(cell, start=1):
        parts.append(_backbone_edge(j, base, downsample and j == 1))
        parts.append(_nas_edge(int(pred), j, str(op), base, downsample and int(pred) == 0))
    for k in range(n + 1):
        parts.append(
            f'<circle cx="{_node_x(k):.1f}" cy="{base}" r="{_R}" fill="#f4f6fa" stroke="#222" '
            f'stroke-width="1.4"/><text x="{_node_x(k):.1f}" y="{base + 4}" text-anchor="middle" '
            f'font-size="12" font-weight="bold">x{k}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def genotype_table(cells: list[Any]) -> tuple[list[str], list[list[str]]]:
    """Genotype as a table: one row per node, one column per cell, entries ``op <- x_i``."""
    n_nodes = max((len(c) for c in cells), default=0)
    headers = ["node"] + [f"cell {c}" for c in range(len(cells))]
    body = []
    for j in range(n_nodes):
        line = [f"x{j + 1}"]
        for cell in cells:
            line.append(f"{cell[j][0]} \u2190 x{cell[j][1]}" if j < len(cell) else "")
        body.append(line)
    return headers, body
