"""The hardware term of the co-search (nash.search.hw_objective) and the per-cell bit-width choice.

These use a hand-made cost table (numbers chosen so every expectation is computable by hand);
tests/search/test_hw_search.py runs the search on a table built from nash.hw.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nash.config.search import SearchConfig, parse_bit_candidates, parse_objective
from nash.errors import ConfigError
from nash.search import SearchRun
from nash.search.bit_choice import quantize_act, quantize_weight
from nash.search.hw_objective import HwObjective
from nash.space import OPS, cell_edges, cell_specs

RES = ("lut", "bram18", "latency_cycles")
CELLS = cell_specs("resnet18")  # 4 cells x 10 edges
N_EDGES = sum(len(cell_edges(s)) for s in CELLS)


def _table(bits=("w2a2", "w4a4")):
    """Edge cost = (1 + op column) LUT and (op column) BRAM, cell bits cost = width x cell index."""
    k = np.arange(len(OPS), dtype=float)
    edges = np.zeros((N_EDGES, len(OPS), len(RES)))
    edges[:, :, 0] = 1 + k
    edges[:, :, 1] = k
    edges[:, 0, :] = 0  # zero op
    widths = np.array([int(b[1]) for b in bits], dtype=float)
    cell_bits = np.zeros((len(CELLS), len(bits), len(RES)))
    cell_bits[:, :, 0] = np.outer(np.arange(len(CELLS)), widths - widths[0])
    return SimpleNamespace(
        resources=RES, base=np.array([100.0, 10.0, 1000.0]), edges=edges, bits=tuple(bits),
        cell_bits=cell_bits, original=np.array([200.0, 20.0, 2000.0]), device_budget=None,
    )  # fmt: skip


def test_parsers():
    assert parse_objective("lut+bram") == {"lut": 1.0, "bram18": 1.0}
    assert parse_objective("lut:2,latency:0.5") == {"lut": 2.0, "latency_cycles": 0.5}
    assert parse_bit_candidates("1,2,w4a8") == ((1, 1), (2, 2), (4, 8))
    for bad in ("power", "lut:-1", ""):
        with pytest.raises(ConfigError, match="hw_objective"):
            parse_objective(bad)
    with pytest.raises(ConfigError, match="bits_candidates"):
        parse_bit_candidates("2,2")
    with pytest.raises(ConfigError, match="bits_candidates"):
        parse_bit_candidates("9")
    with pytest.raises(ConfigError, match="hw_objective"):
        SearchConfig(hw_weight=0.5)  # a weight without an objective
    with pytest.raises(ConfigError, match="hw_device"):
        SearchConfig(hw_objective="lut", hw_norm="device")


def test_expected_cost_by_hand():
    hw = HwObjective(_table(), CELLS, {"lut": 1.0}, weight=1.0)
    probs = torch.zeros(N_EDGES, len(OPS))
    probs[:] = 1.0 / len(OPS)  # uniform: each node's non-zero (edge, op) pairs equally likely
    exp = hw.expected(probs)
    # per node: mean over non-zero ops of (1 + k) = mean(2..6) = 4; 16 nodes
    assert exp[0].item() == pytest.approx(100 + 16 * 4)
    # derived: argmax ties -> first edge, first non-zero op (max_pool, column 1): LUT 2 per node
    assert hw.derived(probs)[0].item() == pytest.approx(100 + 16 * 2)
    assert hw.score(hw.expected(probs)).item() == pytest.approx((100 + 64) / 200)
    # a node whose incoming edges favour conv_5x5 on one edge
    probs2 = probs.clone()
    probs2[0] = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 1.0])  # edge 0 = x0 -> x1 of cell 0
    assert hw.derived(probs2)[0].item() == pytest.approx(100 + 6 + 15 * 2)


def test_bits_term_and_gradient_prefers_cheap_choices():
    table = _table()
    hw = HwObjective(table, CELLS, {"lut": 1.0}, weight=1.0, bits=("w2a2", "w4a4"))
    alpha = torch.zeros(N_EDGES, len(OPS), requires_grad=True)
    beta = torch.zeros(len(CELLS), 2, requires_grad=True)
    loss = hw.loss(torch.softmax(alpha, -1), torch.softmax(beta, -1))
    # cell bits: cell c at w4a4 costs 2c more LUT; uniform beta -> + sum_c 2c / 2 = 6
    expected_lut = 100 + 16 * 4 + 6
    assert loss.item() == pytest.approx(expected_lut / 200, rel=1e-6)
    loss.backward()
    assert (alpha.grad[:, 5] > alpha.grad[:, 1]).all()  # pushing conv_5x5 down more than max-pool
    assert (beta.grad[1:, 1] > 0).all() and (beta.grad[0] == 0).all()  # w4a4 costs more (not in cell 0)


def test_budget_mode_moves_lambda_towards_limit():
    hw = HwObjective(_table(), CELLS, {"lut": 1.0}, weight=0.1, limit=0.5, rate=0.5, update_every=2)
    probs = torch.full((N_EDGES, len(OPS)), 1.0 / len(OPS))
    for _ in range(4):
        hw.after_step(probs)
    assert hw.lam == pytest.approx(0.1 * 1.5**2)  # derived 132/200 = 0.66 > 0.5: raised twice
    assert [h["step"] for h in hw.history] == [2, 4]
    hw2 = HwObjective(_table(), CELLS, {"lut": 1.0}, weight=0.1, limit=0.9, rate=0.5, update_every=1)
    hw2.after_step(probs)
    assert hw2.lam == pytest.approx(0.1 / 1.5)  # under the limit: lowered


def test_table_shape_mismatch_is_one_line():
    t = _table()
    t.edges = t.edges[:10]
    with pytest.raises(ConfigError, match="same backbone and cell_layers"):
        HwObjective(t, CELLS, {"lut": 1.0}, weight=1.0)


def test_fake_quantisers():
    w = torch.tensor([[0.6, -1.0, 0.25, 0.0]])
    assert torch.equal(quantize_weight(w, 2), torch.tensor([[1.0, -1.0, 0.0, 0.0]]))  # levels -1, 0, 1
    assert torch.allclose(quantize_weight(w, 1), torch.tensor([[1.0, -1.0, 1.0, 0.0]]) * 0.4625)
    clip = torch.tensor(3.0, requires_grad=True)
    x = torch.tensor([-1.0, 0.4, 1.2, 5.0])
    q = quantize_act(x, 2, clip, signed=False)  # levels 0, 1, 2, 3
    assert torch.allclose(q, torch.tensor([0.0, 0.0, 1.0, 3.0]), atol=1e-3)
    q.sum().backward()
    assert clip.grad.item() == pytest.approx(1.0)  # only the clipped element reaches the clip


def _cfg(fmnist_dir, **kw) -> SearchConfig:
    base = dict(dataset="fashion-mnist", data_root=str(fmnist_dir), train_subset=256, batch_size=16, width=4,
                stem="small", steps_per_epoch=3, epochs=1, seed=0, device="cpu", strategy="v3")  # fmt: skip
    return SearchConfig(**(base | kw))


def _alpha_after(cfg, table=None):
    run = SearchRun(cfg, table)
    run.run_epoch(progress=False)
    return run


def test_lambda_zero_and_one_width_reproduce_the_plain_search(fmnist_dir):
    plain = _alpha_after(_cfg(fmnist_dir))
    hw0 = _alpha_after(_cfg(fmnist_dir, hw_objective="lut+bram18", bits_candidates=("w2a2",)), _table())
    assert torch.equal(plain.net.alpha, hw0.net.alpha)
    assert hw0.net.beta is None
    g_plain, g_hw = plain.derive(), hw0.derive()
    assert g_plain.cells == g_hw.cells and g_hw.bits == ((2, 2),) * 4


def test_hw_weight_moves_alpha_and_bit_search_records_bits(fmnist_dir):
    plain = _alpha_after(_cfg(fmnist_dir))
    heavy = _alpha_after(_cfg(fmnist_dir, hw_objective="lut", hw_weight=50.0), _table())
    assert not torch.equal(plain.net.alpha, heavy.net.alpha)
    # the hardware gradient reaches every non-masked op; cheap max-pool gains on normal edges
    moved = (heavy.net.alpha - plain.net.alpha).detach()
    normal = heavy.net.mask[:, 1]
    assert (moved[normal, 1] > moved[normal, 5]).all()
    bits = _alpha_after(
        _cfg(fmnist_dir, hw_objective="lut", hw_weight=50.0, bits_candidates=(2, 4)), _table()
    )
    assert bits.net.beta is not None and bits.net.beta.abs().sum() > 0
    beta_p = bits.net.bit_probabilities()
    assert (beta_p[1:, 0] > beta_p[1:, 1]).all()  # the table makes w4a4 dearer in cells 1..3
    genotype = bits.derive()
    assert genotype.bits[1:] == ((2, 2),) * 3
    assert genotype.meta["hw"]["objective"] == "lut" and "final_bit_probs" in genotype.meta
    again = dataclasses.replace(genotype)
    assert again.bits == genotype.bits


def _real_table():
    """A cost table built by nash.hw (ResNet18, v3, 3x32x32, width 4, 3000 fps, bits 1/2/4) and
    committed, so the search's tests need no 5-minute build (tests/hw/test_cost_table.py builds)."""
    from pathlib import Path

    from nash.hw.cost_table import CostTable

    return CostTable.load(Path(__file__).parent / "data" / "cost_table_r18_w4_32px.json")


def test_torch_expected_cost_equals_the_table_reference():
    table = _real_table()
    hw = HwObjective(table, CELLS, {r: 1.0 for r in table.resources}, weight=1.0, bits=table.bits)
    gen = torch.Generator().manual_seed(0)
    mask = torch.tensor(table.allowed)
    mask[:, 0] = True  # zero is a candidate everywhere
    for _ in range(3):
        logits = torch.randn(N_EDGES, len(OPS), generator=gen) * 2
        probs = torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)
        bit_probs = torch.softmax(torch.randn(len(CELLS), len(table.bits), generator=gen), dim=-1)
        want = table.expected(hw.node_weights(probs).numpy(), bit_probs.numpy())
        got = hw.expected(probs, bit_probs)
        assert np.allclose(got.numpy(), want, rtol=1e-9)
        # the derived (argmax) network's cost is the table's prediction of that network
        cells = hw.derived_cells(probs)
        bits = [table.bits[int(b)] for b in bit_probs.argmax(dim=1)]
        pred = table.predict(cells, bits)
        assert hw.derived(probs, bit_probs).tolist() == [pred[r] for r in table.resources]
    # a one-hot distribution: expected == derived
    onehot = torch.zeros(N_EDGES, len(OPS))
    for rows in hw.cell_nodes:
        for node_rows in rows:
            onehot[node_rows[-1], OPS.index("conv_1x1")] = 1.0  # every node: conv_1x1 from x_{j-1}
    assert np.allclose(hw.expected(onehot).numpy(), hw.derived(onehot).numpy())


def test_run_search_with_a_table_file_writes_hw_records(fmnist_dir, tmp_path):
    from nash.io import read_jsonl
    from nash.search import run_search
    from nash.space import Genotype

    path = str(Path(__file__).parent / "data" / "cost_table_r18_w4_32px.json")
    deploy = dict(hw_input="3x32x32", hw_classes=10, hw_width=4, hw_stem="small", hw_target_fps=3000.0)
    cfg = _cfg(fmnist_dir, hw_objective="bram18+lut", hw_limit=1.2, hw_update_every=1, hw_table=path,
               bits_candidates=(1, 2, 4), **deploy)  # fmt: skip
    genotype = run_search(cfg, tmp_path, progress=False)
    assert (tmp_path / "hw_table.json").exists()
    row = read_jsonl(tmp_path / "log.jsonl")[0]
    assert (
        row["hw_lambda"] > 0
        and row["hw_derived"] > 0
        and set(row["hw_derived_resources"]) == {"bram18", "lut"}
    )
    assert len(genotype.meta["hw"]["history"]) == 3  # one lambda update per alpha step
    assert len(genotype.bits) == 4 and Genotype.load(tmp_path / "genotype.json").bits == genotype.bits
    # another deployment than the table's is refused, naming the setting
    other = dataclasses.replace(cfg, hw_target_fps=1000.0)
    with pytest.raises(Exception, match="target_fps"):
        run_search(other, tmp_path / "other", progress=False)


def test_budget_projection_meets_the_limit_with_the_rule_kept():
    from nash.space import Genotype, check_strategy_rule

    table = _real_table()
    gen = torch.Generator().manual_seed(3)
    mask = torch.tensor(table.allowed)
    mask[:, 0] = True
    probs = torch.softmax(torch.randn(N_EDGES, len(OPS), generator=gen).masked_fill(~mask, float("-inf")), -1)
    free = HwObjective(table, CELLS, {"bram18": 1.0}, weight=1.0)
    cells = free.derived_cells(probs)
    start = float(free.score(free.derived(probs)))
    limit = start * 0.9
    hw = HwObjective(table, CELLS, {"bram18": 1.0}, weight=1.0, limit=limit)
    new, _, changes = hw.project(cells, probs)
    pred = table.predict(new)
    assert changes > 0 and pred["bram18"] / table.original[table.resources.index("bram18")] <= limit
    check_strategy_rule(Genotype("resnet18", "v3", new).validate())
    # already within the limit: unchanged
    same, _, none = HwObjective(table, CELLS, {"bram18": 1.0}, weight=1.0, limit=start * 1.01).project(
        cells, probs
    )
    assert none == 0 and same == cells
