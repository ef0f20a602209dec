"""The paper's published genotypes load, translate and satisfy their own strategy's rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nash.errors import GenotypeError
from nash.space import Genotype, default_reference_path, is_hardware_friendly, load_reference_genotypes

# MFJI/NASH resent34/NASH/genotypes.py ("binary", marked #v3): the only published ResNet34 genotype.
RESNET34_V3 = [
    [
        ["conv_1x1", 0],
        ["skip_connect", 1],
        ["max_pool_3x3", 2],
        ["skip_connect", 3],
        ["conv_1x1", 1],
        ["skip_connect", 4],
    ],
    [["conv_5x5", 0], ["max_pool_3x3", 1], ["skip_connect", 2], ["skip_connect", 2]],
    [["conv_3x3", 0], ["max_pool_3x3", 1], ["skip_connect", 2], ["skip_connect", 2]],
    [
        ["conv_1x1", 0],
        ["conv_5x5", 1],
        ["max_pool_3x3", 1],
        ["max_pool_3x3", 1],
        ["skip_connect", 4],
        ["max_pool_3x3", 1],
    ],
    [
        ["conv_5x5", 0],
        ["max_pool_3x3", 1],
        ["skip_connect", 2],
        ["max_pool_3x3", 1],
        ["skip_connect", 4],
        ["conv_5x5", 2],
    ],
    [
        ["conv_5x5", 0],
        ["conv_5x5", 1],
        ["conv_5x5", 2],
        ["conv_5x5", 2],
        ["max_pool_3x3", 1],
        ["conv_1x1", 3],
    ],
]


@pytest.fixture(scope="module")
def refs(reference_genotypes_path):
    return load_reference_genotypes(reference_genotypes_path)


def test_four_versions_load(refs):
    assert list(refs) == ["v1", "v2", "v3", "v4"]
    for version, g in refs.items():
        assert (g.backbone, g.strategy, len(g.cells)) == ("resnet18", version, 4)
        assert g.meta["reference_version"] == version
    assert refs["v3"].cells[1][0] == ("conv_5x5", 0)
    assert refs["v1"].cells[0][0] == ("max_pool_3x3", 0)


@pytest.mark.parametrize("unfriendly", [{"max_pool_3x3", "identity"}, {"max_pool_3x3"}])
@pytest.mark.parametrize("version", ["v1", "v2", "v3", "v4"])
def test_each_satisfies_its_own_rule(refs, version, unfriendly):
    assert is_hardware_friendly(refs[version], unfriendly) == []


def test_why_v1_and_v2_cell0_unfriendly_ops_are_fine(refs):
    # v1 keeps max_pool(x0) and v2 identity(x0) in cell 0, which does not downsample (stride 1).
    assert not refs["v1"].specs()[0].downsample
    edge, op = refs["v2"].chosen_edges()[0][0]
    assert (op, edge.size_changing) == ("identity", False)
    # every size-changing edge kept by v1..v3 carries a conv
    for g in (refs["v1"], refs["v2"], refs["v3"]):
        kept = [op for cell in g.chosen_edges() for edge, op in cell if edge.size_changing]
        assert kept and all(op.startswith("conv_") for op in kept)
    # v4 uses convs only (max-pool and identity were never candidates)
    assert {op for cell in refs["v4"].cells for op, _ in cell} == {"conv_1x1", "conv_3x3", "conv_5x5"}


def test_reference_moved_to_another_strategy_is_caught(refs):
    as_v4 = Genotype("resnet18", "v4", refs["v3"].cells)
    assert len(is_hardware_friendly(as_v4)) == 11  # 9 max-pools + 2 identities, on any edge
    moved = [list(c) for c in refs["v3"].cells]
    moved[2][0] = ("max_pool_3x3", 0)
    assert is_hardware_friendly(Genotype("resnet18", "v3", moved)) == [
        "cell 2 node 1: max_pool_3x3 on size-changing edge x0->x1 (strategy v3: forbidden choices are "
        "skipped for the next best (predecessor, op) at derivation)"
    ]


def test_resnet34_reference_matches_our_cell_split():
    g = Genotype.from_dict({"backbone": "resnet34", "strategy": "v3", "cells": RESNET34_V3})
    assert [len(c) for c in g.cells] == [6, 4, 4, 6, 6, 6]
    assert g.cells[0][1] == ("identity", 1)
    assert is_hardware_friendly(g) == []


def test_fixture_format_with_reference_names(tmp_path):
    data = {
        "op_names": {"none": "zero", "skip_connect": "identity"},
        "resnet34": {"v3": RESNET34_V3, "mine": [c[:] for c in RESNET34_V3]},
    }
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(data))
    got = load_reference_genotypes(path, backbone="resnet34")
    assert got["v3"].strategy == "v3" and got["mine"].strategy == "custom"
    assert got["v3"].cells[5][5] == ("conv_1x1", 3)


def test_fixture_errors(tmp_path, reference_genotypes_path):
    only18 = tmp_path / "only18.json"
    data = json.loads(Path(reference_genotypes_path).read_text())
    only18.write_text(json.dumps({k: v for k, v in data.items() if k != "resnet34"}))
    with pytest.raises(GenotypeError, match="has no genotypes for 'resnet34'; it has: resnet18"):
        load_reference_genotypes(only18, backbone="resnet34")
    with pytest.raises(GenotypeError, match="reference genotype file .*missing.json not found"):
        load_reference_genotypes(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(GenotypeError, match="bad.json: not valid JSON"):
        load_reference_genotypes(bad)
    bad.write_text(json.dumps({"resnet18": {"v2": [[["conv_3x3", 0]] * 4] * 3}}))
    with pytest.raises(GenotypeError, match="bad.json resnet18 v2: genotype has 3 cells"):
        load_reference_genotypes(bad)


def test_default_reference_path_is_the_packaged_copy():
    """The package ships the paper's genotypes, so nothing outside the package is needed."""
    from nash.space.reference import PACKAGED_REFERENCE

    assert default_reference_path() == PACKAGED_REFERENCE and PACKAGED_REFERENCE.is_file()
    packaged = load_reference_genotypes(PACKAGED_REFERENCE)
    assert sorted(packaged) == ["v1", "v2", "v3", "v4"]


def test_packaged_resnet34_genotype_is_the_reference_one(reference_genotypes_path):
    got = load_reference_genotypes(reference_genotypes_path, backbone="resnet34")
    assert list(got) == ["v3"]
    names = {"skip_connect": "identity"}
    assert [[[o, i] for o, i in c] for c in got["v3"].cells] == [
        [[names.get(o, o), i] for o, i in c] for c in RESNET34_V3
    ]
