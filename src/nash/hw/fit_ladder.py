"""Device fit from cost tables: the fastest folding target at which a network fits a device (torch-free).

FINN's device fit (``nash hw estimate --fit``) looks for the highest SetFolding target whose
resources fit the device, so the folding -- and with it every layer's cost -- depends on the
network. A search cannot export and bisect each candidate; a :class:`FitLadder` answers the same
question from cost tables measured at a ladder of fps targets (``build_fit_ladder`` exports every
probe network once and folds it at every level):

* :meth:`FitLadder.fit` of a concrete network: the highest level whose predicted network meets
  the level (``max_cycles`` within its cycle target) and whose every resource is within
  ``utilization x capacity`` of the device; its fps is that level's predicted fps. The answer is
  the level, not the exact fit: the device-fit fps of ``nash hw estimate --fit`` lies between
  this level and the next, so the ladder's spacing is the resolution (default: steps of sqrt(2)).
  Every level is checked, so a cost that is not monotone in the target (BRAM18 can rise at a
  slower folding through memory packing) does not mislead it.
* the hardware-aware search (``nash.search.hw_objective``, device-fit mode) refreshes, every few
  alpha steps, the level its derived network fits and pushes on the resources that keep it from
  the next level, until it fits the goal fps.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nash.errors import ConfigError, HardwareError
from nash.hw.cost_table import CostTable, settings_key
from nash.io import atomic_write_json

__all__ = ["FitLadder", "check_levels", "default_levels", "DEVICE_RESOURCES"]

DEVICE_RESOURCES: tuple[str, ...] = ("lut", "bram18", "uram", "dsp")
_KIND = "nash-fit-ladder"
_SCHEMA = 1


def check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    """Sorted, distinct, positive fps levels (at least two).

    Raises:
        ConfigError: fewer than two levels, or a level that is not a positive number.
    """
    try:
        values = sorted({float(v) for v in levels})
    except (TypeError, ValueError):
        raise ConfigError(
            f"fps levels {list(levels)!r} must be numbers, e.g. 162,229,324.5,459,649"
        ) from None
    if len(values) < 2 or values[0] <= 0 or not all(math.isfinite(v) for v in values):
        raise ConfigError(f"fps levels {list(levels)!r}: give at least two distinct positive fps values")
    return tuple(values)


def default_levels(goal_fps: float, below: int = 4, above: int = 4) -> tuple[float, ...]:
    """``goal * sqrt(2)^k`` for ``k = -below .. above`` (0.25x .. 4x the goal by default), rounded
    to 0.1 fps; the goal itself is a level."""
    return tuple(round(goal_fps * 2 ** (k / 2), 1) for k in range(-below, above + 1))


@dataclass(frozen=True, eq=False)
class FitLadder:
    """Cost tables of one deployment at increasing SetFolding targets (same everything else)."""

    tables: tuple[CostTable, ...]

    def __post_init__(self) -> None:
        if len(self.tables) < 2:
            raise HardwareError("a fit ladder needs at least two levels (cost tables)")
        keys = {settings_key(_without_target(t.settings)) for t in self.tables}
        if len(keys) != 1:
            raise HardwareError("the tables of a fit ladder must differ only in their target fps")
        fps = [t.target_fps for t in self.tables]
        if fps != sorted(set(fps)):
            raise HardwareError(f"fit ladder levels must increase: {fps}")
        if not self.tables[0].device_budget:
            raise HardwareError("the tables of a fit ladder carry no device; rebuild with a device")

    # --- structure -------------------------------------------------------------------------------
    @property
    def levels(self) -> tuple[float, ...]:
        """Target fps of each level (ascending)."""
        return tuple(t.target_fps for t in self.tables)

    @property
    def budget(self) -> dict[str, Any]:
        """The device's record: name, capacity per resource, ``utilization`` limit."""
        return dict(self.tables[0].device_budget or {})

    @property
    def settings(self) -> dict[str, Any]:
        """Settings common to every level (``hw.target_fps`` removed)."""
        return _without_target(self.tables[0].settings)

    def goal_level(self, fps: float) -> int:
        """Index of the lowest level at or above ``fps``.

        Raises:
            ConfigError: ``fps`` is above the top level.
        """
        for n, level in enumerate(self.levels):
            if level >= fps - 1e-9:
                return n
        raise ConfigError(
            f"goal {fps:g} fps is above the ladder's top level {self.levels[-1]:g} fps; add higher levels"
        )

    def reachable(self, level: int) -> bool:
        """Whether the backbone alone (no NAS node) meets level ``level``'s cycle target: above the
        fastest such level no network can fit (a layer is at its maximum parallelism)."""
        table = self.tables[level]
        return int(table.base_max_cycles) <= table.target_cycles

    # --- evaluation ------------------------------------------------------------------------------
    def limits(self) -> dict[str, float]:
        """Usable amount of each device resource: ``utilization x capacity``."""
        util = float(self.budget.get("utilization", 1.0))
        return {r: util * float(self.budget.get(r, 0.0)) for r in DEVICE_RESOURCES}

    def overshoot(self, pred: dict[str, Any]) -> dict[str, float]:
        """Per device resource, the fraction of capacity ``pred`` uses beyond the usable limit
        (only resources over it), e.g. ``{"bram18": 0.07}`` = 7 % of the device's BRAM18 too many.
        A resource the device lacks (e.g. URAM on a Zynq) counts the units used (finite, so a
        repair can still rank changes by how much they remove)."""
        util = float(self.budget.get("utilization", 1.0))
        out = {}
        for r in DEVICE_RESOURCES:
            cap = float(self.budget.get(r, 0.0))
            used = float(pred.get(r, 0.0))
            over = (used / cap - util) if cap else used
            if over > 1e-12:
                out[r] = over
        return out

    def fits_level(self, level: int, cells: Any, bits: Any = None) -> bool:
        """Whether the network meets level ``level``'s target and fits the device there."""
        return self._fits(self.tables[level].predict(cells, bits))

    def _fits(self, pred: dict[str, Any]) -> bool:
        """A prediction meets its level's cycle target and is within the device's usable limit."""
        return bool(pred["meets_target"]) and not self.overshoot(pred)

    def fit(self, cells: Any, bits: Any = None) -> dict[str, Any]:
        """The device fit of one network (``cells``/``bits`` as ``CostTable.predict``).

        Returns:
            ``level`` (highest level that fits; -1 if none does), ``fps`` (that level's predicted
            fps; 0 when none fits), ``target_fps`` (the level's target), ``fits`` (any level fits),
            ``resources`` at that level (the lowest level's when none fits) and ``overshoot`` at the
            next level up (what keeps the network from it; ``{}`` at the top level).
        """
        preds = [t.predict(cells, bits) for t in self.tables]
        ok = [self._fits(p) for p in preds]
        level = max((n for n, good in enumerate(ok) if good), default=-1)
        at = preds[max(level, 0)]
        above = preds[level + 1] if level + 1 < len(preds) else None
        return {
            "level": level,
            "fps": float(at["fps"]) if level >= 0 else 0.0,
            "target_fps": self.levels[level] if level >= 0 else 0.0,
            "fits": level >= 0,
            "resources": {r: float(at[r]) for r in (*DEVICE_RESOURCES, "latency_cycles")},
            "overshoot": {} if above is None else self.overshoot(above),
        }

    # --- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: every level's table."""
        return {"kind": _KIND, "schema": _SCHEMA, "tables": [t.to_dict() for t in self.tables]}

    def save(self, path: str | Path) -> Path:
        """Write the ladder as one JSON file atomically; returns the path."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path, settings: dict[str, Any] | None = None) -> FitLadder:
        """Read :meth:`save`'s file; with ``settings`` (a level's table settings, any target fps),
        refuse a ladder built for another deployment.

        Raises:
            HardwareError: one line: missing or corrupt file, or built for other settings.
        """
        p = Path(path)
        if not p.is_file():
            raise HardwareError(
                f"fit ladder {p} not found; build it with `nash hw table --fit-levels ... --out {p}`"
            )
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("kind") != _KIND or data.get("schema") != _SCHEMA:
                raise HardwareError("not a nash fit ladder (kind 'nash-fit-ladder', schema 1)")
            ladder = cls(tuple(CostTable.from_dict(t) for t in data.get("tables") or []))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HardwareError(f"fit ladder {p} is not valid JSON; delete it and rebuild it") from None
        except HardwareError as exc:
            raise HardwareError(f"fit ladder {p}: {exc}; delete it and rebuild it") from None
        if settings is not None and settings_key(_without_target(settings)) != settings_key(ladder.settings):
            raise HardwareError(
                f"fit ladder {p} was built for another deployment; rebuild it for these settings"
            )
        return ladder

    def summary(self) -> str:
        """One line per level: target fps, the base network's resources and whether it fits."""
        name = self.budget.get("device")
        lines = [
            f"fit ladder: {len(self.levels)} levels on {name} (limit {self.budget.get('utilization', 1):.0%})"
        ]
        for t in self.tables:
            base = dict(zip(t.resources, t.base))
            lines.append(
                f"  {t.target_fps:>10,.1f} fps   base LUT {base['lut']:>12,.0f}  BRAM18 {base['bram18']:>8,.0f}"
                f"  URAM {base['uram']:>6,.0f}  DSP {base['dsp']:>6,.0f}"
            )
        return "\n".join(lines)


def _without_target(settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    out["hw"] = {k: v for k, v in dict(settings.get("hw") or {}).items() if k != "target_fps"}
    return out
