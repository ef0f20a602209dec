"""Genotype JSON round trip and every validation error path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nash.errors import GenotypeError
from nash.space import OPS, Genotype, canonical_op, op_index

CELL = [["conv_5x5", 0], ["identity", 1], ["max_pool_3x3", 0], ["conv_1x1", 2]]


def good(**changes):
    data = {"schema": 1, "backbone": "resnet18", "strategy": "v3", "cells": [CELL] * 4}
    data.update(changes)
    return data


def test_round_trip_through_json(tmp_path):
    g = Genotype.from_dict(good(meta={"seed": 3, "alphas": [[0.5, 1.5]]}))
    path = g.save(tmp_path / "g" / "genotype.json")
    back = Genotype.load(path)
    assert back == g
    assert back.cells[0][2] == ("max_pool_3x3", 0)
    assert back.meta == {"seed": 3, "alphas": [[0.5, 1.5]]}
    assert json.loads(path.read_text())["cells"][3][3] == ["conv_1x1", 2]
    assert Genotype.load(tmp_path / "g") == g  # a run directory holding genotype.json
    assert hash(back) == hash(g)


def test_to_dict_omits_unset_optionals_and_keeps_cell_layers():
    d = Genotype.from_dict(good()).to_dict()
    assert set(d) == {"schema", "backbone", "strategy", "cells"}
    cells = [[("conv_3x3", 0)] * n for n in (6, 8, 12, 6)]
    g34 = Genotype("resnet34", "custom", cells, cell_layers=12).validate()
    assert Genotype.from_dict(g34.to_dict()) == g34
    assert g34.to_dict()["cell_layers"] == 12


def test_reference_op_names_are_translated():
    g = Genotype.from_dict(
        good(cells=[[["skip_connect", 0], ["conv_5x5", 1], ["conv_3x3", 0], ["conv_1x1", 2]]] * 4)
    )
    assert g.cells[0][:2] == (("identity", 0), ("conv_5x5", 1))
    with pytest.raises(GenotypeError, match="cell 0 node 2: 'zero' cannot be a node's only op"):
        Genotype.from_dict(
            good(cells=[[["skip_connect", 0], ["none", 1], ["conv_3x3", 0], ["conv_1x1", 2]]] * 4)
        )
    assert canonical_op("none") == "zero" and op_index("skip_connect") == 2
    assert OPS.index("conv_5x5") == 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            good(cells=[[["conv_7x7", 0]] + CELL[1:]] * 4),
            "cell 0 node 1: unknown op 'conv_7x7'; valid ops: zero, max_pool_3x3, identity, conv_1x1, conv_3x3",
        ),
        (
            good(cells=[CELL[:1] + [["conv_3x3", 2]] + CELL[2:]] * 4),
            "cell 0 node 2: predecessor 2 out of range; node 2 takes an input x0..x1",
        ),
        (good(cells=[[["conv_3x3", -1]] + CELL[1:]] * 4), "cell 0 node 1: predecessor -1 out of range"),
        (good(cells=[[["conv_3x3", True]] + CELL[1:]] * 4), "predecessor True out of range"),
        (good(cells=[[["conv_3x3", "0"]] + CELL[1:]] * 4), "predecessor '0' out of range"),
        (good(cells=[CELL] * 3), "genotype has 3 cells but resnet18 (cell_layers=default) has 4"),
        (
            good(cells=[CELL] * 3 + [CELL[:3]]),
            "cell 3 has 3 nodes but needs 4: it covers 4 layers of stage 3",
        ),
        (good(backbone="resnet50"), "unknown backbone 'resnet50'; valid backbones: resnet18, resnet34"),
        (good(backbone=["resnet18"]), "backbone must be a name"),
        (good(strategy="v9"), "unknown strategy 'v9'; valid strategies: v1, v2, v3, v4, custom"),
        (good(cell_layers=5), "cell_layers must be a positive multiple of 2"),
        (good(cell_layers=2), "genotype has 4 cells but resnet18 (cell_layers=2) has 8"),
        (good(schema=3), "unsupported genotype schema 3; this version reads schema 1 or 2"),
        (good(cels=[]), "unknown genotype key 'cels'; valid keys: schema, backbone, strategy, cells"),
        ({"backbone": "resnet18", "strategy": "v1"}, "genotype is missing key 'cells'"),
        (good(cells={"a": 1}), "'cells' must be a list of cells, got dict"),
        (good(cells=["conv_3x3"] * 4), "cell 0 must be a list of [op, predecessor] pairs"),
        (good(cells=[[["conv_3x3", 0, 1]] + CELL[1:]] * 4), "cell 0 node 1: expected [op, predecessor]"),
        (good(cells=[[[3, 0]] + CELL[1:]] * 4), "op name must be a string, got 3"),
        (good(meta=[1, 2]), "meta must be a mapping, got list"),
        ([1, 2], "a genotype must be a JSON object, got list"),
    ],
)
def test_validation_errors(data, message):
    with pytest.raises(GenotypeError) as info:
        Genotype.from_dict(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_validate_on_a_constructed_genotype():
    with pytest.raises(GenotypeError, match="cell 2 node 4: unknown op 'skip_connect'"):
        Genotype(
            "resnet18",
            "v1",
            [[("conv_3x3", 0)] * 4] * 2
            + [[("conv_3x3", 0)] * 3 + [("skip_connect", 1)]]
            + [[("conv_3x3", 0)] * 4],
        ).validate()


def test_load_missing_file(tmp_path):
    with pytest.raises(GenotypeError, match=r"genotype file .*nope.json not found; pass a genotype.json"):
        Genotype.load(tmp_path / "nope.json")


def test_load_corrupt_json(tmp_path):
    path = tmp_path / "g.json"
    path.write_text('{"schema": 1,\n "backbone": "resnet18",\n "cells": [[["conv_3x3", 0]')
    with pytest.raises(GenotypeError, match=r"g.json: not valid JSON \(line 3: .*\); fix or regenerate"):
        Genotype.load(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(GenotypeError, match="not valid JSON"):
        Genotype.load(path)


def test_load_error_names_the_file(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(good(strategy="v7")))
    with pytest.raises(GenotypeError, match=r"g.json: unknown strategy 'v7'"):
        Genotype.load(path)


def test_failed_save_keeps_the_old_file(tmp_path):
    path = Genotype.from_dict(good()).save(tmp_path / "g.json")
    before = path.read_text()
    bad = Genotype.from_dict(good(meta={"x": 1}))
    object.__setattr__(bad, "meta", {"x": object()})
    with pytest.raises(GenotypeError, match="cannot write a object in genotype meta"):
        bad.save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["g.json"]  # no temporary left behind


class ArrayLike:
    """Stands in for a numpy array / torch tensor in meta (anything with ``tolist``)."""

    def tolist(self):
        return [[0.0] * 3] * 2


def test_meta_array_and_path_values_are_written_as_plain_json(tmp_path):
    g = Genotype.from_dict(good(meta={"alphas": ArrayLike(), "data": tmp_path}))
    meta = Genotype.load(g.save(tmp_path / "g.json")).meta
    assert meta == {"alphas": [[0.0] * 3] * 2, "data": str(tmp_path)}


def test_space_does_not_import_torch():
    code = "import sys, nash.space, nash.cli.genotype; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
