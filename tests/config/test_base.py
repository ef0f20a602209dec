"""nash.config.base: YAML/JSON round trip, strict keys and types, overrides; atomic writes."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nash.config.base import dumps_yaml, from_dict, load_config, override, save_config, to_dict
from nash.config.data import DataConfig
from nash.errors import ConfigError
from nash.io import atomic_path, atomic_write_text


class Mode(str, enum.Enum):
    FAST = "fast"
    FULL = "full"


@dataclass(frozen=True)
class Inner:
    lr: float = 0.1  # learning rate
    steps: tuple[int, ...] = (1, 2)  # milestones


@dataclass(frozen=True)
class Outer:
    name: str = "x"  # run name
    mode: Mode = Mode.FAST  # speed
    inner: Inner = field(default_factory=Inner)  # nested group
    extra: dict[str, int] = field(default_factory=dict)  # free mapping
    out: str | None = None  # output dir


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_data_config_round_trip(tmp_path, suffix):
    cfg = DataConfig(dataset="cifar10", root="/d", image_size=32, channels=3, augment=False,
                     train_subset=500, test_subset=100, search_portion=0.25, batch_size=64, workers=2, seed=7)  # fmt: skip
    path = save_config(cfg, tmp_path / f"data{suffix}")
    assert load_config(DataConfig, path) == cfg
    assert load_config(DataConfig, save_config(DataConfig(), tmp_path / f"d{suffix}")) == DataConfig()


def test_nested_enum_round_trip(tmp_path):
    cfg = Outer("run", Mode.FULL, Inner(0.5, (3, 4)), {"a": 1}, "o")
    assert to_dict(cfg) == {"name": "run", "mode": "full", "inner": {"lr": 0.5, "steps": [3, 4]},
                            "extra": {"a": 1}, "out": "o"}  # fmt: skip
    assert load_config(Outer, save_config(cfg, tmp_path / "c.yaml")) == cfg
    assert "mode: full" in dumps_yaml(cfg)


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("dataset: mnist\nbatchsize: 32\n")
    with pytest.raises(
        ConfigError, match=r"unknown config key 'batchsize' in DataConfig; valid keys: dataset"
    ):
        load_config(DataConfig, path)
    with pytest.raises(ConfigError, match=r"unknown config key 'inner\.lrr'"):
        from_dict(Outer, {"inner": {"lrr": 1}})
    with pytest.raises(ConfigError, match="unknown config key 'bogus'"):
        override(DataConfig(), bogus=1)


def test_wrong_types_and_values():
    with pytest.raises(ConfigError, match=r"batch_size: expected int, got 'big'"):
        from_dict(DataConfig, {"batch_size": "big"})
    with pytest.raises(ConfigError, match="expected int, got True"):
        from_dict(DataConfig, {"seed": True})
    with pytest.raises(ConfigError, match="mode: 'slow' is not one of fast, full"):
        from_dict(Outer, {"mode": "slow"})
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        from_dict(DataConfig, {"search_portion": 1.5})
    with pytest.raises(ConfigError, match="channels=2 must be 1 or 3"):
        DataConfig(channels=2)


def test_yaml_quirks_are_accepted(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("inner:\n  lr: 1e-3\n")  # PyYAML reads "1e-3" as a string
    assert load_config(Outer, path).inner.lr == pytest.approx(0.001)
    lr = from_dict(Inner, {"lr": 1}).lr  # an int where a float is expected
    assert lr == 1.0 and isinstance(lr, float)
    assert override(DataConfig(), root=Path("/tmp/x")).root == "/tmp/x"
    with pytest.raises(ConfigError, match="expected float, got 'abc'"):
        from_dict(Inner, {"lr": "abc"})


def test_override_drops_none():
    cfg = DataConfig(batch_size=64)
    assert override(cfg, batch_size=None, seed=3) == DataConfig(batch_size=64, seed=3)


def test_load_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(DataConfig, tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(ConfigError, match=r"not valid YAML/JSON \(line"):
        load_config(DataConfig, bad)
    (tmp_path / "empty.yaml").write_text("# nothing set\n")
    with pytest.raises(ConfigError, match="empty.yaml is empty; write the settings"):
        load_config(DataConfig, tmp_path / "empty.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(DataConfig, tmp_path / "list.yaml")


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = atomic_write_text(tmp_path / "a.json", json.dumps({"v": 1}))
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temporary left behind


def test_duplicate_yaml_key_is_an_error_naming_key_and_line(tmp_path):
    """Issue 15 item 2: PyYAML keeps the last of two equal keys silently (trained at the wrong lr)."""
    path = tmp_path / "c.yaml"
    path.write_text("name: a\ninner:\n  lr: 0.1\n  steps: [1]\n  lr: 5.0\n")
    with pytest.raises(ConfigError, match=r"c.yaml line 5: duplicate key 'lr' \(first at line 3\)"):
        load_config(Outer, path)
    path.write_text("name: a\nname: b\n")
    with pytest.raises(ConfigError, match="line 2: duplicate key 'name'"):
        load_config(Outer, path)
    path.write_text("name: a\ninner: {lr: 0.5}\nextra: {lr: 1}\n")  # same key in two mappings: fine
    assert load_config(Outer, path).inner.lr == 0.5


def test_nan_is_rejected_at_validation():
    """Issue 15 item 10: ``--lr nan`` passed every range check and failed only after training."""
    with pytest.raises(ConfigError, match="lr: nan is not a number"):
        from_dict(Inner, {"lr": "nan"})
    with pytest.raises(ConfigError, match="lr: nan is not a number"):
        override(Inner(), lr=float("nan"))
    with pytest.raises(ConfigError, match="inner.lr: nan"):
        from_dict(Outer, {"inner": {"lr": float("nan")}})
    with pytest.raises(ConfigError, match="lr: inf is not finite"):
        from_dict(Inner, {"lr": "inf"})
    with pytest.raises(ConfigError, match="lr: -inf is not finite"):
        override(Inner(), lr=float("-inf"))
