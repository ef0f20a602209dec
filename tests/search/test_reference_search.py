"""The reference recipe's supernet: every op sampled (v2), Tanh / no node activation, sign backbone
(v2), binary NAS convs; full-gradient alpha steps and weight steps run on it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nash.config.recipes import recipe_overrides
from nash.config.search import SearchConfig
from nash.search.architect import Architect, WeightTrainer
from nash.search.build import build_strategy, build_supernet
from nash.search.supernet import SignConv2d
from nash.space import OPS


@pytest.mark.parametrize("strategy", ["v2", "v3", "v4"])
def test_reference_supernet_builds_and_steps(strategy):
    torch.manual_seed(0)
    cfg = SearchConfig(**{**recipe_overrides("reference", "search"), "strategy": strategy, "width": 4})
    net = build_supernet(cfg, 10, 3, build_strategy(cfg))
    cell = net.cells[1]
    if strategy == "v2":
        assert isinstance(cell.act, nn.Identity) and isinstance(cell.convs[0], SignConv2d)
        assert bool(net.mask.all())  # the authors' v2 searches every op, masking only at derivation
    else:
        assert isinstance(cell.act, nn.Tanh) and not isinstance(cell.convs[0], SignConv2d)
    if strategy == "v4":
        assert not net.mask[:, [OPS.index("max_pool_3x3"), OPS.index("identity")]].any()
    conv = cell.edges[0].ops["conv_3x3"].conv
    assert type(conv) is not nn.Conv2d  # NAS convs quantised during the search (binary; 8-bit v4)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    before = net.alpha.detach().clone()
    Architect(net, lr=1e-2, weight_decay=0.0, alpha_grad="full").step(x, y, gen)
    assert ((net.alpha.detach() - before).abs() > 0)[net.mask].all()
    WeightTrainer(net).step(x, y, gen)
    assert torch.isfinite(net.alpha).all()


def test_sign_conv_gradients():
    torch.manual_seed(0)
    conv = SignConv2d(2, 3, 3, 1)
    x = (0.5 * torch.randn(1, 2, 5, 5)).requires_grad_(True)
    y = conv(x)
    assert set(torch.unique(conv.weight.sign()).tolist()) <= {-1.0, 1.0}
    y.sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    outside = x.detach().abs() >= 1.0
    assert (x.grad[outside] == 0).all() and x.grad[~outside].abs().sum() > 0


@pytest.mark.parametrize("strategy", ["v1", "v2"])
def test_reference_recipe_search_on_real_data(fmnist_dir, tmp_path, strategy):
    from nash.config.base import load_config
    from nash.search import run_search
    from nash.space import Genotype, check_strategy_rule
    from nash.space.derivation import derive_reference

    cfg = SearchConfig(
        **{**recipe_overrides("reference", "search"), "recipe": "reference", "strategy": strategy,
           "dataset": "fashion-mnist", "data_root": str(fmnist_dir), "train_subset": 256, "batch_size": 16,
           "width": 4, "image_size": 32, "steps_per_epoch": 3, "epochs": 1, "device": "cpu"}
    )  # fmt: skip
    genotype = run_search(cfg, tmp_path, progress=False)
    assert load_config(SearchConfig, tmp_path / "config.yaml").recipe == "reference"
    saved = Genotype.load(tmp_path / "genotype.json")
    assert saved.cells == genotype.cells and saved.meta["derivation"] == "reference"
    assert (
        saved.cells
        == derive_reference(strategy, "resnet18", saved.meta["final_alphas"], probabilities=True).cells
    )
    check_strategy_rule(saved)
