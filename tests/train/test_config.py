"""TrainConfig validation and YAML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from nash.config.base import load_config, save_config
from nash.config.train import TrainConfig
from nash.errors import ConfigError


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"version": "v9", "genotype": "g.json"}, "version 'v9'"),
        ({"version": "o", "genotype": "g.json"}, "--strategy"),
        ({"version": "v3"}, "needs a genotype"),
        ({"bits": "w0a2"}, "w1a1..w8a8"),
        ({"bits": "w33a2"}, "w1a1..w8a8"),
        ({"bits": "w16a16"}, "w1a1..w8a8"),
        ({"bits": "2bit"}, "unsupported bit width tag"),
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"stem": "huge"}, "stem"),
    ],
)
def test_bad_values_raise_one_line(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        TrainConfig(**kwargs)
    assert "\n" not in str(info.value)


def test_yaml_round_trip_and_derived_values(tmp_path: Path) -> None:
    cfg = TrainConfig(
        version="v3",
        genotype="g.json",
        bits="w4a4",
        quant_overrides={"nas_act_bits": 4},
        warmup_epochs=0.5,
        train_subset=100,
    )
    path = save_config(cfg, tmp_path / "config.yaml")
    assert load_config(TrainConfig, path) == cfg
    assert cfg.warmup_steps(30) == 15
    assert (cfg.resolved_stem(28), cfg.resolved_stem(224)) == ("small", "imagenet")
    assert not cfg.is_original


def test_unknown_yaml_key(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("epochs: 3\nlearning_rate: 0.1\n")
    with pytest.raises(ConfigError, match="learning_rate"):
        load_config(TrainConfig, tmp_path / "c.yaml")
