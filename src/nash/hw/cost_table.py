"""Cost tables: the hardware cost of a deployed NASH network as table lookups (torch-free).

A hardware-aware search runs on a small proxy but must see the cost of the network it will deploy
(e.g. ResNet18 at 3x224x224, 1000 classes, width 64, SetFolding at 324.5 fps, 5 ns). At a fixed
target fps SetFolding folds every layer on its own, so resources add over layers and the cost of
a derived network is a sum of measured parts. ``nash.hw.table_build.build_cost_table`` measures
them (one ``nash.hw`` estimate of an exported network per probe); this module holds the result
and evaluates it: :meth:`CostTable.predict` for one concrete genotype, and the arrays below for
the search's expected cost (torch does that part).

The model (columns ``resources`` = ``lut, bram18, uram, dsp, latency_cycles``)::

    cost = base
         + sum over chosen edges e (op k)          edges[e, k]            the op's own part
         + sum over used sources i of cell c       sources[c, i]          (sources_bare[c, i] when
                                                                           node i has no NAS edge)
         + sum over used (source i, op k) pairs    source_ops[c, i, k]    (identical max pools merge)
         + sum over cells c                        cell_bits[c, b_c]      (0 at ``ref_bits``)
    max_cycles = max(base_max_cycles, max_cycles[e, k] of the chosen edges,
                     bits_max_cycles[c, b_c]);  fps = 1e9 / clock_ns / max_cycles

A source ``x_i`` is *used* when at least one chosen edge leaves it, so the search counts its part
with ``P(used) = 1 - prod_j (1 - q_j(i))`` (and a ``(source, op)`` pair likewise). Rows of
``edges`` are the supernet's alpha rows: cells in order, each in ``nash.space.cell_edges`` order;
columns are ``OPS`` (``zero`` is column 0 and always 0). ``allowed[e, k]`` says whether the entry
was measured: ops that are not candidates of an edge, or that the strategy forbids there (v2..v4,
and v3's derivation skips them), are 0 and not allowed; under v1 a forbidden op is replaced by
``conv_1x1`` after derivation, so its entry is ``conv_1x1``'s.

What is exact and what approximates. Measured against full ``nash.hw`` estimates of the same
networks (same deterministic weights) at two scales: W8 = tests/hw/test_cost_table.py (ResNet18,
2-layer cells, 3x32x32, width 8, 2,000 fps; 4-layer cells in the development runs), D =
bench/cost_table_bench.py (ResNet18 3x224x224, 1000 classes, width 64, v3, w2a2, 324.5 fps, 5 ns,
U250; predicted networks use 444-676 k LUT, 2.5-6.2 k BRAM18, 24.2-25.2 M cycles):

* One NAS edge per cell: exact, every resource and the critical path (``edges + sources_bare +
  source_ops`` is the measured delta; cells are measured together, separated on the graph's cut
  points, and every other cell is checked to be unchanged).
* Several edges per cell at ``ref_bits``, resources: exact at both scales (W8: two-edge cells
  with distinct sources, a shared source and two merged pools; D: a random v3 genotype, 0 LUT /
  0 BRAM18 off). The source part is the saving when two edges share a source (its NAS activation
  and stream duplication; three edges from one source save exactly twice that, W8). ``sources``
  adds what a source costs when its own node has a NAS edge (always, in a derived network): a raw
  odd node ``x1``/``x3`` is a conv output whose ReLU FINN folds into the conv, so reading it
  costs far more than reading an add output (W8, last cell: 2,271 LUT more as a bare source).
  Two max pools of one source are one pool after export (identical nodes merge), hence
  ``source_ops``; without it W8 was off by 420-436 LUT (1.1 %) on such cells.
* Latency: the critical path adds over cells exactly; within a cell the table adds single-edge
  path deltas (a branch parallel to the main path lengthens it only where it is longer, and
  several adds on one path stack), not exact: W8 up to 0.67 %, D up to 1.45 % (351 k of 24.2 M
  cycles; the sign varies). The source parts carry no latency.
* Bits: ``cell_bits[c, b]`` is measured with cell ``c`` at ``b`` and its neighbours at ``ref_bits``
  in a network whose every node has a NAS edge (``conv_1x1`` from the node before), since a NAS
  add at a node changes what that node's main-bits change costs: deltas taken with every node
  absent missed up to 3.7 % LUT / 9.5 % BRAM18 on derived networks (W8, 4-layer cells), these
  0.3 % / 1 BRAM18. Cell ``c``'s output activation is the input of cell ``c+1``'s first conv (the
  head for the last cell): neighbours changing bits together interact, and that, with the edge
  parts measured at ``ref_bits``, is the remaining error with random per-cell bits: W8 at most
  160 LUT (0.41 %), 2 BRAM18 (2.2 % of ~90); D at most 2,737 LUT (0.40 %), 16 BRAM18 (0.33 %).
* Folding: built with ``two_pass_relaxation`` off (every layer folded for the target alone).
  When ``max_cycles`` exceeds the target, FINN's second pass would fold every other layer to that
  slower rate, so the predicted resources are then an upper bound.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from nash.errors import HardwareError
from nash.io import atomic_write_json
from nash.space.ops import OPS, canonical_op
from nash.space.quant import parse_bits

__all__ = ["CostTable", "RESOURCES", "TABLE_SCHEMA", "settings_key", "bits_tag", "random_network"]

RESOURCES: tuple[str, ...] = ("lut", "bram18", "uram", "dsp", "latency_cycles")
TABLE_SCHEMA = 1
_KIND = "nash-cost-table"

# array fields, their dtype and shape in terms of C cells, S sources, E edges, K ops, B bits, R resources
_ARRAYS: dict[str, tuple[type, tuple[str, ...]]] = {
    "base": (float, ("R",)),
    "edges": (float, ("E", "K", "R")),
    "allowed": (bool, ("E", "K")),
    "sources": (float, ("C", "S", "R")),
    "sources_bare": (float, ("C", "S", "R")),
    "source_ops": (float, ("C", "S", "K", "R")),
    "cell_bits": (float, ("C", "B", "R")),
    "max_cycles": (int, ("E", "K")),
    "bits_max_cycles": (int, ("C", "B")),
    "original": (float, ("R",)),
}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def settings_key(settings: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``settings`` (the cache key of a table)."""
    return hashlib.sha256(_canonical(settings).encode("utf-8")).hexdigest()


def bits_tag(bits: str | int | Sequence[int]) -> str:
    """``"w2a4"``, ``4`` (-> ``"w4a4"``) or ``(2, 4)`` -> the canonical ``wXaY`` tag.

    Raises:
        ConfigError: not a valid tag / width.
    """
    if isinstance(bits, str) and bits.strip().isdigit():
        bits = int(bits)
    if isinstance(bits, int) and not isinstance(bits, bool):
        w = a = bits
    elif isinstance(bits, str):
        w, a = parse_bits(bits.strip().lower())
    else:
        w, a = (int(v) for v in bits)
    w, a = parse_bits(f"w{w}a{a}")
    return f"w{w}a{a}"


@dataclass(frozen=True, eq=False)
class CostTable:
    """Measured cost parts of a deployed NASH network (see the module docstring for the model).

    Shapes: C cells, S = max nodes per cell (sources ``x0..x_{S-1}``), E = supernet alpha rows,
    K = ``len(OPS)``, B = ``len(bits)``, R = ``len(resources)``.
    """

    settings: dict[str, Any]  # everything it was built for (the cache key)
    resources: tuple[str, ...]
    ops: tuple[str, ...]  # column order (``OPS``)
    cell_layers: tuple[int, ...]  # nodes per cell
    downsample: tuple[bool, ...]
    base: np.ndarray  # (R,) every NAS node absent, every cell at ref_bits
    edges: np.ndarray  # (E, K, R) own part of op k on edge e
    allowed: np.ndarray  # (E, K) measured entries
    sources: np.ndarray  # (C, S, R) per used source, its node having a NAS edge
    sources_bare: np.ndarray  # (C, S, R) per used source, its node having none (x0: same)
    source_ops: np.ndarray  # (C, S, K, R) per used (source, op) pair
    bits: tuple[str, ...]  # main-branch bit candidates, e.g. ("w1a1", "w2a2", "w4a4", "w8a8")
    ref_bits: str
    cell_bits: np.ndarray  # (C, B, R) delta of cell c at bits b (0 at ref_bits)
    max_cycles: np.ndarray  # (E, K) largest cycles of the layers an entry adds or changes
    bits_max_cycles: np.ndarray  # (C, B) the same for a cell's bits
    base_max_cycles: int
    original: np.ndarray  # (R,) the original ResNet (no NAS) at ref_bits
    original_max_cycles: int
    device_budget: dict[str, Any] | None
    clock_ns: float
    target_fps: float
    info: dict[str, Any] = field(default_factory=dict)  # how it was built (not part of the key)

    # --- structure -------------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        """Number of cells C."""
        return len(self.cell_layers)

    @cached_property
    def cell_offsets(self) -> tuple[int, ...]:
        """First alpha row of each cell, plus E at the end."""
        out = [0]
        for n in self.cell_layers:
            out.append(out[-1] + n * (n + 1) // 2)
        return tuple(out)

    def cell_rows(self, cell: int) -> slice:
        """Rows of ``edges`` that belong to ``cell``."""
        return slice(self.cell_offsets[cell], self.cell_offsets[cell + 1])

    @cached_property
    def edge_cell(self) -> np.ndarray:
        """(E,) cell of each row."""
        return np.repeat(np.arange(self.n_cells), np.diff(self.cell_offsets))

    @cached_property
    def edge_src(self) -> np.ndarray:
        """(E,) source node of each row."""
        return np.array([s for n in self.cell_layers for d in range(1, n + 1) for s in range(d)], dtype=int)

    @cached_property
    def edge_dst(self) -> np.ndarray:
        """(E,) destination node of each row."""
        return np.array([d for n in self.cell_layers for d in range(1, n + 1) for _ in range(d)], dtype=int)

    def row(self, cell: int, src: int, dst: int) -> int:
        """Row of edge ``x_src -> x_dst`` of ``cell``."""
        if not 0 <= cell < self.n_cells or not 0 <= src < dst <= self.cell_layers[cell]:
            raise HardwareError(
                f"cell {cell} has no edge x{src}->x{dst}; cells have {list(self.cell_layers)} nodes"
            )
        return self.cell_offsets[cell] + dst * (dst - 1) // 2 + src

    def single_edge(self, row: int, op: int) -> np.ndarray:
        """(R,) measured delta of one NAS edge alone: own + its source's (+ source-op) part."""
        c, s = int(self.edge_cell[row]), int(self.edge_src[row])
        return self.edges[row, op] + self.sources_bare[c, s] + self.source_ops[c, s, op]

    @property
    def target_cycles(self) -> int:
        """SetFolding's cycle target: ``int(1e9 / clock_ns / target_fps)``."""
        return int((1e9 / self.clock_ns) / self.target_fps)

    def bits_index(self, bits: str | Sequence[int] | None) -> int:
        """Column of ``bits`` (tag or pair; ``None`` = ``ref_bits``) in ``cell_bits``."""
        tag = self.ref_bits if bits is None else bits_tag(bits)
        if tag not in self.bits:
            raise HardwareError(
                f"bits {tag} are not in this cost table ({', '.join(self.bits)}); rebuild it with "
                f"--bits-candidates including {tag}"
            )
        return self.bits.index(tag)

    # --- evaluation ------------------------------------------------------------------------------
    def predict(
        self,
        cells: Sequence[Sequence[tuple[str, int]]] | Any,
        bits: Sequence[str | Sequence[int] | None] | None = None,
    ) -> dict[str, Any]:
        """Cost of one concrete network: per cell, per node ``(op, predecessor)``; per cell bits.

        Args:
            cells: ``Genotype.cells`` (or a ``Genotype``: its ``bits`` apply unless ``bits`` is
                given); ``("zero", j - 1)`` marks an absent node.
            bits: per cell a ``wXaY`` tag or ``(weight_bits, act_bits)`` (``None``: ``ref_bits``).

        Returns:
            Each resource (``lut`` ... ``latency_cycles``), ``latency_ms``, ``max_cycles``,
            ``fps``, ``meets_target`` and ``utilization`` (per resource, ``None`` without a device).

        Raises:
            HardwareError: wrong number of cells/nodes, a bad predecessor, an op the table has no
                entry for, or bits outside ``bits``.
        """
        if hasattr(cells, "cells"):
            bits = getattr(cells, "bits", None) if bits is None else bits
            cells = cells.cells
        if len(cells) != self.n_cells:
            raise HardwareError(f"the table has {self.n_cells} cells but {len(cells)} were given")
        if bits is not None and len(bits) != self.n_cells:
            raise HardwareError(f"the table has {self.n_cells} cells but {len(bits)} cell bits were given")
        total = self.base.astype(float).copy()
        max_cycles = int(self.base_max_cycles)
        for c, nodes in enumerate(cells):
            total += self._cell_cost(c, nodes)
            max_cycles = max(max_cycles, self._cell_max(c, nodes))
            b = self.bits_index(None if bits is None else bits[c])
            total += self.cell_bits[c, b]
            max_cycles = max(max_cycles, int(self.bits_max_cycles[c, b]))
        out: dict[str, Any] = {r: float(v) for r, v in zip(self.resources, total)}
        lat = out.get("latency_cycles", 0.0)
        fps = (1e9 / self.clock_ns) / max_cycles if max_cycles else 0.0
        out |= {
            "latency_ms": lat * self.clock_ns / 1e6,
            "max_cycles": max_cycles,
            "fps": fps,
            "meets_target": max_cycles <= self.target_cycles,
            "utilization": self.utilization(out),
        }
        return out

    def expected(self, q: Any, bit_probs: Any = None) -> np.ndarray:
        """(R,) expected cost of the derived network (the reference of the search's torch version).

        Args:
            q: (E, K) probability that node ``dst(e)`` keeps op ``k`` on edge ``e`` (each node's
                non-zero entries sum to 1 in a derived network; column 0, ``zero``, is ignored).
            bit_probs: (C, B) probability of each cell's bits (``None``: ``ref_bits``).

        ``base + sum q * edges + sum_i P(x_i used) * sources + sum_(i,k) P((i, k) used) *
        source_ops + sum bit_probs * cell_bits`` with ``P(x_i used) = 1 - prod_j (1 - sum_k
        q[i->j, k])``: the nodes choose independently, and in a derived network every node has an
        edge, so ``sources`` (not ``sources_bare``) applies. A one-hot ``q`` of a genotype gives
        exactly :meth:`predict`'s resources.
        """
        q = np.array(q, dtype=float)
        if q.shape != self.allowed.shape:
            raise HardwareError(f"q has shape {q.shape}, the table {self.allowed.shape} (edges x ops)")
        q[:, 0] = 0.0
        cost = self.base + np.einsum("ek,ekr->r", q, self.edges)
        keep = np.ones(self.sources.shape[:2])  # P(no edge leaves x_i)
        np.multiply.at(keep, (self.edge_cell, self.edge_src), 1.0 - q.sum(axis=1))
        cost = cost + np.einsum("cs,csr->r", 1.0 - keep, self.sources)
        keep_op = np.ones(self.source_ops.shape[:3])  # P(no edge leaves x_i with op k)
        np.multiply.at(keep_op, (self.edge_cell, self.edge_src), 1.0 - q)
        cost = cost + np.einsum("csk,cskr->r", 1.0 - keep_op, self.source_ops)
        if bit_probs is not None:
            cost = cost + np.einsum("cb,cbr->r", np.asarray(bit_probs, dtype=float), self.cell_bits)
        return cost

    def _chosen(self, c: int, nodes: Sequence[tuple[str, int]]) -> list[tuple[int, int, int, int]]:
        """(row, op column, source, node) of every non-zero node of cell ``c``."""
        n = self.cell_layers[c]
        if len(nodes) != n:
            raise HardwareError(f"cell {c} has {n} nodes but {len(nodes)} were given")
        out = []
        for j, (op, i) in enumerate(nodes, start=1):
            op = canonical_op(op)
            if op == "zero":
                continue
            if isinstance(i, bool) or not isinstance(i, int | np.integer) or not 0 <= i < j:
                raise HardwareError(f"cell {c} node {j}: predecessor {i!r} must be 0..{j - 1}")
            k, row = OPS.index(op), self.row(c, int(i), j)
            if not self.allowed[row, k]:
                raise HardwareError(
                    f"cell {c} node {j}: {op} on x{i}->x{j} has no entry (strategy "
                    f"{self.settings.get('version')} forbids it there, or the table's ops exclude it)"
                )
            out.append((row, k, int(i), j))
        return out

    def _cell_cost(self, c: int, nodes: Sequence[tuple[str, int]]) -> np.ndarray:
        chosen = self._chosen(c, nodes)
        total = np.zeros(len(self.resources))
        has_edge = {j for _, _, _, j in chosen}
        for row, k, _, _ in chosen:
            total += self.edges[row, k]
        for i in {i for _, _, i, _ in chosen}:
            total += self.sources[c, i] if i >= 1 and i in has_edge else self.sources_bare[c, i]
        for i, k in {(i, k) for _, k, i, _ in chosen}:
            total += self.source_ops[c, i, k]
        return total

    def _cell_max(self, c: int, nodes: Sequence[tuple[str, int]]) -> int:
        return max((int(self.max_cycles[row, k]) for row, k, _, _ in self._chosen(c, nodes)), default=0)

    def utilization(self, cost: dict[str, float]) -> dict[str, float] | None:
        """Fraction of the device's resources ``cost`` uses (``None`` without a device)."""
        if not self.device_budget:
            return None
        out = {}
        for r in ("lut", "bram18", "uram", "dsp"):
            cap = float(self.device_budget.get(r, 0))
            v = float(cost.get(r, 0.0))
            out[r] = v / cap if cap else (0.0 if v == 0 else math.inf)
        return out

    # --- summary ---------------------------------------------------------------------------------
    def summary(self) -> str:
        """Readable summary: settings, base, original, budget; per cell the cheapest and the most
        expensive single edge per resource, and the bit-width deltas."""
        s = self.settings
        shape = "x".join(str(v) for v in s.get("input_shape", []))
        hw = s.get("hw", {})
        lines = [
            f"cost table: {s.get('backbone')} {s.get('version')} {self.ref_bits}, {shape}, "
            f"{s.get('num_classes')} classes, width {s.get('width')}, {s.get('stem')} stem; "
            f"{hw.get('generation')} at {self.target_fps:g} fps, {self.clock_ns:g} ns"
            + (f", {hw.get('device')}" if hw.get("device") else ""),
        ]
        if self.info:
            how = " (loaded from the cache: 0 exports now)" if self.info.get("cache") == "hit" else ""
            lines.append(
                f"built from {self.info.get('networks', 0)} exported networks in "
                f"{self.info.get('build_seconds', 0):.1f} s{how}"
            )
        head = f"{'':<12}" + "".join(f"{r:>16}" for r in self.resources) + f"{'fps':>10}"
        lines += [head, "-" * len(head)]
        fps = lambda m: (1e9 / self.clock_ns) / m if m else 0.0  # noqa: E731
        for name, vec, mc in (
            ("original", self.original, self.original_max_cycles),
            ("base", self.base, self.base_max_cycles),
        ):
            lines.append(f"{name:<12}" + "".join(f"{v:>16,.0f}" for v in vec) + f"{fps(mc):>10.1f}")
        if self.device_budget:
            budget = [self.device_budget.get(r) for r in self.resources]
            lines.append(
                f"{'budget':<12}"
                + "".join(f"{v:>16,.0f}" if v is not None else f"{'-':>16}" for v in budget)
                + f"   {self.device_budget.get('device')} (limit {self.device_budget.get('utilization', 1):.0%})"
            )
        for c in range(self.n_cells):
            lines.append(self._cell_summary(c))
        return "\n".join(lines)

    def _cell_summary(self, c: int) -> str:
        rows = range(self.cell_offsets[c], self.cell_offsets[c + 1])
        entries = [(r, k) for r in rows for k in range(len(self.ops)) if self.allowed[r, k]]
        kind = "downsample" if self.downsample[c] else "normal"
        out = [f"cell {c} ({kind}, {self.cell_layers[c]} nodes), one NAS edge alone (min .. max):"]
        for ri, res in enumerate(self.resources):
            if not entries:
                break
            vals = [(float(self.single_edge(r, k)[ri]), r, k) for r, k in entries]
            lo, hi = min(vals), max(vals)
            out.append(f"    {res:<15} {self._entry(lo)} .. {self._entry(hi)}")
        deltas = [
            f"{b} {self.cell_bits[c, bi, 0]:+,.0f} LUT {self.cell_bits[c, bi, 1]:+,.0f} BRAM18"
            for bi, b in enumerate(self.bits)
            if b != self.ref_bits
        ]
        if deltas:
            out.append("    bits            " + "; ".join(deltas))
        return "\n".join(out)

    def _entry(self, item: tuple[float, int, int]) -> str:
        value, row, k = item
        return f"{value:+,.0f} {self.ops[k]} x{self.edge_src[row]}->x{self.edge_dst[row]}"

    # --- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (arrays as nested lists)."""
        out: dict[str, Any] = {
            "kind": _KIND,
            "schema": TABLE_SCHEMA,
            "settings": self.settings,
            "key": settings_key(self.settings),
            "resources": list(self.resources),
            "ops": list(self.ops),
            "cell_layers": list(self.cell_layers),
            "downsample": list(self.downsample),
            "bits": list(self.bits),
            "ref_bits": self.ref_bits,
            "base_max_cycles": int(self.base_max_cycles),
            "original_max_cycles": int(self.original_max_cycles),
            "device_budget": self.device_budget,
            "clock_ns": self.clock_ns,
            "target_fps": self.target_fps,
            "info": self.info,
        }
        for name in _ARRAYS:
            out[name] = np.asarray(getattr(self, name)).tolist()
        return out

    @classmethod
    def from_dict(cls, data: Any) -> CostTable:
        """Rebuild from :meth:`to_dict`; raises ``HardwareError`` naming what is wrong."""
        if not isinstance(data, dict) or data.get("kind") != _KIND:
            raise HardwareError("not a nash cost table (no 'kind': 'nash-cost-table')")
        if data.get("schema") != TABLE_SCHEMA:
            raise HardwareError(f"cost table schema {data.get('schema')!r} is not {TABLE_SCHEMA}")
        try:
            cell_layers = tuple(int(n) for n in data["cell_layers"])
            sizes = {
                "C": len(cell_layers),
                "S": max(cell_layers, default=0),
                "E": sum(n * (n + 1) // 2 for n in cell_layers),
                "K": len(data["ops"]),
                "B": len(data["bits"]),
                "R": len(data["resources"]),
            }
            arrays = {}
            for name, (dtype, dims) in _ARRAYS.items():
                arr = np.asarray(data[name], dtype=dtype)
                want = tuple(sizes[d] for d in dims)
                if arr.shape != want:
                    raise HardwareError(f"array {name} has shape {arr.shape}, expected {want}")
                arrays[name] = arr
            table = cls(
                settings=dict(data["settings"]),
                resources=tuple(str(r) for r in data["resources"]),
                ops=tuple(str(o) for o in data["ops"]),
                cell_layers=cell_layers,
                downsample=tuple(bool(d) for d in data["downsample"]),
                bits=tuple(str(b) for b in data["bits"]),
                ref_bits=str(data["ref_bits"]),
                base_max_cycles=int(data["base_max_cycles"]),
                original_max_cycles=int(data["original_max_cycles"]),
                device_budget=data.get("device_budget"),
                clock_ns=float(data["clock_ns"]),
                target_fps=float(data["target_fps"]),
                info=dict(data.get("info") or {}),
                **arrays,
            )
        except HardwareError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
            raise HardwareError(f"malformed cost table ({what})") from None
        if table.ops != OPS or table.ref_bits not in table.bits or len(table.downsample) != table.n_cells:
            raise HardwareError("malformed cost table (ops, bits or cells do not match this nash version)")
        return table

    def save(self, path: str | Path) -> Path:
        """Write the table as JSON atomically; returns the path."""
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path, settings: dict[str, Any] | None = None) -> CostTable:
        """Read a table written by :meth:`save`; with ``settings``, refuse one built for others.

        Raises:
            HardwareError: one line: missing or corrupt file, or built for other settings.
        """
        p = Path(path)
        if not p.is_file():
            raise HardwareError(f"cost table {p} not found; build it with `nash hw table ... --out {p}`")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            table = cls.from_dict(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "bad encoding"
            raise HardwareError(
                f"cost table {p} is not valid JSON ({where}); delete it and rebuild with `nash hw table`"
            ) from None
        except HardwareError as exc:
            raise HardwareError(
                f"cost table {p}: {exc}; delete it and rebuild with `nash hw table`"
            ) from None
        if settings is not None and settings_key(settings) != settings_key(table.settings):
            key, have, want = _first_difference(table.settings, settings)
            raise HardwareError(
                f"cost table {p} was built for {key}={have!r}, not {want!r}; rebuild it for these settings"
            )
        return table


def _first_difference(have: Any, want: Any, prefix: str = "") -> tuple[str, Any, Any]:
    """First differing key path between two settings dicts (``hw.target_fps``)."""
    if isinstance(have, dict) and isinstance(want, dict):
        for key in sorted(set(have) | set(want)):
            if _canonical(have.get(key)) != _canonical(want.get(key)):
                return _first_difference(have.get(key), want.get(key), f"{prefix}{key}.")
    return prefix.rstrip(".") or "settings", have, want


def random_network(table: CostTable, rng: Any, with_bits: bool = True) -> tuple[list, list | None]:
    """A random valid genotype of the table's strategy and, with ``with_bits``, random per-cell bits.

    Every node gets one non-zero op from an earlier node that the strategy allows there and the
    table has an entry for (``rng``: a ``random.Random``). For tests and benchmarks of ``predict``.
    """
    from nash.space import cell_edges, cell_specs, create_strategy

    strategy = create_strategy(table.settings["version"])
    cells = []
    for spec in cell_specs(table.settings["backbone"], table.settings["cell_layers"]):
        edges = {(e.src, e.dst): e for e in cell_edges(spec)}
        nodes = []
        for j in range(1, spec.n_layers + 1):
            choices = [
                (op, i)
                for i in range(j)
                for op in strategy.candidates(edges[i, j])
                if op != "zero"
                and not strategy.forbidden(edges[i, j], op)
                and table.allowed[table.row(spec.index, i, j), table.ops.index(op)]
            ]
            nodes.append(rng.choice(choices))
        cells.append(nodes)
    return cells, [rng.choice(table.bits) for _ in cells] if with_bits else None
