"""Derivation modes: how final alphas become a genotype (``derivation: default | reference``).

``default`` is :meth:`Strategy.derive` (softmax over each edge's candidates, ranking over the
non-zero ops, the strategy's rule). ``reference`` re-implements, rule by rule, the parsers of the
authors' code (public repository MFJI/NASH, ``genotype()`` of each Version's ``model_search.py``)
so that a search can be reproduced exactly. What the authors' parsers do, in our words:

* The softmax runs over *every* primitive of the version on every edge, ``zero`` included
  (v1..v3: all six ops; v4: its primitive list has no max-pool and no identity, so four ops).
* ``plain`` parse (every cell of v1 and v4, the non-downsampling cells of v2 and v3): rank the
  predecessors of node j by their best non-zero probability, keep the first (ties: lower node),
  and its best non-zero op (ties: lower op index).
* v1 parses plainly; the paper then replaces max-pool on a size-changing edge by ``conv_1x1``
  (only max-pool: identity stays, as a factorised reduction). The authors' ``model.py`` builds
  whatever the genotype names, so this replacement is the paper's rule applied here.
* v2 searches every op and masks only at derivation: in a downsampling cell the predecessor is
  ranked over all non-zero ops, and when it is x0 the op is the best one that is neither zero,
  max-pool nor identity.
* v3 (ResNet18, ``Version3``): in a downsampling cell the ranking includes ``zero`` (the node may
  keep ``zero``); a forbidden choice on x0 (max-pool or identity) has its probability set to 0
  and the node is ranked again; if that again lands on a forbidden op of x0, the probability is
  set to 0 once more and the op is re-chosen - but on the predecessor list of the *first* ranking
  (``v3_fallback_bug``), not the new one. With ``v3_fallback_bug=False`` the third ranking is used.
  ResNet34 (``resent34/NASH``) ranks without ``zero`` and uses the third ranking; that is what
  ``reference`` does for any backbone but resnet18.

A genotype derived this way records ``meta.derivation = "reference"`` and the unfriendly set of
the rule it satisfies (v1: max-pool only); such a genotype may keep ``zero`` as a node's op (the
node then has no NAS edge), which a ``default`` genotype never does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from nash.errors import GenotypeError
from nash.space.cells import cell_specs, edge_index
from nash.space.genotype import Genotype
from nash.space.ops import OPS
from nash.space.registry import create_strategy

__all__ = [
    "DERIVATIONS",
    "REFERENCE_DERIVATION",
    "reference_primitives",
    "reference_candidates",
    "reference_unfriendly",
    "derive_genotype",
    "derive_reference",
]

DERIVATIONS = ("default", "reference")
REFERENCE_DERIVATION = "reference"
_MASKED = ("max_pool_3x3", "identity")  # what Version2/3 keep off x0 of a downsampling cell
_ZERO = "zero"


def reference_primitives(strategy: str) -> tuple[str, ...]:
    """The ops of the authors' search for ``strategy`` (OPS order): v4 lacks max-pool and identity."""
    if strategy == "v4":
        return tuple(op for op in OPS if op not in _MASKED)
    return OPS


def reference_candidates(strategy: str):
    """``candidates(edge)`` of the authors' search: the version's primitives on every edge."""
    prims = reference_primitives(strategy)
    return lambda edge: prims


def reference_unfriendly(strategy: str) -> frozenset[str]:
    """The unfriendly set whose rule a reference-derived genotype obeys (v1: max-pool only)."""
    return frozenset({"max_pool_3x3"}) if strategy == "v1" else frozenset(_MASKED)


def _softmax(values: Sequence[float]) -> list[float]:
    top = max(values)
    if top == -math.inf:
        raise GenotypeError("an edge gives probability 0 to every op; pass alphas or probabilities > 0")
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def _edge_probs(
    rows: Sequence[Sequence[float]], prims: Sequence[str], probabilities: bool
) -> list[dict[str, float]]:
    cols = [OPS.index(op) for op in prims]
    out = []
    for row in rows:
        vals = [float(row[c]) for c in cols]
        if probabilities:
            if any(v < 0 for v in vals):
                raise GenotypeError("probabilities must be >= 0; pass raw alphas with probabilities=False")
            total = sum(vals)
            if total <= 0:
                raise GenotypeError(
                    "an edge gives probability 0 to every op; pass alphas or probabilities > 0"
                )
            vals = [v / total for v in vals]
        else:
            vals = _softmax(vals)
        out.append(dict(zip(prims, vals, strict=True)))
    return out


def _best_pred(node_probs: list[dict[str, float]], skip_zero: bool) -> int:
    # first of the predecessors sorted by their best probability (stable sort: lower node on ties)
    def best(i: int) -> float:
        return max(p for op, p in node_probs[i].items() if not (skip_zero and op == _ZERO))

    return sorted(range(len(node_probs)), key=lambda i: -best(i))[0]


def _best_op(probs: dict[str, float], exclude: Sequence[str] = ()) -> str:
    # first maximum in primitive order (strict > keeps the earlier op on ties)
    choice = None
    for op, p in probs.items():
        if op in exclude:
            continue
        if choice is None or p > probs[choice]:
            choice = op
    assert choice is not None
    return choice


def _parse_plain(node_probs: list[dict[str, float]]) -> tuple[str, int]:
    i = _best_pred(node_probs, skip_zero=True)
    return _best_op(node_probs[i], (_ZERO,)), i


def _parse_v2(node_probs: list[dict[str, float]]) -> tuple[str, int]:
    i = _best_pred(node_probs, skip_zero=True)
    if i == 0:
        return _best_op(node_probs[0], (_ZERO, *_MASKED)), 0
    return _best_op(node_probs[i], (_ZERO,)), i


def _parse_v3(node_probs: list[dict[str, float]], rank_zero: bool, fallback_bug: bool) -> tuple[str, int]:
    skip = () if rank_zero else (_ZERO,)
    i = _best_pred(node_probs, skip_zero=not rank_zero)
    op = _best_op(node_probs[i], skip)
    if not (i == 0 and op in _MASKED):
        return op, i
    w1 = [dict(p) for p in node_probs]
    w1[0][op] = 0.0
    f = _best_pred(w1, skip_zero=not rank_zero)
    op1 = _best_op(w1[f], skip)
    if not (f == 0 and op1 in _MASKED):
        return op1, f
    w2 = [dict(p) for p in w1]
    w2[0][op1] = 0.0
    q = i if fallback_bug else _best_pred(w2, skip_zero=not rank_zero)
    return _best_op(w2[q], skip), q


def derive_reference(
    strategy: str,
    backbone: str,
    alphas: Any,
    cell_layers: int | None = None,
    *,
    probabilities: bool = False,
    v3_fallback_bug: bool = True,
) -> Genotype:
    """The genotype the authors' parser of ``strategy`` gives for ``alphas`` (see module doc).

    Args:
        strategy: ``v1``..``v4``.
        backbone, cell_layers: as :meth:`Strategy.derive`.
        alphas: ``alphas[c][e][k]`` raw alphas (or probabilities with ``probabilities=True``),
            columns in ``OPS`` order; columns outside the version's primitives are ignored.
        v3_fallback_bug: v3's second fallback re-uses the first ranking's predecessor (the
            ResNet18 code's behaviour); False uses the new ranking. The ResNet34 code has no such
            bug, so the flag only acts on resnet18.

    Raises:
        GenotypeError: unknown strategy, wrong alpha shape, non-finite values.
    """
    from nash.space.strategy import _check_alphas

    if strategy not in ("v1", "v2", "v3", "v4"):
        raise GenotypeError(f"derivation reference knows v1..v4, not {strategy!r}")
    specs = cell_specs(backbone, cell_layers)
    _check_alphas(alphas, specs, backbone)
    prims = reference_primitives(strategy)
    rank_zero = backbone == "resnet18"  # Version3 ranks zero too; resent34 does not
    cells, replaced = [], []
    for spec in specs:
        probs = _edge_probs(alphas[spec.index], prims, probabilities)
        nodes = []
        for dst in range(1, spec.n_nodes + 1):
            start = edge_index(0, dst)
            node_probs = probs[start : start + dst]
            if strategy == "v2" and spec.downsample:
                op, pred = _parse_v2(node_probs)
            elif strategy == "v3" and spec.downsample:
                op, pred = _parse_v3(node_probs, rank_zero, v3_fallback_bug and rank_zero)
            else:
                op, pred = _parse_plain(node_probs)
            if strategy == "v1" and spec.downsample and pred == 0 and op == "max_pool_3x3":
                replaced.append([spec.index, dst, op, "conv_1x1"])
                op = "conv_1x1"
            nodes.append((op, pred))
        cells.append(tuple(nodes))
    meta: dict[str, Any] = {
        "derived_by": strategy,
        "derivation": REFERENCE_DERIVATION,
        "unfriendly": sorted(reference_unfriendly(strategy)),
    }
    if strategy == "v1":
        meta["replaced"] = replaced
    if strategy == "v3":
        meta["v3_fallback_bug"] = bool(v3_fallback_bug)
    genotype = Genotype(backbone, strategy, cells, cell_layers, meta).validate()
    broken = create_strategy(strategy, unfriendly=reference_unfriendly(strategy)).violations(genotype)
    if broken:  # cannot happen: every parser above keeps the rule
        raise GenotypeError(f"reference derivation broke the {strategy} rule: {broken[0]}")
    return genotype


def derive_genotype(
    strategy: Any,
    backbone: str,
    alphas: Any,
    cell_layers: int | None = None,
    *,
    derivation: str = "default",
    probabilities: bool = False,
    v3_fallback_bug: bool = True,
) -> Genotype:
    """Derive with ``derivation`` (``default``: ``strategy.derive``; ``reference``: the authors' parsers).

    ``strategy`` is a :class:`Strategy` instance (or a name for ``reference``).
    """
    if derivation not in DERIVATIONS:
        raise GenotypeError(f"derivation {derivation!r} is not one of {', '.join(DERIVATIONS)}")
    if derivation == REFERENCE_DERIVATION:
        name = strategy if isinstance(strategy, str) else strategy.name
        return derive_reference(
            name, backbone, alphas, cell_layers, probabilities=probabilities, v3_fallback_bug=v3_fallback_bug
        )
    return strategy.derive(backbone, alphas, cell_layers, probabilities=probabilities)
