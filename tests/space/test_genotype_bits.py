"""Genotype schema 2: per-cell main-branch bits, JSON round trip, validation, ``QuantSpec.for_cell``."""

from __future__ import annotations

import dataclasses
import json

import pytest

from nash.cli import main
from nash.errors import ConfigError, GenotypeError
from nash.space import SCHEMA, SCHEMAS, Genotype, QuantSpec, bits_label, format_genotype

CELL = [["conv_5x5", 0], ["identity", 1], ["max_pool_3x3", 0], ["conv_1x1", 2]]
BITS = [[2, 2], [4, 4], [4, 4], [8, 8]]


def good(**changes):
    data = {"schema": 2, "backbone": "resnet18", "strategy": "v3", "cells": [CELL] * 4, "bits": BITS}
    data.update(changes)
    return data


def test_schema_constants():
    assert SCHEMA == 2 and SCHEMAS == (1, 2)


def test_schema1_file_loads_unchanged_and_resaves_byte_identically(tmp_path, reference_genotypes_path):
    from nash.space import load_reference_genotypes

    original = load_reference_genotypes(reference_genotypes_path)["v3"].save(tmp_path / "a.json")
    text = original.read_text()
    assert json.loads(text)["schema"] == 1 and "bits" not in json.loads(text)
    g = Genotype.load(original)
    assert g.bits is None
    again = g.save(tmp_path / "b.json")
    assert again.read_bytes() == original.read_bytes()
    plain = {"schema": 1, "backbone": "resnet18", "strategy": "v3", "cells": [CELL] * 4}
    assert Genotype.from_dict(plain).to_dict() == plain


def test_schema2_round_trip(tmp_path):
    g = Genotype.from_dict(good(cell_layers=4, meta={"seed": 1}))
    assert g.bits == ((2, 2), (4, 4), (4, 4), (8, 8))
    assert hash(g) == hash(Genotype.from_dict(good(cell_layers=4, meta={"seed": 1})))
    path = g.save(tmp_path / "g.json")
    text = path.read_text()
    assert '  "bits": [[2, 2], [4, 4], [4, 4], [8, 8]],\n' in text  # one line
    assert sum(line.startswith("    [[") for line in text.splitlines()) == 4  # one line per cell
    back = Genotype.load(path)
    assert back == g and back.bits == g.bits
    d = back.to_dict()
    assert d["schema"] == 2 and d["bits"] == BITS
    assert list(d) == ["schema", "backbone", "strategy", "cells", "cell_layers", "bits", "meta"]
    assert back.save(tmp_path / "h.json").read_bytes() == path.read_bytes()


def test_bits_are_keyword_only_and_frozen():
    g = Genotype("resnet18", "custom", [[("conv_3x3", 0)] * 4] * 4, None, {}, bits=[[2, 2]] * 4).validate()
    assert g.bits == ((2, 2),) * 4 and isinstance(g.bits[0], tuple)
    with pytest.raises(TypeError):
        Genotype("resnet18", "custom", [[("conv_3x3", 0)] * 4] * 4, None, {}, [[2, 2]] * 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.bits = None  # type: ignore[misc]
    assert g != dataclasses.replace(g, bits=None)
    assert dataclasses.replace(g, bits=None).to_dict()["schema"] == 1


def test_schema2_without_bits_and_missing_schema_load():
    g = Genotype.from_dict(good(bits=None))
    assert g.bits is None and g.to_dict()["schema"] == 1
    data = good()
    del data["schema"]
    assert Genotype.from_dict(data).bits == ((2, 2), (4, 4), (4, 4), (8, 8))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (good(bits=BITS[:3]), "genotype has 3 bit pairs but resnet18 (cell_layers=default) has 4 cells; give "),
        (good(bits=BITS + [[2, 2]]), "genotype has 5 bit pairs but resnet18"),
        (good(bits=[[2, 2], [0, 4], [4, 4], [8, 8]]), "cell 1 bits: weight bits 0 unsupported; use an integer "),
        (good(bits=[[2, 2], [4, 4], [4, 9], [8, 8]]), "cell 2 bits: act bits 9 unsupported; use an integer from 1 to 8"),
        (good(bits=[[True, 2], [4, 4], [4, 4], [8, 8]]), "cell 0 bits: weight bits True unsupported"),
        (good(bits=[[2, 2], [4, 4], [4, 4], [8, "8"]]), "cell 3 bits: act bits '8' unsupported"),
        (good(bits=[[2, 2], [4, 4], [4, 4], [8, 8.0]]), "cell 3 bits: act bits 8.0 unsupported"),
        (good(bits=[[2, 2], [4], [4, 4], [8, 8]]), "cell 1 bits: expected a [weight_bits, act_bits] pair such as [4, 4]"),
        (good(bits=[[2, 2], "w4a4", [4, 4], [8, 8]]), "cell 1 bits: expected a [weight_bits, act_bits] pair"),
        (good(bits="w2a2"), "bits must be a list of [weight_bits, act_bits] pairs, one per cell, got 'w2a2'"),
        (good(schema=1), 'genotype schema 1 has no per-cell "bits"; write "schema": 2'),
        (good(schema=3), "unsupported genotype schema 3; this version reads schema 1 or 2"),
        (good(schema=True), "unsupported genotype schema True"),
        (good(schema="2"), "unsupported genotype schema '2'"),
    ],
)  # fmt: skip
def test_bad_bits_are_one_line_errors(data, message):
    with pytest.raises(GenotypeError) as info:
        Genotype.from_dict(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bits_count_follows_cell_layers():
    cells = [[("conv_3x3", 0)] * 2] * 8
    g = Genotype("resnet18", "custom", cells, cell_layers=2, bits=[(2, 2)] * 8).validate()
    assert len(g.bits) == 8
    with pytest.raises(GenotypeError, match=r"has 4 bit pairs but resnet18 \(cell_layers=2\) has 8 cells"):
        Genotype("resnet18", "custom", cells, cell_layers=2, bits=[(2, 2)] * 4).validate()


def test_quant_spec_for_cell():
    base = QuantSpec.from_tag("w2a2", version="v3", nas_act_bits=6)
    assert base.for_cell(None) is base
    cell = base.for_cell((4, 8))
    assert (cell.main_weight_bits, cell.main_act_bits, cell.tag) == (4, 8, "w4a8")
    unchanged = {
        k: v for k, v in base.to_dict().items() if k not in ("main_weight_bits", "main_act_bits", "tag")
    }
    assert {k: cell.to_dict()[k] for k in unchanged} == unchanged
    assert base.for_cell((2, 2)) == base
    with pytest.raises(ConfigError, match="QuantSpec.main_weight_bits: unsupported bit width 9"):
        base.for_cell((9, 2))
    with pytest.raises(ConfigError, match=r"cell bits must be a \(weight_bits, act_bits\) pair"):
        base.for_cell((2, 2, 2))  # type: ignore[arg-type]


def test_bits_label():
    assert bits_label(None, "w2a2") == "w2a2"
    assert bits_label([(2, 2)] * 4, "w2a2") == "w2a2"
    assert bits_label(((2, 2), (4, 4), (4, 4), (8, 8)), "w2a2") == "w2a2|w4a4|w4a4|w8a8"
    assert bits_label([(2, 2)] * 4, "w4a4") == "w2a2|w2a2|w2a2|w2a2"


def test_show_and_check_print_cell_bits(tmp_path, capsys):
    friendly = [["conv_3x3", 0], ["identity", 1], ["max_pool_3x3", 1], ["conv_1x1", 0]]
    path = Genotype.from_dict(good(cells=[friendly] * 4)).save(tmp_path / "g.json")
    text = format_genotype(Genotype.load(path))
    assert "cell 1  (stage 1, 4 layers, downsample)  main w4a4" in text.splitlines()
    assert main(["genotype", "show", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "cell 0  (stage 0, 4 layers)  main w2a2"
    assert lines[16] == "cell 3  (stage 3, 4 layers, downsample)  main w8a8"
    assert main(["genotype", "check", str(path)]) == 0
    assert "main bits w2a2 w4a4 w4a4 w8a8" in capsys.readouterr().out
    plain = Genotype.from_dict(good(bits=None))
    assert "main w" not in format_genotype(plain)
