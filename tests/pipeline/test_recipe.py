"""Recipes: one registry, layered defaults < recipe < config file < flags, recorded in every config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nash.cli import main
from nash.config.base import from_dict
from nash.config.hw import HwConfig
from nash.config.pipeline import ExperimentConfig, load_experiment
from nash.config.recipes import RECIPES, list_recipes, recipe_overrides, resolve_stage_config
from nash.config.search import SearchConfig
from nash.config.train import TrainConfig
from nash.errors import ConfigError
from nash.models import ModelOptions

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_every_recipe_value_is_valid_for_its_stage():
    assert list_recipes()[0] == "default" and "reference" in list_recipes()
    for name in RECIPES:
        SearchConfig(**recipe_overrides(name, "search"))
        TrainConfig(**recipe_overrides(name, "train"))
        HwConfig(**recipe_overrides(name, "hw"))
        ModelOptions.from_dict(recipe_overrides(name, "train").get("model"))
    assert RECIPES["default"] == {}  # the default recipe changes nothing


def test_layering_defaults_recipe_file_flags(tmp_path):
    path = tmp_path / "search.yaml"
    path.write_text("epochs: 7\nrecipe: reference\n")
    cfg = resolve_stage_config(SearchConfig, "search", path=path, width=8)
    assert (cfg.epochs, cfg.width, cfg.recipe) == (7, 8, "reference")  # file > recipe, flag > default
    assert (cfg.alpha_grad, cfg.derivation, cfg.stem) == ("full", "reference", "imagenet-nopool")
    cfg = resolve_stage_config(SearchConfig, "search", path=path, recipe="default")
    assert (cfg.epochs, cfg.alpha_grad, cfg.recipe) == (7, "pair", "default")  # flag picks the recipe
    assert resolve_stage_config(SearchConfig, "search") == SearchConfig()
    with pytest.raises(ConfigError, match="recipe: 'paper' is not one of default, reference"):
        resolve_stage_config(SearchConfig, "search", recipe="paper")


def test_train_model_options_merge_key_by_key(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("model: {head_bits: 8}\nlr: 0.01\n")
    cfg = resolve_stage_config(TrainConfig, "train", path=path, recipe="reference")
    opts = ModelOptions.from_dict(cfg.model)
    assert opts.head_bits == 8 and opts.shared_quant and not opts.input_quant
    assert (cfg.optimizer, cfg.lr, cfg.schedule, cfg.grad_clip) == ("adam", 0.01, "step", 5.0)


@pytest.mark.parametrize("name", ["paper-resnet18", "paper-resnet34-v3"])
@pytest.mark.parametrize("recipe", ["reference", "default"])
def test_paper_configs_resolve_and_validate(name, recipe, capsys):
    from nash.pipeline.steps import check_sections

    cfg = load_experiment(CONFIGS / f"{name}.yaml", recipe=recipe)
    check_sections(cfg)
    search = from_dict(SearchConfig, {**cfg.search, "backbone": cfg.backbones[0], "strategy": "v3"})
    train = from_dict(
        TrainConfig, {**cfg.train, "backbone": cfg.backbones[0], "version": "o", "bits": "w1a1"}
    )
    hw = from_dict(HwConfig, cfg.hw)
    if recipe == "reference":
        assert (search.epochs, search.alpha_grad, search.derivation, search.recipe) == (
            200,
            "full",
            "reference",
            "reference",
        )
        assert (train.optimizer, train.lr, train.epochs, train.label_smoothing) == ("adam", 1e-3, 100, 0.0)
        assert hw.mvau_wwidth_max == 24 and hw.target_fps == 324.54
    else:
        assert (search.alpha_grad, search.derivation, hw.mvau_wwidth_max) == ("pair", "default", 36)
    assert main(["run", str(CONFIGS / f"{name}.yaml"), "--out", "unused", "--plan", "--recipe", recipe]) == 0
    assert f"recipe {recipe}" in capsys.readouterr().out


def test_experiment_recipe_is_recorded_and_idempotent():
    cfg = ExperimentConfig(recipe="reference", search={"epochs": 3})
    again = from_dict(ExperimentConfig, dataclasses.asdict(cfg))
    assert again == cfg and cfg.search["epochs"] == 3 and cfg.search["recipe"] == "reference"
    assert ExperimentConfig().search == {}  # default: the sections are left as written


def test_search_cli_records_the_recipe(tmp_path, monkeypatch):
    import nash.search

    seen = {}

    def fake(cfg, out, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(nash.search, "run_search", fake)
    with pytest.raises(SystemExit):
        main(
            [
                "search",
                "--out",
                str(tmp_path),
                "--recipe",
                "reference",
                "--epochs",
                "1",
                "--no-v3-fallback-bug",
            ]
        )
    cfg = seen["cfg"]
    assert (cfg.recipe, cfg.epochs, cfg.alpha_grad, cfg.v3_fallback_bug) == ("reference", 1, "full", False)


def test_train_cli_applies_the_recipe_under_the_file_and_flags(tmp_path, monkeypatch):
    import nash.train

    seen = {}

    def fake(cfg, out, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(nash.train, "run_training", fake)
    path = tmp_path / "train.yaml"
    path.write_text("recipe: reference\nepochs: 3\n")
    with pytest.raises(SystemExit):
        main(["train", "--out", str(tmp_path / "run"), "--config", str(path), "--lr", "0.5"])
    cfg = seen["cfg"]
    assert (cfg.recipe, cfg.optimizer, cfg.epochs, cfg.lr, cfg.grad_clip) == (
        "reference",
        "adam",
        3,
        0.5,
        5.0,
    )
    assert ModelOptions.from_dict(cfg.model).head_bits == 4


def test_hw_from_arch_refuses_a_genotype_of_another_strategy(tmp_path):
    from nash.hw.from_arch import export_arch
    from nash.space import default_reference_path, load_reference_genotypes

    path = load_reference_genotypes(default_reference_path())["v3"].save(tmp_path / "v3.json")
    with pytest.raises(ConfigError, match="derived by strategy v3 but --strategy is v4"):
        export_arch("resnet18", genotype=str(path), strategy="v4", out_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="recipe: 'nope'"):
        export_arch("resnet18", genotype=str(path), strategy="v3", recipe="nope", out_dir=str(tmp_path))
