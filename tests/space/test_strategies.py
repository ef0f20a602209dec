"""Strategies v1..v4 on hand-made alphas, candidate sets, the registry and a hypothesis property."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nash.errors import GenotypeError
from nash.space import (
    OPS,
    Edge,
    Genotype,
    Strategy,
    cell_edges,
    cell_specs,
    create_strategy,
    edge_index,
    get_strategy,
    is_hardware_friendly,
    list_strategies,
    register_strategy,
    softmax,
)
from nash.space import registry as registry_module

MP, ID, C1, C3, C5 = (OPS.index(o) for o in ("max_pool_3x3", "identity", "conv_1x1", "conv_3x3", "conv_5x5"))
PAPER = {"max_pool_3x3"}


def zeros(backbone="resnet18", cell_layers=None):
    return [[[0.0] * len(OPS) for _ in cell_edges(s)] for s in cell_specs(backbone, cell_layers)]


def test_registry_lists_the_four_versions():
    assert list_strategies() == ["v1", "v2", "v3", "v4"]
    assert list_strategies("3") == ["v3"]
    assert get_strategy("v2").unfriendly == {"max_pool_3x3", "identity"}
    assert create_strategy("v2", unfriendly=PAPER).unfriendly == {"max_pool_3x3"}
    with pytest.raises(GenotypeError, match="unknown strategy 'v5'; valid strategies: v1, v2, v3, v4"):
        get_strategy("v5")


def test_registering_twice_warns(monkeypatch):
    monkeypatch.setattr(registry_module, "_STRATEGIES", dict(registry_module._STRATEGIES))

    class Again(Strategy):
        name = "v4"

    with pytest.warns(UserWarning, match="strategy 'v4' registered twice"):
        register_strategy(Again)
    assert isinstance(get_strategy("v4"), Again)


@pytest.mark.parametrize("bad", [{"conv_1x1"}, {"zero", "identity"}, {"conv_9x9"}])
def test_bad_unfriendly_sets(bad):
    with pytest.raises(GenotypeError):
        create_strategy("v3", unfriendly=bad)


def test_all_zero_alphas_give_the_tie_break_genotypes():
    # uniform probabilities: ties go to predecessor x0 and the lowest op index that is allowed.
    cell0 = (("max_pool_3x3", 0),) * 4
    friendly = (("conv_1x1", 0),) * 4
    assert get_strategy("v3").derive("resnet18", zeros()).cells == (cell0,) + (friendly,) * 3
    assert get_strategy("v1").derive("resnet18", zeros()).cells == (cell0,) + (friendly,) * 3
    # v2: x0 edges of downsample cells have 4 candidates (p = 1/4) vs 6 elsewhere (1/6)
    assert get_strategy("v2").derive("resnet18", zeros()).cells == (cell0,) + (friendly,) * 3
    assert get_strategy("v4").derive("resnet18", zeros()).cells == (friendly,) * 4


def one_node_case():
    """Cell 1 (downsample), node 2: x0->x2 max-pool 5, conv_3x3 2; x1->x2 conv_5x5 1.5."""
    alphas = zeros()
    alphas[1][edge_index(0, 2)][MP] = 5.0
    alphas[1][edge_index(0, 2)][C3] = 2.0
    alphas[1][edge_index(1, 2)][C5] = 1.5
    return alphas


def test_expected_probabilities_of_the_one_node_case():
    e5, e2, e15 = math.exp(5), math.exp(2), math.exp(1.5)
    p = softmax([0, 5, 0, 0, 2, 0])
    assert p[MP] == pytest.approx(e5 / (e5 + e2 + 4)) == pytest.approx(0.9287, abs=1e-4)
    assert p[C3] == pytest.approx(0.0462, abs=1e-4)
    assert softmax([0, 0, 2, 0])[2] == pytest.approx(e2 / (e2 + 3)) == pytest.approx(0.7112, abs=1e-4)
    assert (
        softmax([0, 0, 0, 0, 0, 1.5])[5] == pytest.approx(e15 / (e15 + 5)) == pytest.approx(0.4727, abs=1e-4)
    )
    assert softmax([0, 0, 0, 1.5])[3] == pytest.approx(0.5990, abs=1e-4)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("v1", ("conv_1x1", 0)),  # plain picks max_pool(x0) (0.9287) -> replaced by conv_1x1
        ("v2", ("conv_3x3", 0)),  # x0 candidates {zero,c1,c3,c5}: conv_3x3 0.711 > conv_5x5(x1) 0.473
        (
            "v3",
            ("conv_5x5", 1),
        ),  # max_pool(x0) forbidden -> next best conv_5x5(x1) 0.473 > conv_3x3(x0) 0.046
        ("v4", ("conv_3x3", 0)),  # 4 candidates everywhere: conv_3x3(x0) 0.711 > conv_5x5(x1) 0.599
    ],
)
def test_each_strategy_on_hand_made_alphas(name, expected):
    g = get_strategy(name).derive("resnet18", one_node_case())
    assert g.cells[1][1] == expected
    assert g.cells[1][0] == ("conv_1x1", 0) and g.cells[1][2:] == (("conv_1x1", 0),) * 2
    assert g.strategy == name and g.meta["derived_by"] == name
    assert is_hardware_friendly(g) == []


def test_v1_records_its_replacements():
    g = get_strategy("v1").derive("resnet18", one_node_case())
    assert g.meta["replaced"][:2] == [[1, 1, "max_pool_3x3", "conv_1x1"], [1, 2, "max_pool_3x3", "conv_1x1"]]
    assert len(g.meta["replaced"]) == 12  # every node of the 3 downsample cells tied on max_pool(x0)


def test_identity_is_unfriendly_only_under_the_reference_set():
    alphas = zeros()
    alphas[1][edge_index(0, 1)][ID] = 3.0  # node 1 of cell 1 has only the size-changing edge x0->x1
    assert create_strategy("v3", unfriendly=PAPER).derive("resnet18", alphas).cells[1][0] == ("identity", 0)
    assert get_strategy("v3").derive("resnet18", alphas).cells[1][0] == ("conv_1x1", 0)
    assert get_strategy("v1").derive("resnet18", alphas).cells[1][0] == ("conv_1x1", 0)
    # identity on a non-size-changing edge stays, except in v4
    alphas[0][edge_index(0, 1)][ID] = 3.0
    assert get_strategy("v2").derive("resnet18", alphas).cells[0][0] == ("identity", 0)
    assert get_strategy("v4").derive("resnet18", alphas).cells[0][0] == ("conv_1x1", 0)
    assert create_strategy("v4", unfriendly=PAPER).derive("resnet18", alphas).cells[0][0] == ("identity", 0)


@pytest.mark.parametrize("name", list_strategies())
def test_probabilities_give_the_same_genotype_as_alphas(name):
    alphas = random_alphas(7, 0.3, 3.0)
    probs = [[softmax(row) for row in cell] for cell in alphas]
    probs[1][0] = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]  # a masked/saturated edge: max-pool only
    alphas[1][0] = [-math.inf if p == 0 else 0.0 for p in probs[1][0]]
    strategy = get_strategy(name)
    if name in ("v2", "v4"):  # max-pool is not a candidate there: every candidate has probability 0
        with pytest.raises(GenotypeError, match="probability 0 to every candidate op"):
            strategy.derive("resnet18", probs, probabilities=True)
        probs[1][0][C1] = 1e-9
        alphas[1][0][C1] = math.log(1e-9)
    got = strategy.derive("resnet18", probs, probabilities=True)
    finite = [[[max(v, -1e6) for v in row] for row in cell] for cell in alphas]
    assert got.cells == strategy.derive("resnet18", finite).cells
    with pytest.raises(GenotypeError, match="probabilities must be >= 0"):
        strategy.derive("resnet18", [[[-0.1] * 6] * 10] * 4, probabilities=True)


def test_non_candidate_alphas_are_ignored():
    alphas = zeros()
    alphas[2][edge_index(0, 1)][MP] = 50.0
    alphas[2][edge_index(0, 1)][C5] = 1.0
    assert get_strategy("v2").derive("resnet18", alphas).cells[2][0] == ("conv_5x5", 0)
    assert get_strategy("v4").derive("resnet18", alphas).cells[2][0] == ("conv_5x5", 0)


def test_zero_is_never_kept_and_ties_go_to_the_lower_predecessor():
    alphas = zeros()
    for e in range(10):
        alphas[0][e][0] = 9.0  # zero dominates every edge of cell 0
    alphas[0][edge_index(1, 3)][C3] = alphas[0][edge_index(2, 3)][C3] = 1.0
    g = get_strategy("v3").derive("resnet18", alphas)
    assert all(op != "zero" for cell in g.cells for op, _ in cell)
    assert g.cells[0][2] == ("conv_3x3", 1)


@pytest.mark.parametrize("backbone", ["resnet18", "resnet34"])
def test_v2_and_v4_never_offer_unfriendly_ops_where_forbidden(backbone):
    v2, v4 = get_strategy("v2"), get_strategy("v4")
    for spec in cell_specs(backbone):
        for edge in cell_edges(spec):
            if edge.size_changing:
                assert v2.candidates(edge) == ("zero", "conv_1x1", "conv_3x3", "conv_5x5")
            else:
                assert v2.candidates(edge) == OPS
            assert v4.candidates(edge) == ("zero", "conv_1x1", "conv_3x3", "conv_5x5")
    assert create_strategy("v4", unfriendly=PAPER).candidates(Edge(0, 0, 1, False)) == (
        "zero",
        "identity",
        "conv_1x1",
        "conv_3x3",
        "conv_5x5",
    )
    assert get_strategy("v3").candidates(Edge(1, 0, 1, True)) == OPS


@pytest.mark.parametrize("name", list_strategies())
def test_every_strategy_derives_valid_round_trippable_genotypes(name, tmp_path):
    strategy = get_strategy(name)
    assert "conv_1x1" in strategy.candidates(Edge(1, 0, 1, True)) and strategy.summary
    g = strategy.derive("resnet34", zeros("resnet34"))
    assert [len(c) for c in g.cells] == [6, 4, 4, 6, 6, 6]
    assert Genotype.load(g.save(tmp_path / "g.json")) == g
    assert is_hardware_friendly(g) == []


@pytest.mark.parametrize(
    ("alphas", "message"),
    [
        (None, r"alphas must be nested sequences \(cells x edges x ops\), got NoneType"),
        (
            zeros()[:3],
            "alphas have 3 cells; resnet18 needs 4 cells of edges x ops: 10x6 | 10x6 | 10x6 | 10x6",
        ),
        (zeros()[:3] + [zeros()[0][:9]], "alphas of cell 3 have the wrong shape"),
        (zeros()[:3] + [[[0.0] * 5] * 10], "alphas of cell 3 have the wrong shape"),
        (zeros()[:1] + [[[float("nan")] * 6] * 10] + zeros()[2:], "alphas of cell 1 contain NaN or inf"),
    ],
)
def test_bad_alphas(alphas, message):
    with pytest.raises(GenotypeError, match=message.replace("|", r"\|")):
        get_strategy("v3").derive("resnet18", alphas)


def test_violations_are_reported_per_rule():
    cells = [[("identity", 0)] * 4] + [
        [("max_pool_3x3", 0), ("identity", 1), ("conv_1x1", 0), ("conv_3x3", 2)]
    ] * 3
    for name in ("v1", "v2", "v3", "custom"):
        bad = is_hardware_friendly(Genotype("resnet18", name, cells))
        assert len(bad) == 3  # cell 0 does not downsample; one max_pool(x0) in each other cell
        assert bad[0].startswith("cell 1 node 1: max_pool_3x3 on size-changing edge x0->x1")
    v4 = is_hardware_friendly(Genotype("resnet18", "v4", cells))
    assert len(v4) == 4 + 2 * 3 and v4[0].startswith("cell 0 node 1: identity on edge x0->x1")
    assert is_hardware_friendly(Genotype("resnet18", "v3", cells), unfriendly=["identity"]) == []


def random_alphas(seed: int, tie_rate: float, scale: float) -> list:
    """resnet18-shaped alphas; with probability ``tie_rate`` a value is 0 or 1 (exact ties)."""
    rng = random.Random(seed)

    def value() -> float:
        return float(rng.randint(0, 1)) if rng.random() < tie_rate else rng.uniform(-scale, scale)

    return [[[value() for _ in OPS] for _ in range(10)] for _ in range(4)]


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.0, 0.5, 1.0]),
    st.sampled_from([0.1, 3.0, 30.0]),
    st.sampled_from(list_strategies()),
)
def test_derive_on_random_alphas_is_valid_and_friendly(seed, tie_rate, scale, name):
    alphas = random_alphas(seed, tie_rate, scale)
    g = get_strategy(name).derive("resnet18", alphas)
    assert g.validate() is g and g.strategy == name
    assert is_hardware_friendly(g) == []
    assert get_strategy(name).derive("resnet18", alphas) == g  # deterministic
    # with nothing unfriendly every strategy is the plain search; v1 differs from it only by replacements
    plain = create_strategy(name, unfriendly=()).derive("resnet18", alphas)
    assert plain.cells == create_strategy("v3", unfriendly=()).derive("resnet18", alphas).cells
    if name == "v1":
        for (edge, op), (_, plain_op) in zip(
            (x for c in g.chosen_edges() for x in c),
            (x for c in plain.chosen_edges() for x in c),
            strict=True,
        ):
            assert op == plain_op or (
                edge.size_changing and plain_op in get_strategy("v1").unfriendly and op == "conv_1x1"
            )
