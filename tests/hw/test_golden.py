"""Estimates are exactly those recorded in ``golden_estimates.json`` (see ``golden.py``)."""

from __future__ import annotations

import json

import pytest
from golden import CASES, GOLDEN, NETWORKS, compute

EXPECTED = json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    """Network key -> model file, each built once on first use."""
    root = tmp_path_factory.mktemp("golden")
    cache: dict = {}

    def get(key: str):
        if key not in cache:
            if key.startswith(("resnet", "cnv")):
                pytest.importorskip("torch")
            cache[key] = NETWORKS[key](root)
        return cache[key]

    return get


def test_every_case_is_recorded():
    assert set(EXPECTED) == set(CASES)


@pytest.mark.parametrize("case", list(CASES))
def test_estimate_unchanged(case, networks):
    got = compute(case, networks(CASES[case][0]))
    want = EXPECTED[case]
    assert got["summary"] == want["summary"]
    for g, w in zip(got["layers"], want["layers"], strict=True):
        assert g == w, f"{case}: layer {w[0]} moved"
