"""Top-k counting, shard samplers and checkpoint files (no dataset needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nash.errors import ModelError
from nash.models import QuantSpec, build_model
from nash.train.checkpoint import load_checkpoint, load_quant_state, quant_state, save_checkpoint
from nash.train.engine import topk_correct
from nash.train.loader import ShardSampler


def test_topk_correct_counts() -> None:
    logits = torch.tensor([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    target = torch.tensor([2, 0, 0, 1])
    assert topk_correct(logits, target, (1, 2, 3, 5)) == [1, 3, 4, 4]


@pytest.mark.parametrize("n, world", [(10, 2), (11, 3), (5, 4)])
def test_shard_sampler_covers_and_balances(n: int, world: int) -> None:
    train = [list(ShardSampler(n, r, world, shuffle=True, seed=3, pad=True)) for r in range(world)]
    assert len({len(s) for s in train}) == 1  # same number of steps on every rank
    assert set().union(*map(set, train)) == set(range(n))
    evals = [list(ShardSampler(n, r, world, shuffle=False, pad=False)) for r in range(world)]
    assert sorted(i for s in evals for i in s) == list(range(n))  # each test image exactly once


def test_shard_sampler_order_depends_on_epoch_only() -> None:
    a, b = ShardSampler(20, shuffle=True, seed=1, pad=True), ShardSampler(20, shuffle=True, seed=1, pad=True)
    a.set_epoch(2)
    b.set_epoch(2)
    assert list(a) == list(b)
    b.set_epoch(3)
    assert list(a) != list(b)


def test_checkpoint_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a torch file")
    with pytest.raises(ModelError, match="corrupt") as info:
        load_checkpoint(bad)
    assert "\n" not in str(info.value)
    save_checkpoint({"model": {}}, tmp_path / "partial.pt")
    with pytest.raises(ModelError, match="lacks arch"):
        load_checkpoint(tmp_path / "partial.pt")


def test_quant_state_restores_statistics_collection() -> None:
    torch.manual_seed(0)
    spec = QuantSpec.from_tag("w2a2", version="o")
    a = build_model("resnet18", None, spec, 10, in_channels=1, width=4, stem="small")
    a.train()
    a(torch.randn(4, 1, 16, 16))  # two runtime-statistics steps
    a(torch.randn(4, 1, 16, 16))
    state = quant_state(a)
    assert state and {e["counter"] for e in state.values()} == {2}
    b = build_model("resnet18", None, spec, 10, in_channels=1, width=4, stem="small")
    b.load_state_dict(a.state_dict())
    assert {e["counter"] for e in quant_state(b).values()} != {2}  # load_state_dict alone ends collection
    load_quant_state(b, state)
    x = torch.randn(4, 1, 16, 16)
    assert torch.equal(a(x), b(x))  # third statistics step identical
    assert {e["counter"] for e in quant_state(b).values()} == {3}
