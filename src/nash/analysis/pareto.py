"""Pareto fronts over two objectives of the results table (paper Figures 10-11).

Both objectives are minimised. Metrics where larger is better (``top1``, ``top5``, ``fps``) are
negated before the comparison, so "minimise -fps" means "maximise fps".

Dominance: ``a`` dominates ``b`` when ``a`` is no worse in both objectives and strictly better in one.
Hence identical points are all optimal, and a point equal in one coordinate but worse in the other
is dominated. Points with a missing, non-numeric or NaN value are left out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nash.analysis.results import ResultsError

__all__ = ["Metric", "METRICS", "resolve_metric", "list_metrics", "pareto_front"]


@dataclass(frozen=True)
class Metric:
    """A column usable as a Pareto objective."""

    column: str  # results column
    label: str  # axis / table label
    maximise: bool = False  # True: larger is better (negated for the front)


METRICS: dict[str, Metric] = {
    "error": Metric("error", "top-1 error (%)"),
    "top1": Metric("top1", "top-1 accuracy (%)", maximise=True),
    "top5": Metric("top5", "top-5 accuracy (%)", maximise=True),
    "bram18": Metric("bram18", "BRAM (18 Kb blocks)"),
    "lut": Metric("lut", "LUTs"),
    "dsp": Metric("dsp", "DSPs"),
    "uram": Metric("uram", "URAMs"),
    "latency_ms": Metric("latency_ms", "latency (ms)"),
    "fps": Metric("fps", "throughput (fps)", maximise=True),
    "params": Metric("params", "parameters"),
    "macs": Metric("macs", "MACs"),
}
_ALIASES = {"bram": "bram18", "latency": "latency_ms", "throughput": "fps", "luts": "lut", "acc": "top1"}


def list_metrics() -> list[str]:
    """Names accepted by :func:`resolve_metric` (aliases included), sorted."""
    return sorted(set(METRICS) | set(_ALIASES))


def resolve_metric(name: str) -> Metric:
    """Look a metric up by column name or alias (``bram`` -> ``bram18``, ``latency`` -> ``latency_ms``).

    Raises:
        ResultsError: unknown name; the message lists the valid names.
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in METRICS:
        raise ResultsError(f"unknown metric {name!r}; use one of {', '.join(list_metrics())}")
    return METRICS[key]


def _value(point: Any, key: str | int) -> float | None:
    if isinstance(point, Mapping):
        raw = point.get(key)
    else:
        try:
            raw = point[key]
        except (IndexError, KeyError, TypeError):
            return None
    if raw is None or isinstance(raw, bool):
        return None
    try:
        num = float(raw)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(num) else num


def _objective(key: str | int, points: Sequence[Any], maximise: Collection[str | int] | None):
    """Return (lookup key, sign): dict rows resolve metric aliases; maximised metrics get sign -1."""
    dict_rows = bool(points) and isinstance(points[0], Mapping)
    if isinstance(key, str) and dict_rows:
        known = _ALIASES.get(key, key)
        metric = METRICS.get(known)
        column = metric.column if metric else key
        big = metric.maximise if (metric and maximise is None) else key in (maximise or ())
        return column, -1.0 if big else 1.0
    return key, -1.0 if key in (maximise or ()) else 1.0


def pareto_front(
    points: Sequence[Mapping[str, Any]] | Sequence[Sequence[float]],
    x: str | int = 0,
    y: str | int = 1,
    *,
    maximise: Collection[str | int] | None = None,
) -> list[int]:
    """Indices of the Pareto-optimal points, ordered along the front (x ascending).

    Args:
        points: result rows (dicts, keyed by ``x``/``y`` column names or aliases such as ``bram``)
            or tuples (indexed by integer ``x``/``y``).
        x: first objective (column name, alias or tuple index).
        y: second objective.
        maximise: objectives to maximise instead of minimise. ``None`` uses the metric table for
            dict rows (``top1``, ``top5``, ``fps`` are maximised) and minimises everything else.

    Returns:
        Indices into ``points``; empty when no point has both values.

    Example:
        >>> pareto_front([(1, 5), (2, 2), (3, 2), (1, 5)])
        [0, 3, 1]
    """
    (kx, sx), (ky, sy) = _objective(x, points, maximise), _objective(y, points, maximise)
    valid = []
    for i, p in enumerate(points):
        vx, vy = _value(p, kx), _value(p, ky)
        if vx is not None and vy is not None:
            valid.append((sx * vx, sy * vy, i))
    valid.sort()
    front: list[int] = []
    best_y = math.inf  # lowest y among points with strictly smaller x
    for _, group in itertools.groupby(valid, key=lambda v: v[0]):
        group = list(group)  # same x, sorted by y then index
        low = group[0][1]
        if low < best_y:
            front += [i for _, vy, i in group if vy == low]
            best_y = low
    return front
