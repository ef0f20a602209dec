"""``Strategy``: which ops an edge may use during search and how alphas become a genotype.

Derivation (shared by every strategy): a softmax over each edge's *candidate* ops; per node ``j``
keep the predecessor whose best non-zero op has the highest probability, and that op. Ties go to
the lower predecessor, then the lower op index, so derivation is deterministic.

How to add a strategy:
    Subclass ``Strategy``, set ``name`` and ``summary``, override any of ``candidates(edge)``
    (ops searchable on an edge), ``forbidden(edge, op)`` (the hardware rule), ``choose(choices)``
    (pick one ranked ``Choice`` for a node) or ``finalize(genotype)`` (rewrite after derivation),
    and decorate the class with ``@register_strategy``. ``derive`` checks that the result obeys
    ``forbidden`` and is a valid genotype.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, NamedTuple

from nash.errors import GenotypeError
from nash.space.cells import CellSpec, Edge, cell_edges, cell_specs, edge_index
from nash.space.genotype import Genotype
from nash.space.ops import DEFAULT_UNFRIENDLY, OPS, check_ops
from nash.space.registry import create_strategy, list_strategies

__all__ = ["Strategy", "Choice", "is_hardware_friendly", "check_strategy_rule", "softmax"]

Alphas = Sequence[Sequence[Sequence[float]]]
_NOT_UNFRIENDLY = frozenset({"zero", "conv_1x1"})  # v1 rewrites to conv_1x1; zero is never kept


class Choice(NamedTuple):
    """A candidate op on one incoming edge of a node, with its softmax probability."""

    prob: float
    op: str
    edge: Edge

    @property
    def pred(self) -> int:
        """The predecessor node this choice keeps."""
        return self.edge.src


def softmax(values: Sequence[float]) -> list[float]:
    """Numerically stable softmax of a list of floats."""
    top = max(values)
    if top == -math.inf:
        raise GenotypeError(
            "an edge gives probability 0 to every candidate op; pass alphas or probabilities > 0"
        )
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


class Strategy:
    """Plain search: every op on every edge; the rule forbids unfriendly ops on size-changing edges.

    Args:
        unfriendly: ops that are not hardware-friendly on a size-changing edge (stride 2, channels
            x2). Default ``{"max_pool_3x3", "identity"}`` as in the reference code; the paper text
            names only max-pool. May not contain ``zero`` or ``conv_1x1``.
    """

    name: ClassVar[str] = "plain"
    summary: ClassVar[str] = "unfriendly ops are forbidden on size-changing edges"

    def __init__(self, unfriendly: Iterable[str] = DEFAULT_UNFRIENDLY) -> None:
        if isinstance(unfriendly, str):
            unfriendly = [unfriendly]
        self.unfriendly: frozenset[str] = check_ops(unfriendly)
        bad = sorted(self.unfriendly & _NOT_UNFRIENDLY)
        if bad:
            raise GenotypeError(
                f"{bad[0]} cannot be unfriendly (it is the safe fallback); use a subset of "
                f"{', '.join(o for o in OPS if o not in _NOT_UNFRIENDLY)}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(unfriendly={sorted(self.unfriendly)})"

    def candidates(self, edge: Edge) -> tuple[str, ...]:
        """Ops searchable on ``edge`` (in ``OPS`` order)."""
        return OPS

    def forbidden(self, edge: Edge, op: str) -> bool:
        """True when ``op`` on ``edge`` breaks this strategy's hardware rule."""
        return edge.size_changing and op in self.unfriendly

    def choose(self, choices: Sequence[Choice]) -> Choice:
        """Pick the node's (predecessor, op) from choices ranked best first (default: the best)."""
        return choices[0]

    def finalize(self, genotype: Genotype) -> Genotype:
        """Rewrite the derived genotype (default: unchanged)."""
        return genotype

    def violations(self, genotype: Genotype) -> list[str]:
        """One message per kept edge whose op breaks this strategy's rule; ``[]`` when fine."""
        out = []
        for cell in genotype.chosen_edges():
            for edge, op in cell:
                if self.forbidden(edge, op):
                    kind = "size-changing edge" if edge.size_changing else "edge"
                    out.append(
                        f"cell {edge.cell} node {edge.dst}: {op} on {kind} x{edge.src}->x{edge.dst} "
                        f"(strategy {genotype.strategy}: {self.summary})"
                    )
        return out

    def derive(
        self, backbone: str, alphas: Alphas, cell_layers: int | None = None, *, probabilities: bool = False
    ) -> Genotype:
        """Turn architecture weights into a validated genotype that obeys this strategy's rule.

        Args:
            backbone: registered backbone name.
            alphas: ``alphas[c][e][k]``: cell c, edge e (``cell_edges`` order), op k (``OPS`` order).
                Ops that are not candidates of an edge are ignored.
            cell_layers: layers per cell (``None`` = backbone default).
            probabilities: ``alphas`` already are softmax probabilities (>= 0); they are
                renormalised over each edge's candidates, which gives the same genotype as the
                raw alphas they came from.

        Raises:
            GenotypeError: the alpha shape does not match the backbone, or a value is not finite.
        """
        specs = cell_specs(backbone, cell_layers)
        _check_alphas(alphas, specs, backbone)
        if probabilities:
            alphas = _log_probs(alphas)
        cells = [self._derive_cell(spec, alphas[spec.index]) for spec in specs]
        meta: dict[str, Any] = {"derived_by": self.name, "unfriendly": sorted(self.unfriendly)}
        genotype = self.finalize(Genotype(backbone, self.name, cells, cell_layers, meta)).validate()
        broken = self.violations(genotype)
        if broken:  # a bug in a strategy subclass, not user input
            raise GenotypeError(f"strategy {self.name} derived a genotype that breaks its rule: {broken[0]}")
        return genotype

    def ranked_choices(
        self, spec: CellSpec, cell_alphas: Sequence[Sequence[float]], dst: int
    ) -> list[Choice]:
        """All non-zero (predecessor, op) choices of node ``dst``, best first (deterministic ties)."""
        choices = []
        for edge in cell_edges(spec)[edge_index(0, dst) : edge_index(0, dst) + dst]:
            ops = self.candidates(edge)
            row = cell_alphas[edge_index(edge.src, dst)]
            probs = softmax([float(row[OPS.index(op)]) for op in ops])
            choices += [Choice(p, op, edge) for p, op in zip(probs, ops, strict=True) if op != "zero"]
        return sorted(choices, key=lambda c: (-c.prob, c.pred, OPS.index(c.op)))

    def _derive_cell(
        self, spec: CellSpec, cell_alphas: Sequence[Sequence[float]]
    ) -> tuple[tuple[str, int], ...]:
        nodes = []
        for dst in range(1, spec.n_nodes + 1):
            best = self.choose(self.ranked_choices(spec, cell_alphas, dst))
            nodes.append((best.op, best.pred))
        return tuple(nodes)


def _check_alphas(alphas: Alphas, specs: Sequence[CellSpec], backbone: str) -> None:
    shape = " | ".join(
        f"{n_edges}x{len(OPS)}" for n_edges in (s.n_layers * (s.n_layers + 1) // 2 for s in specs)
    )
    hint = f"{backbone} needs {len(specs)} cells of edges x ops: {shape}"
    if not hasattr(alphas, "__len__") or isinstance(alphas, str | bytes):
        raise GenotypeError(
            f"alphas must be nested sequences (cells x edges x ops), got {type(alphas).__name__}"
        )
    if len(alphas) != len(specs):
        raise GenotypeError(f"alphas have {len(alphas)} cells; {hint}")
    for spec in specs:
        rows = alphas[spec.index]
        if len(rows) != len(cell_edges(spec)) or any(len(r) != len(OPS) for r in rows):
            raise GenotypeError(f"alphas of cell {spec.index} have the wrong shape; {hint}")
        if not all(math.isfinite(float(v)) for r in rows for v in r):
            raise GenotypeError(
                f"alphas of cell {spec.index} contain NaN or inf; the search diverged, "
                "lower the architecture learning rate or resume from an earlier checkpoint"
            )


def _log_probs(probs: Alphas) -> list[list[list[float]]]:
    # softmax(log p) over a subset of ops = p renormalised over that subset
    if any(float(v) < 0 for cell in probs for row in cell for v in row):
        raise GenotypeError("probabilities must be >= 0; pass raw alphas with probabilities=False")
    return [
        [[math.log(float(v)) if float(v) > 0 else -math.inf for v in row] for row in cell] for cell in probs
    ]


def is_hardware_friendly(genotype: Genotype, unfriendly: Iterable[str] = DEFAULT_UNFRIENDLY) -> list[str]:
    """Violations of the genotype's own strategy rule; ``[]`` means no concat layer is needed.

    ``custom`` (and any unregistered strategy) is checked with the generic rule: no unfriendly op
    on a size-changing edge. v4 forbids the unfriendly ops on every edge.

    Example:
        >>> g = Genotype("resnet18", "v3", [[("conv_3x3", 0)] * 4] * 4)
        >>> is_hardware_friendly(g)
        []
    """
    if genotype.strategy in list_strategies():
        return create_strategy(genotype.strategy, unfriendly=unfriendly).violations(genotype)
    return Strategy(unfriendly=unfriendly).violations(genotype)


def check_strategy_rule(genotype: Genotype, strategy: str | None = None) -> None:
    """Refuse a genotype that breaks the hardware rule of ``strategy`` (default: its own).

    A ``custom`` genotype has no rule of its own and passes unless ``strategy`` names one.

    Raises:
        GenotypeError: one line naming the first violation and the fix.
    """
    name = genotype.strategy if strategy is None else strategy
    if name not in list_strategies():
        return
    kwargs: dict[str, Any] = {}
    if genotype.meta.get("derivation") == "reference" and name == genotype.strategy:
        # the authors' parsers obey their own rule (v1: only max-pool is replaced), recorded in meta
        kwargs["unfriendly"] = genotype.meta.get("unfriendly") or DEFAULT_UNFRIENDLY
    broken = create_strategy(name, **kwargs).violations(genotype)
    if broken:
        more = f" (+{len(broken) - 1} more)" if len(broken) > 1 else ""
        raise GenotypeError(
            f"genotype breaks the {name} rule: {broken[0]}{more}; derive it again with "
            f"`nash search --strategy {name}` or change that op (`nash genotype check` lists all)"
        )
