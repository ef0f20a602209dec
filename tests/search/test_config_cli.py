"""SearchConfig validation / YAML round trip and the ``nash search`` command."""

from __future__ import annotations

import pytest
import yaml

from nash.cli import main
from nash.config.base import from_dict, load_config, override, save_config
from nash.config.search import SearchConfig
from nash.errors import ConfigError
from nash.space import Genotype


def test_config_round_trip_and_validation(tmp_path):
    cfg = override(SearchConfig(), strategy="v4", width=8, arch_betas=[0.5, 0.9], steps_per_epoch=3)
    save_config(cfg, tmp_path / "c.yaml")
    assert load_config(SearchConfig, tmp_path / "c.yaml") == cfg
    assert cfg.arch_betas == (0.5, 0.9) and SearchConfig(epochs=5, warmup_epochs=2).search_epochs() == 3
    for bad, match in [({"stem": "big"}, "stem"), ({"lr_min": 1.0}, "lr_min"), ({"width": 0}, "width"),
                       ({"train_portion": 1.0}, "train_portion"), ({"widht": 4}, "unknown config key"),
                       ({"backbone": "vgg"}, "backbone"), ({"channels": 2}, "channels"),
                       ({"strategy": "v9"}, "strategy: 'v9' is not one of v1, v2, v3, v4"),
                       ({"unfriendly": ["max_pool_9x9"]}, "unfriendly: unknown op")]:  # fmt: skip
        with pytest.raises(ConfigError, match=match):
            from_dict(SearchConfig, bad)


def test_cli_search_flags_override_yaml(fmnist_dir, tmp_path, capsys):
    yaml_path = tmp_path / "search.yaml"
    yaml_path.write_text(yaml.safe_dump({"width": 6, "seed": 3, "strategy": "v2", "batch_size": 16}))
    out = tmp_path / "run"
    argv = ["search", "--config", str(yaml_path), "--out", str(out), "--strategy", "v4", "--width", "4",
            "--dataset", "fashion-mnist", "--data", str(fmnist_dir), "--train-subset", "128", "--epochs", "1",
            "--steps-per-epoch", "2", "--device", "cpu", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "strategy v4" in printed and "genotype.json" in printed
    resolved = load_config(SearchConfig, out / "config.yaml")
    assert (resolved.width, resolved.seed, resolved.strategy, resolved.batch_size) == (4, 3, "v4", 16)
    genotype = Genotype.load(out / "genotype.json")
    assert all(op != "max_pool_3x3" for cell in genotype.cells for op, _ in cell)  # v4 drops max-pool
    assert main(argv) == 2  # second run without --resume: refused, nothing overwritten
    assert "--resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0  # finished search: resume just re-derives
