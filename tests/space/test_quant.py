"""The one tag parser and ``VERSIONS`` (``nash.space.quant``): torch-free, widths 1..8 everywhere."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nash.config.pipeline import ExperimentConfig
from nash.config.train import TrainConfig
from nash.errors import ConfigError
from nash.space import list_strategies
from nash.space.quant import ORIGINAL, VERSIONS, QuantSpec, parse_bits


def test_versions_are_the_original_plus_every_strategy():
    assert VERSIONS == (ORIGINAL, *list_strategies())


@pytest.mark.parametrize("tag", ["w0a2", "w9a9", "w16a16", "w2a33", "2bit", "W2A2", "", "w2a2 "])
def test_one_parser_rejects_the_same_tags_everywhere(tag):
    with pytest.raises(ConfigError, match="w1a1..w8a8"):
        parse_bits(tag)
    with pytest.raises(ConfigError):
        TrainConfig(bits=tag)
    with pytest.raises(ConfigError):
        ExperimentConfig(bits=(tag,))


def test_round_trip_of_resolved_roles():
    spec = QuantSpec.from_tag("W3A2", version="v4", add_act="identity")  # from_tag is lenient about case
    assert parse_bits("w3a2") == (3, 2) and spec.tag == "w3a2" and spec.nas_weight_bits == 8
    assert QuantSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ConfigError, match="unknown QuantSpec field 'bogus'"):
        QuantSpec.from_dict({**spec.to_dict(), "bogus": 1})


def test_space_and_config_stay_torch_free():
    code = "import sys, nash.space, nash.config.train, nash.config.search; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
