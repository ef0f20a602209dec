"""The hardware term of the hardware-aware search: expected FINN cost of the derived network.

NAF (Deeper network/accelerator co-exploration) minimises ``L_val + lambda * L_hw`` over the op
parameters ``alpha`` and per-block bit-width parameters ``beta``. Here ``L_hw`` is the cost of the
network the search would *derive* now, deployed at full scale (e.g. ResNet18, 3x224x224, 1000
classes, a target fps and clock, a device), read from a :class:`nash.hw.cost_table.CostTable`:

* the default derivation keeps, per node ``j``, the non-zero op ``k`` of the incoming edge ``i -> j``
  with the highest probability ``p_{i->j}(k)``. Its differentiable relaxation weighs every
  ``(i, k)`` by ``q_j(i, k) = p_{i->j}(k) / sum_{i', k' != zero} p_{i'->j}(k')`` and adds
  ``q_j(i, k) * table.edges[i->j, k]`` over all of them;
* what a source node ``x_i`` costs once however many edges leave it (its NAS activation, the
  stream duplication; ``table.sources``) and what a (source, op) pair costs once (identical
  max-pools merge; ``table.source_ops``) are weighted by ``P(used) = 1 - prod_j (1 - q_j(i))``;
* each cell's main-branch bit width ``b`` adds ``pi_c(b) * table.cell_bits[c, b]`` with
  ``pi_c = softmax(beta_c)``;
* the network's cost is ``table.base`` plus those terms, per resource.

Each resource is divided by a normaliser - the original ResNet's cost at the same deployment
(``norm: original``) or the device's budget (``norm: device``) - so ``L_hw`` is dimensionless:
1.0 means "as much as the original network" (or "the whole device").

Two modes (``SearchConfig``):

* weighted: ``L = L_val + hw_weight * sum_r w_r * cost_r / norm_r`` (a fixed ``lambda``);
* budget (``hw_limit`` set): the same term, applied only while the *derived* network's normalised
  cost exceeds the limit, with ``lambda`` raised while it does and lowered while it is under (NAF
  eq. 4: lambda follows the gap between target and current hardware figures), checked every
  ``update_every`` alpha steps; a derived network still over the limit at the end is repaired by
  :meth:`HwObjective.project` (the cheapest changes in log-probability per unit of cost saved).

* device fit (``ladder`` given: ``hw_fit``): the folding is FINN's device fit, the fastest
  SetFolding target at which the network fits the device, so it depends on the network (NAF's
  ``gamma*``). A :class:`nash.hw.fit_ladder.FitLadder` holds cost tables at a ladder of targets.
  Every ``update_every`` alpha steps the hardware feedback is refreshed: the derived network's
  fit (the highest level it fits) is looked up, the term switches to the table of the next level
  up (capped at the goal's), and it pushes only on the device resources that keep the network
  from that level (every device resource is a column, weighted by the objective or 1, normalised
  by the device; a resource the device lacks counts its units). ``lambda`` rises while the fit is below the goal fps
  and falls at or above it (NAF eq. 4 on the fps gap); a derived network still short of the goal
  at the end is repaired by :meth:`HwObjective.project` against the goal level's table.

``lambda = 0`` contributes exact zeros to the alpha gradient, so such a search equals the plain one.
Nothing here touches the sampler's random numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from nash.config.search import parse_objective
from nash.errors import ConfigError
from nash.space import OPS, CellSpec, cell_edges

__all__ = ["HwObjective", "parse_objective"]

_ZERO = OPS.index("zero")


class HwObjective:
    """Expected normalised hardware cost of the derived network, and the adaptive ``lambda``.

    Args:
        table: a ``CostTable`` built for this search's backbone, strategy and cells.
        cells: the supernet's cell specs (edge order of the alpha rows).
        objective: ``{table column: weight}`` (:func:`parse_objective`).
        weight: ``lambda`` (fixed in weighted mode, the start value in budget mode).
        limit: budget on the normalised objective (``None``: weighted mode).
        norm: ``original`` (the original ResNet's cost) or ``device`` (the device budget).
        rate: multiplicative step of ``lambda`` per update in budget mode.
        update_every: alpha steps between two ``lambda`` updates (NAF: 20 batches).
        bits: bit-width candidates the supernet's ``beta`` columns stand for (``None``: no beta).
        ladder: a ``FitLadder`` for device-fit mode (``table`` is then ignored; ``norm`` is the
            device); ``goal_fps``: the throughput it must reach (a level at or above it is the goal).
    """

    def __init__(
        self,
        table: Any,
        cells: Sequence[CellSpec],
        objective: Mapping[str, float],
        weight: float,
        limit: float | None = None,
        norm: str = "original",
        rate: float = 0.1,
        update_every: int = 20,
        bits: Sequence[str] | None = None,
        ladder: Any = None,
        goal_fps: float | None = None,
    ) -> None:
        self.ladder = ladder
        self.goal = self.level = 0
        if ladder is not None:
            if limit is not None:
                raise ConfigError("device-fit mode's goal is the target fps; leave hw_limit unset")
            self.goal = self.level = ladder.goal_level(float(goal_fps or ladder.levels[-1]))
            if not ladder.reachable(self.goal):
                raise ConfigError(
                    f"goal {goal_fps:g} fps: the backbone alone cannot reach the ladder's "
                    f"{ladder.levels[self.goal]:g} fps level (a layer is at its maximum parallelism); "
                    "lower --target-fps"
                )
            table, norm = ladder.tables[self.goal], "device"
            # fitting is about every device resource: the objective's weights, 1 for the others
            from nash.hw.fit_ladder import DEVICE_RESOURCES

            objective = {r: float(objective.get(r, 1.0)) for r in DEVICE_RESOURCES}
        resources = list(table.resources)
        missing = [r for r in objective if r not in resources]
        if missing:
            raise ConfigError(f"the cost table has no {missing[0]!r} column; rebuild it (nash hw table)")
        self.table = table
        self.objective = dict(objective)
        self.lam = float(weight)
        self.limit = limit
        self.rate = rate
        self.update_every = max(1, int(update_every))
        self.steps = 0
        self.over = True  # budget mode: the derived network was over the limit at the last check
        cols = [resources.index(r) for r in self.objective]
        self.columns = tuple(self.objective)
        norms = self._norms(table, norm)
        self.norm = torch.tensor([norms[r] for r in self.columns], dtype=torch.float64)
        self.weights = torch.tensor([self.objective[r] for r in self.columns], dtype=torch.float64)
        self.mask = torch.ones(len(self.columns), dtype=torch.float64)  # fit mode: the binding resources
        self._cols, self._bit_cols = cols, None
        edges = np.asarray(table.edges, dtype=np.float64)
        n_edges = sum(len(cell_edges(s)) for s in cells)
        if edges.shape[0] != n_edges or edges.shape[1] != len(OPS):
            raise ConfigError(
                f"the cost table has {edges.shape[0]}x{edges.shape[1]} edge entries but the supernet has "
                f"{n_edges} edges x {len(OPS)} ops; build the table for the same backbone and cell_layers"
            )
        allowed = getattr(table, "allowed", None)
        self.allowed = None if allowed is None else torch.tensor(np.asarray(allowed, dtype=np.float64))
        node: list[int] = []
        n_nodes = 0
        self.cell_nodes: list[list[list[int]]] = []  # per cell, per node j: its alpha rows (by source)
        for spec in cells:
            rows: list[list[int]] = [[] for _ in range(spec.n_nodes)]
            for edge in cell_edges(spec):
                rows[edge.dst - 1].append(len(node))
                node.append(n_nodes + edge.dst - 1)
            self.cell_nodes.append(rows)
            n_nodes += spec.n_nodes
        self.node = torch.tensor(node, dtype=torch.long)  # (E,) global node of each edge
        self.n_nodes = n_nodes
        # shared per-source parts (NAS activation, stream duplication): counted once per used source
        self.src_index = None
        if getattr(table, "sources", None) is not None:
            n_src = np.asarray(table.sources).shape[1]
            src_of = [c * n_src + int(e.src) for c, spec in enumerate(cells) for e in cell_edges(spec)]
            groups: list[list[int]] = [[] for _ in range(len(cells) * n_src)]
            for row, g in enumerate(src_of):
                groups[g].append(row)
            width = max(1, max(len(g) for g in groups))
            pad = len(node)  # index of an appended zero row
            self.src_index = torch.tensor([g + [pad] * (width - len(g)) for g in groups], dtype=torch.long)
        self.bits: tuple[str, ...] = ()
        if bits is not None and len(bits) > 1:
            table_bits = list(getattr(table, "bits", ()) or ())
            absent = [b for b in bits if b not in table_bits]
            if absent:
                raise ConfigError(
                    f"the cost table has no entry for bits {absent[0]}; build it with the same "
                    "bits candidates (nash hw table --bits-candidates)"
                )
            self._bit_cols = [table_bits.index(b) for b in bits]
            self.bits = tuple(bits)
        self._read_parts(table)
        self.history: list[dict[str, float]] = []

    @property
    def constrained(self) -> bool:
        """Budget or device-fit mode: the derived network must meet a limit at the end."""
        return self.limit is not None or self.ladder is not None

    def _read_parts(self, table: Any) -> None:
        """The objective's columns of ``table``'s cost parts as tensors: base (R',), edges
        (E, K, R'), per source (C*S, R') and per (source, op) (C*S, K, R'), per-cell bits (C, B, R')."""
        cols = self._cols
        self.base = torch.tensor(np.asarray(table.base, dtype=np.float64)[cols])
        self.edges = torch.tensor(np.asarray(table.edges, dtype=np.float64)[:, :, cols])
        self.sources = self.source_ops = self.cell_bits = None
        if self.src_index is not None:
            src = np.asarray(table.sources, dtype=np.float64)[..., cols]
            self.sources = torch.tensor(src.reshape(-1, len(cols)))
            ops = np.asarray(table.source_ops, dtype=np.float64)[..., cols]
            self.source_ops = torch.tensor(ops.reshape(-1, ops.shape[2], len(cols)))
        if self._bit_cols is not None:
            cb = np.asarray(table.cell_bits, dtype=np.float64)[:, self._bit_cols]
            self.cell_bits = torch.tensor(cb[:, :, cols])

    def _use_level(self, level: int) -> None:
        """Device fit: read the cost parts of the ladder's level ``level`` (same shapes)."""
        if level == self.level and self.table is self.ladder.tables[level]:
            return
        self.table, self.level = self.ladder.tables[level], level
        self._read_parts(self.table)

    @staticmethod
    def _norms(table: Any, norm: str) -> dict[str, float]:
        resources = list(table.resources)
        if norm == "device":
            budget = getattr(table, "device_budget", None)
            if not budget:
                raise ConfigError(
                    "hw_norm: device needs a device; pass --device NAME or use hw_norm: original"
                )
            out = {r: float(budget.get(r, 0.0)) for r in resources}
        elif norm == "original":
            out = {r: float(v) for r, v in zip(resources, np.asarray(table.original, dtype=np.float64))}
        else:
            raise ConfigError(f"hw_norm: {norm!r} is not one of original, device")
        if norm == "device" and "latency_cycles" in out:  # a device has no latency budget
            out["latency_cycles"] = float(np.asarray(table.original)[resources.index("latency_cycles")])
        return {r: (v if v > 0 else 1.0) for r, v in out.items()}

    def node_weights(self, probs: Tensor) -> Tensor:
        """(E, K) ``q_j(i, k)``: each node's non-zero op probabilities renormalised over its edges.

        Ops the table marks as not ``allowed`` on an edge (the strategy's derivation skips them, e.g.
        max-pool on a size-changing edge under v3) get no weight.
        """
        p = probs.to(torch.float64).clone()
        p[:, _ZERO] = 0.0
        if self.allowed is not None:  # ops the strategy's derivation never keeps on an edge (v2..v4)
            p = p * self.allowed.to(p.device)
        total = torch.zeros(self.n_nodes, dtype=p.dtype, device=p.device).index_add_(
            0, self.node.to(p.device), p.sum(dim=1)
        )
        return p / total.clamp_min(1e-12)[self.node.to(p.device)].unsqueeze(1)

    def expected(self, probs: Tensor, bit_probs: Tensor | None = None) -> Tensor:
        """(R',) expected cost (table units) of the derived network under ``probs`` (and ``bit_probs``).

        The torch twin of ``CostTable.expected``: own parts weighted by ``q``, each source's shared
        part by ``P(used) = 1 - prod_j (1 - q_j(i))`` and each (source, op) part likewise.
        """
        q = self.node_weights(probs)
        dev = q.device
        cost = self.base.to(dev) + torch.einsum("ek,ekr->r", q, self.edges.to(dev))
        if self.sources is not None:
            index = self.src_index.to(dev)
            padded = torch.cat([q, q.new_zeros(1, q.shape[1])])  # (E + 1, K)
            used = 1.0 - torch.prod(1.0 - padded.sum(dim=1)[index], dim=1)  # (C*S,)
            cost = cost + used @ self.sources.to(dev)
            used_op = 1.0 - torch.prod(1.0 - padded[index], dim=1)  # (C*S, K)
            cost = cost + torch.einsum("sk,skr->r", used_op, self.source_ops.to(dev))
        if self.cell_bits is not None and bit_probs is not None:
            cost = cost + torch.einsum("cb,cbr->r", bit_probs.to(q.dtype), self.cell_bits.to(dev))
        return cost

    def derived_cells(self, probs: Tensor) -> list[list[tuple[str, int]]]:
        """Per cell, per node the kept ``(op, predecessor)``: the best non-zero (edge, op) of the node."""
        q = self.node_weights(probs.detach()).cpu()
        out = []
        for rows in self.cell_nodes:
            nodes = []
            for node_rows in rows:
                sub = q[node_rows]  # (j, K): edges x0..x_{j-1} -> x_j
                i, k = divmod(int(sub.reshape(-1).argmax()), sub.shape[1])
                nodes.append((OPS[k], i))
            out.append(nodes)
        return out

    def derived(self, probs: Tensor, bit_probs: Tensor | None = None) -> Tensor:
        """(R',) cost of the derived network: per node the best non-zero (edge, op), per cell the best bits.

        With a real cost table this is ``CostTable.predict`` of that network (exact to the table).
        """
        cells, bits = self.derived_cells(probs), self.derived_bits(bit_probs)
        if hasattr(self.table, "predict"):
            pred = self.table.predict(cells, bits)
            return torch.tensor([pred[r] for r in self.columns], dtype=torch.float64)
        onehot = torch.zeros_like(self.edges[:, :, 0])
        for rows, nodes in zip(self.cell_nodes, cells):
            for node_rows, (op, i) in zip(rows, nodes):
                onehot[node_rows[i], OPS.index(op)] = 1.0
        cost = self.base + torch.einsum("ek,ekr->r", onehot, self.edges)
        if bits is not None:
            idx = torch.tensor([self.bits.index(b) for b in bits])
            cost = cost + self.cell_bits[torch.arange(len(bits)), idx].sum(dim=0)
        return cost

    def score(self, cost: Tensor) -> Tensor:
        """Weighted sum of the normalised resources of a (R',) cost vector."""
        weights = self.weights * self.mask if self.ladder is not None else self.weights
        return (weights.to(cost.device) * cost / self.norm.to(cost.device)).sum()

    def loss(self, probs: Tensor, bit_probs: Tensor | None = None) -> Tensor:
        """``lambda * score(expected cost)`` as a float32 scalar (differentiable in both arguments).

        Budget mode pushes only while the derived network is over the limit (last check): under
        it, accuracy alone moves alpha, so the cost settles at the limit rather than below it.
        """
        weight = self.lam if (not self.constrained or self.over) else 0.0
        return (weight * self.score(self.expected(probs, bit_probs))).to(torch.float32)

    def after_step(self, probs: Tensor, bit_probs: Tensor | None = None) -> None:
        """Count an alpha step; every ``update_every`` steps refresh the hardware feedback: log the
        cost and (budget / device-fit mode) move lambda; device fit also re-reads the folding level."""
        self.steps += 1
        if self.steps % self.update_every:
            return
        if self.ladder is not None:
            self.refresh(probs, bit_probs)
            return
        now = float(self.score(self.derived(probs, bit_probs)))
        if self.limit is not None:
            self.over = now > self.limit
            self.lam *= (1.0 + self.rate) if self.over else 1.0 / (1.0 + self.rate)
        self.history.append({"step": self.steps, "derived_cost": now, "lambda": self.lam})

    def derived_bits(self, bit_probs: Tensor | None) -> list[str] | None:
        """Per cell the most likely bits (``None`` without a bit-width search)."""
        if self.cell_bits is None or bit_probs is None:
            return None
        return [self.bits[int(b)] for b in bit_probs.detach().argmax(dim=1).tolist()]

    def refresh(self, probs: Tensor, bit_probs: Tensor | None = None) -> dict[str, Any]:
        """Device fit: the derived network's fit on the ladder; switch to the next level up (at most
        the goal), push only on the resources over the device there, move lambda on the fps gap."""
        fit = self.ladder.fit(self.derived_cells(probs), self.derived_bits(bit_probs))
        self.over = fit["level"] < self.goal
        self.lam *= (1.0 + self.rate) if self.over else 1.0 / (1.0 + self.rate)
        self._use_level(min(fit["level"] + 1, self.goal))
        binding = [1.0 if r in fit["overshoot"] else 0.0 for r in self.columns]
        self.mask = torch.tensor(binding if any(binding) else [1.0] * len(binding), dtype=torch.float64)
        now = float(self.score(self.derived(probs, bit_probs)))
        self.history.append(
            {
                "step": self.steps,
                "derived_cost": now,
                "lambda": self.lam,
                "fit_fps": fit["fps"],
                "fit_level": fit["level"],
                "level_fps": self.ladder.levels[self.level],
                "binding": [r for r, b in zip(self.columns, binding) if b],
            }
        )
        return fit

    def violation(self, cells: list, bits: list[str] | None) -> float:
        """How far a concrete network is from the constraint (0: met).

        Budget mode: the normalised cost above ``limit``. Device fit: at the goal level, the summed
        fraction of each device resource used beyond the usable limit, plus the relative excess of
        the slowest layer's cycles over the level's target.
        """
        if self.ladder is not None:
            table = self.ladder.tables[self.goal]
            pred = table.predict(cells, bits)
            over = sum(self.ladder.overshoot(pred).values())
            return over + max(0.0, pred["max_cycles"] / table.target_cycles - 1.0)
        pred = self.table.predict(cells, bits)
        cost = float(self.score(torch.tensor([pred[r] for r in self.columns], dtype=torch.float64)))
        return max(0.0, cost - float(self.limit))

    def project(
        self,
        cells: list[list[tuple[str, int]]],
        probs: Tensor,
        bits: list[str] | None = None,
        bit_probs: Tensor | None = None,
    ) -> tuple[list[list[tuple[str, int]]], list[str] | None, int]:
        """Budget / device-fit mode's last step: make a derived network that misses the constraint
        meet it (:meth:`violation` 0).

        Greedy: while the cost is over the limit, take one change - another (edge, op) for one
        node, or other bits for one cell: the most likely change that alone meets the limit, or
        else the one losing the least log-probability per unit of cost saved; only ops the table
        allows there (the strategy's rule holds). Returns the cells, the
        bits and the number of changes (0 when already within the limit).
        """
        if not self.constrained or not hasattr(self.table, "predict"):
            return cells, bits, 0
        q = self.node_weights(probs.detach()).cpu()
        logq = torch.log(q.clamp_min(1e-12))
        logb = None if bit_probs is None else torch.log(bit_probs.detach().cpu().clamp_min(1e-12))
        cells = [list(c) for c in cells]
        bits = None if bits is None else list(bits)

        cost = self.violation
        now, changes = cost(cells, bits), 0
        while now > 0:
            # (key, change): a change that alone meets the limit beats every other, the least
            # log-probability lost first; otherwise the least loss per unit of cost saved
            best: tuple[tuple[int, float], Any] | None = None

            def consider(lost: float, saved: float, change: Any, now: float = now) -> None:
                nonlocal best
                key = (0, lost) if now - saved <= 1e-12 else (1, lost / saved)
                if best is None or key < best[0]:
                    best = (key, change)

            for c, rows in enumerate(self.cell_nodes):
                for n, node_rows in enumerate(rows):
                    op, i = cells[c][n]
                    here = float(logq[node_rows[i], OPS.index(op)])
                    for i2, row in enumerate(node_rows):
                        for k2 in range(1, len(OPS)):
                            if (i2, k2) == (i, OPS.index(op)) or q[row, k2] <= 0:
                                continue
                            trial = [list(x) for x in cells]
                            trial[c][n] = (OPS[k2], i2)
                            saved = now - cost(trial, bits)
                            if saved > 0:
                                consider(here - float(logq[row, k2]), saved, ("node", c, n, (OPS[k2], i2)))
                if bits is not None and logb is not None:
                    for b2, tag in enumerate(self.bits):
                        if tag == bits[c]:
                            continue
                        trial_bits = bits[:c] + [tag] + bits[c + 1 :]
                        saved = now - cost(cells, trial_bits)
                        if saved > 0:
                            lost = float(logb[c, self.bits.index(bits[c])] - logb[c, b2])
                            consider(lost, saved, ("bits", c, tag))
            if best is None:  # nothing left that saves cost: the limit cannot be met
                break
            change = best[1]
            if change[0] == "node":
                cells[change[1]][change[2]] = change[3]
            else:
                bits[change[1]] = change[2]
            now, changes = cost(cells, bits), changes + 1
        return cells, bits, changes

    def summary(self, probs: Tensor, bit_probs: Tensor | None = None) -> dict[str, Any]:
        """The ``log.jsonl`` fields: expected and derived cost per resource (normalised) and lambda."""
        exp = self.expected(probs.detach(), None if bit_probs is None else bit_probs.detach())
        der = self.derived(probs, bit_probs)
        fit = {}
        if self.ladder is not None:
            now = self.ladder.fit(self.derived_cells(probs), self.derived_bits(bit_probs))
            fit = {
                "hw_fit_fps": now["fps"],
                "hw_fit_level": now["level"],
                "hw_level_fps": self.ladder.levels[self.level],
            }
        return fit | {
            "hw_lambda": self.lam,
            "hw_expected": float(self.score(exp)),
            "hw_derived": float(self.score(der)),
            "hw_derived_resources": {
                r: float(v / n) for r, v, n in zip(self.columns, der.tolist(), self.norm.tolist())
            },
        }

    def state_dict(self) -> dict[str, Any]:
        """``lambda`` and the step counter (what a resume needs)."""
        return {
            "lambda": self.lam,
            "steps": self.steps,
            "over": self.over,
            "history": list(self.history),
            "level": self.level,
            "mask": self.mask.tolist(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.lam = float(state["lambda"])
        self.steps = int(state["steps"])
        self.over = bool(state.get("over", True))
        self.history = list(state.get("history", []))
        if self.ladder is not None:
            self._use_level(int(state.get("level", self.goal)))
            self.mask = torch.tensor(state.get("mask", [1.0] * len(self.columns)), dtype=torch.float64)
