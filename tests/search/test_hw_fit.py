"""Device-fit mode of the hardware-aware search: the folding is the fastest that fits the device.

Uses a committed fit ladder built by nash.hw (ResNet18, v3, 3x32x32, width 4, 10 classes, small
stem, bits w1a1/w2a2/w4a4, Pynq-Z1 at 85 %, 5 ns; SetFolding at 1,500 / 3,000 / 6,000 / 12,000 /
24,000 fps), made with::

    nash hw table --input 3x32x32 --classes 10 --width 4 --stem small --bits w2a2 \\
        --bits-candidates 1,2,4 --target-fps 3000 --clock-ns 5 --device Pynq-Z1 \\
        --fit-levels 1500,3000,6000,12000,24000 --workers 2 --out fit_ladder_r18_w4_32px.json

(tests/hw/test_cost_table.py checks ladders against full estimates; here they drive the search).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from nash.config.search import SearchConfig
from nash.errors import ConfigError
from nash.hw.fit_ladder import FitLadder
from nash.search.hw_objective import HwObjective
from nash.space import OPS, Genotype, cell_edges, cell_specs, check_strategy_rule

LADDER = Path(__file__).parent / "data" / "fit_ladder_r18_w4_32px.json"
CELLS = cell_specs("resnet18")
N_EDGES = sum(len(cell_edges(s)) for s in CELLS)
DEPLOY = dict(
    hw_input="3x32x32", hw_classes=10, hw_width=4, hw_stem="small", hw_clock_ns=5.0, hw_device="Pynq-Z1"
)


@pytest.fixture(scope="module")
def ladder() -> FitLadder:
    return FitLadder.load(LADDER)


def _probs(ladder: FitLadder, favour: str, seed: int = 0) -> torch.Tensor:
    """Alpha probabilities with ``favour`` most likely wherever the strategy allows it."""
    table = ladder.tables[0]
    gen = torch.Generator().manual_seed(seed)
    mask = torch.tensor(table.allowed)
    mask[:, 0] = True
    logits = torch.randn(N_EDGES, len(OPS), generator=gen) * 0.1
    logits[:, OPS.index(favour)] += 3.0
    return torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)


def _goal_between(ladder: FitLadder, cheap: int, dear: int) -> float:
    """A goal the cheap network reaches and the dear one does not."""
    assert cheap > dear, (cheap, dear)
    return ladder.levels[dear + 1]


def test_refresh_follows_the_derived_network_and_moves_lambda(ladder):
    objective = {"lut": 1.0, "bram18": 1.0}
    dear, cheap = _probs(ladder, "conv_5x5"), _probs(ladder, "identity")
    top = max(n for n in range(len(ladder.levels)) if ladder.reachable(n))
    probe = HwObjective(None, CELLS, objective, 1.0, ladder=ladder, goal_fps=ladder.levels[top])
    fit_dear = ladder.fit(probe.derived_cells(dear))
    fit_cheap = ladder.fit(probe.derived_cells(cheap))
    goal = _goal_between(ladder, fit_cheap["level"], fit_dear["level"])

    hw = HwObjective(None, CELLS, objective, 0.5, rate=0.5, update_every=2, ladder=ladder, goal_fps=goal)
    assert hw.level == hw.goal == ladder.goal_level(goal) and hw.constrained
    # every device resource is a column, normalised by the device (no URAM on a Pynq-Z1: its units)
    assert hw.columns == ("lut", "bram18", "uram", "dsp")
    assert hw.norm.tolist() == [ladder.budget["lut"], ladder.budget["bram18"], 1.0, ladder.budget["dsp"]]
    hw.after_step(dear)
    assert hw.history == [] and hw.lam == 0.5  # refreshed every 2 alpha steps
    hw.after_step(dear)
    (row,) = hw.history
    assert row["fit_level"] == fit_dear["level"] and hw.over and hw.lam == pytest.approx(0.75)
    assert hw.level == fit_dear["level"] + 1 and row["level_fps"] == ladder.levels[hw.level]
    # the term reads the next level's table and pushes only on the resources over the device there
    binding = [r for r in hw.columns if r in fit_dear["overshoot"]]
    assert binding and row["binding"] == binding
    assert hw.mask.tolist() == [float(r in binding) for r in hw.columns]
    table = ladder.tables[hw.level]
    assert np.allclose(hw.expected(dear).numpy(), table.expected(hw.node_weights(dear).numpy())[:4])
    assert float(hw.loss(dear)) > 0
    # a network that reaches the goal: no push, lambda falls, the level is the goal's
    for _ in range(2):
        hw.after_step(cheap)
    assert not hw.over and hw.lam == pytest.approx(0.5) and hw.level == hw.goal
    assert float(hw.loss(cheap)) == 0.0
    # resumable: the level and the mask come back
    again = HwObjective(None, CELLS, objective, 0.5, rate=0.5, update_every=2, ladder=ladder, goal_fps=goal)
    hw.after_step(dear), hw.after_step(dear)
    again.load_state_dict(hw.state_dict())
    assert again.level == hw.level and torch.equal(again.mask, hw.mask) and again.lam == hw.lam


def test_projection_reaches_the_goal_with_the_rule_kept(ladder):
    dear = _probs(ladder, "conv_5x5", seed=1)
    top = max(n for n in range(len(ladder.levels)) if ladder.reachable(n))
    probe = HwObjective(None, CELLS, {"lut": 1.0}, 1.0, ladder=ladder, goal_fps=ladder.levels[top])
    cells = probe.derived_cells(dear)
    start = ladder.fit(cells)["level"]
    goal = ladder.levels[min(start + 2, top)]
    hw = HwObjective(None, CELLS, {"lut": 1.0, "bram18": 1.0}, 1.0, ladder=ladder, goal_fps=goal)
    assert hw.violation(cells, None) > 0
    new, _, changes = hw.project(cells, dear)
    assert changes > 0 and hw.violation(new, None) == 0
    assert ladder.fit(new)["level"] >= hw.goal and ladder.fits_level(hw.goal, new)
    check_strategy_rule(Genotype("resnet18", "v3", new).validate())
    # a resource the device lacks counts its units (finite: the repair can still rank changes)
    assert ladder.overshoot({"lut": 0, "bram18": 0, "uram": 3, "dsp": 0}) == {"uram": 3.0}
    # above the fastest level the backbone reaches nothing can fit: refused up front
    assert not ladder.reachable(len(ladder.levels) - 1)
    with pytest.raises(ConfigError, match="cannot reach"):
        HwObjective(None, CELLS, {"lut": 1.0}, 1.0, ladder=ladder, goal_fps=ladder.levels[-1])


def test_config_checks():
    with pytest.raises(ConfigError, match="hw_device"):
        SearchConfig(hw_objective="lut", hw_fit=True)
    with pytest.raises(ConfigError, match="leave hw_limit unset"):
        SearchConfig(hw_objective="lut", hw_fit=True, hw_device="U250", hw_limit=0.5)
    with pytest.raises(ConfigError, match="below the goal"):
        SearchConfig(hw_objective="lut", hw_fit=True, hw_device="U250", hw_fit_levels=(100, 200))
    cfg = SearchConfig(hw_objective="lut", hw_fit=True, hw_device="U250", hw_fit_levels=("400", 200, 400.0))
    assert cfg.hw_fit_levels == (200.0, 400.0) and SearchConfig(hw_target_fps=100).fit_levels()[4] == 100


def test_search_in_device_fit_mode(fmnist_dir, tmp_path, ladder):
    from nash.io import read_jsonl
    from nash.search import run_search

    cfg = SearchConfig(
        dataset="fashion-mnist", data_root=str(fmnist_dir), train_subset=256, batch_size=16, width=4,
        stem="small", steps_per_epoch=4, epochs=1, seed=0, device="cpu", strategy="v3",
        hw_objective="lut+bram18", hw_fit=True, hw_fit_levels=ladder.levels, hw_target_fps=ladder.levels[-2],
        hw_update_every=1, hw_table=str(LADDER), bits_candidates=(1, 2, 4), **DEPLOY,
    )  # fmt: skip
    genotype = run_search(cfg, tmp_path, progress=False)
    assert FitLadder.load(tmp_path / "hw_table.json").levels == ladder.levels  # kept for a resume
    row = read_jsonl(tmp_path / "log.jsonl")[0]
    assert {"hw_fit_fps", "hw_fit_level", "hw_level_fps", "hw_lambda"} <= set(row)
    hw = genotype.meta["hw"]
    assert len(hw["history"]) == 4 and all("fit_level" in h for h in hw["history"])
    final = hw["fit_final"]
    assert final["level"] >= ladder.goal_level(cfg.hw_target_fps) and final["fps"] >= cfg.hw_target_fps
    bits = [f"w{w}a{a}" for w, a in genotype.bits]
    assert ladder.fit(genotype.cells, bits) == final
    # the ladder must reach the goal; a single cost table is not a ladder
    with pytest.raises(ConfigError, match="above the ladder's top level"):
        run_search(
            dataclasses.replace(cfg, hw_target_fps=1e5, hw_fit_levels=None), tmp_path / "high", progress=False
        )
    with pytest.raises(Exception, match="fit ladder"):
        single = str(Path(__file__).parent / "data" / "cost_table_r18_w4_32px.json")
        run_search(dataclasses.replace(cfg, hw_table=single), tmp_path / "single", progress=False)
