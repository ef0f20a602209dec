"""Hardware-aware search variants in the experiment config: parsing, merging, errors (issue 11, item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nash.config.base import from_dict, load_config, save_config, to_dict
from nash.config.pipeline import ExperimentConfig
from nash.errors import ConfigError
from nash.pipeline.steps import Context, _search_config, _train_config, check_sections

BASE = {
    "versions": ["o", "v3"],
    "bits": ["w2a2"],
    "search": {"width": 4, "epochs": 3},
    "train": {"width": 4, "epochs": 1},
    "hw_search": {"hw_objective": "bram18", "hw_input": "3x32x32", "hw_width": 8},
    "hw_variants": {"hw-l0.3": {"hw_weight": 0.3}, "hw-budget": {"hw_limit": 0.8, "hw_weight": 0.1}},
}


def _cfg(**changes) -> ExperimentConfig:
    return from_dict(ExperimentConfig, {**BASE, **changes})


def test_variants_are_versions_appended_in_file_order():
    cfg = _cfg()
    assert cfg.versions == ("o", "v3", "hw-l0.3", "hw-budget")
    assert cfg.strategies() == ["v3", "hw-l0.3", "hw-budget"]  # every one of them searches
    assert cfg.variants() == ["hw-l0.3", "hw-budget"]
    assert [c[1] for c in cfg.grid()] == ["o", "v3", "hw-l0.3", "hw-budget"]
    assert (
        cfg.strategy_of("hw-l0.3") == "v3" and cfg.strategy_of("v3") == "v3" and cfg.strategy_of("o") == "o"
    )


def test_explicit_versions_are_kept_as_listed():
    cfg = _cfg(versions=["hw-budget", "o"])
    assert cfg.versions == ("hw-budget", "o")  # order and subset as the file says
    assert cfg.variants() == ["hw-budget"]


def test_without_versions_the_defaults_come_first():
    cfg = from_dict(ExperimentConfig, {k: v for k, v in BASE.items() if k != "versions"})
    assert cfg.versions == ("o", "v1", "v2", "v3", "v4", "hw-l0.3", "hw-budget")


def test_variant_search_layers_recipe_search_hw_search_and_overrides():
    cfg = _cfg(
        recipe="reference",
        search={"epochs": 3, "width": 4, "lr": 0.05},
        hw_search={"hw_objective": "lut", "width": 8, "hw_weight": 0.5, "strategy": "v4"},
        hw_variants={"hw-a": {"hw_weight": 0.1}, "hw-b": {"strategy": "v2", "lr": 0.01}},
    )
    ctx = Context(cfg, Path("."))
    a = _search_config(ctx, ("resnet18", "hw-a"))
    assert a.alpha_grad == "full" and a.recipe == "reference"  # recipe
    assert a.epochs == 3 and a.lr == 0.05  # search:
    assert a.width == 8 and a.hw_objective == "lut"  # hw_search: over search:
    assert a.hw_weight == 0.1  # the variant over hw_search:
    assert a.strategy == "v4" and a.backbone == "resnet18" and a.seed == cfg.seed
    b = _search_config(ctx, ("resnet18", "hw-b"))
    assert b.strategy == "v2" and b.lr == 0.01 and b.hw_weight == 0.5
    # the plain versions' searches do not see hw_search
    v3 = _search_config(ctx, ("resnet18", "v3"))
    assert v3.width == 4 and v3.hw_objective == "none" and v3.strategy == "v3"


def test_default_base_strategy_is_v3_and_training_uses_it():
    cfg = _cfg()
    ctx = Context(cfg, Path("."))
    assert _search_config(ctx, ("resnet18", "hw-budget")).strategy == "v3"
    train = _train_config(ctx, ("resnet18", "hw-budget", "w2a2"), "search/genotype.json")
    assert train.version == "v3" and train.bits == "w2a2" and train.width == 4


def test_plain_searches_record_the_same_settings_with_and_without_variants():
    ctx_with = Context(_cfg(), Path("."))
    ctx_without = Context(_cfg(hw_search={}, hw_variants={}), Path("."))
    cell = ("resnet18", "v3")
    assert to_dict(_search_config(ctx_with, cell)) == to_dict(_search_config(ctx_without, cell))


def test_file_round_trip_keeps_variants_and_versions(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(
        "versions: [o]\nbits: [w2a2]\nsearch: {width: 4}\ntrain: {width: 4}\n"
        "hw_search: {strategy: v4, hw_objective: lut}\n"
        "hw_variants:\n  hw-z: {hw_weight: 1}\n  hw-a: {hw_weight: 2}\n  hw-m:\n"
    )
    cfg = load_config(ExperimentConfig, path)
    assert cfg.versions == ("o", "hw-z", "hw-a", "hw-m")  # file order, not sorted
    assert cfg.hw_variants["hw-m"] == {}  # an empty variant is hw_search as is
    save_config(cfg, tmp_path / "experiment.yaml")  # what nash run records
    again = load_config(ExperimentConfig, tmp_path / "experiment.yaml")
    assert again == cfg
    check_sections(cfg)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hw_variants": {"l0.3": {"hw_weight": 0.3}}}, r"variant name 'l0\.3' must start with 'hw'"),
        ({"hw_variants": {"hw l1": {}}}, r"variant name 'hw l1' must start with 'hw'"),
        ({"hw_variants": {"hw-x": 0.3}}, r"hw_variants\.hw-x: expected a mapping"),
        (
            {"hw_search": {}, "hw_variants": {"hw-x": {"hw_weight": 0.3}}},
            r"hw_variants\.hw-x: not hardware-aware",
        ),
        ({"hw_variants": {"hw-x": {"hw_objective": "none"}}}, r"hw_variants\.hw-x: not hardware-aware"),
        ({"hw_variants": {"hw-x": {"hw_wieght": 1}}}, r"unknown config key 'hw_variants\.hw-x\.hw_wieght'"),
        ({"hw_search": {"hw_objective": "lut", "lamda": 1}}, r"unknown config key 'hw_search\.lamda'"),
        ({"hw_variants": {"hw-x": {"seed": 3}}}, r"hw_variants\.hw-x\.seed: set for the whole experiment"),
        ({"hw_search": {"hw_objective": "lut", "backbone": "resnet34"}}, r"hw_search\.backbone: set for"),
        ({"hw_search": {"hw_objective": "lut", "strategy": "o"}}, r"hw_search\.strategy: 'o' is not a NASH"),
        ({"hw_variants": {"hw-x": {"strategy": "v9"}}}, r"hw_variants\.hw-x\.strategy: 'v9'"),
        ({"versions": ["o", "hw-typo"]}, r"versions: 'hw-typo' is not defined under hw_variants"),
        ({"versions": ["o", "v7"]}, r"unknown version 'v7'.*or a name under hw_variants"),
        ({"hw_variants": [1, 2]}, r"hw_variants: expected a mapping"),
    ],
)
def test_bad_variants_are_one_line_errors(changes, message):
    with pytest.raises(ConfigError, match=message) as info:
        _cfg(**changes)
    assert "\n" not in str(info.value)


def test_bad_variant_values_fail_in_the_section_check():
    cfg = _cfg(hw_variants={"hw-neg": {"hw_limit": -1.0}})
    with pytest.raises(ConfigError, match=r"section 'hw_variants\.hw-neg'.*hw_limit: must be > 0"):
        check_sections(cfg)
    cfg = _cfg(hw_search={"hw_objective": "bram18", "hw_bits": "w9a9"})
    with pytest.raises(ConfigError, match=r"section 'hw_variants\.hw-l0\.3'.*w9a9"):
        check_sections(cfg)


def test_variants_search_even_with_reference_genotypes():
    cfg = _cfg(reference_genotypes="paper", search={})
    with pytest.raises(ConfigError, match=r"versions hw-l0\.3, hw-budget would search.*always search"):
        check_sections(cfg)
    ok = _cfg(reference_genotypes="paper")
    check_sections(ok)
    ctx = Context(ok, Path("."))
    from nash.pipeline.steps import _search_settings

    assert "reference" in _search_settings(ctx, ("resnet18", "v3"))
    assert _search_settings(ctx, ("resnet18", "hw-l0.3"))["hw_weight"] == 0.3
