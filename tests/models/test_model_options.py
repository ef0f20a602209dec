"""``ModelOptions`` (recipe rows 6, 7, 8, 15): each option builds, runs and round-trips through ``arch``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nash.errors import ConfigError, ModelError
from nash.models import ModelOptions, QuantSpec, add_act, arch_dict, build_model, model_from_arch
from nash.space import default_reference_path, load_reference_genotypes

REFERENCE = ModelOptions(
    stage0_shortcut=True,
    stem_order="conv-pool-bn-act",
    input_quant=False,
    head_bits=4,
    act1_relu=True,
    shortcut_act=False,
    x0_nas_act=False,
    shared_quant=True,
)


def _v3():
    return load_reference_genotypes(default_reference_path())["v3"]


@pytest.mark.parametrize("bits", ["w1a1", "w2a2"])
def test_reference_options_build_and_run(bits):
    torch.manual_seed(0)
    g = _v3()
    model = build_model(
        "resnet18", g, QuantSpec.from_tag(bits, version="v3"), 10, 3, 4, "imagenet", REFERENCE
    )
    model.eval()
    y = model(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 10) and torch.isfinite(y).all()
    assert isinstance(model.stem.input_quant, nn.Identity) and model.stem.pool_first
    cell0 = model.cells[0]
    assert cell0.shortcut is not None and isinstance(cell0.shortcut[0], nn.Identity)  # row 6 / row 7
    assert len({id(m) for m in cell0.res_adds.values()} | {id(m) for m in cell0.nas_adds.values()}) == 1
    assert cell0.main_acts["2"] is cell0.out_act
    assert isinstance(model.cells[1].nas_acts["0"], nn.Identity)  # x0 read as it is


def test_act1_relu_is_unsigned_one_bit():
    model = build_model("resnet18", None, QuantSpec.from_tag("w1a1", version="o"), 10, 1, 4, "small",
                        ModelOptions(act1_relu=True))  # fmt: skip
    out = model.stem.act(torch.randn(4, 4, 3, 3))
    assert float(out.min()) == 0.0 and len(torch.unique(out)) == 2


def test_default_options_leave_arch_unchanged_and_round_trip():
    g = _v3()
    spec = QuantSpec.from_tag("w2a2", version="v3")
    plain = arch_dict("resnet18", "v3", "w2a2", g, 10, 1, 4, "small", (1, 32, 32), quant=spec,
                      options=ModelOptions())  # fmt: skip
    assert "model_options" not in plain
    arch = arch_dict(
        "resnet18", "v3", "w2a2", g, 10, 1, 4, "small", (1, 32, 32), quant=spec, options=REFERENCE
    )
    assert arch["model_options"]["head_bits"] == 4
    assert model_from_arch(arch).options == REFERENCE


def test_bad_options_and_add_act_kind():
    with pytest.raises(ConfigError, match="unknown option 'nope'"):
        ModelOptions.from_dict({"nope": 1})
    with pytest.raises(ConfigError, match="stem_order"):
        ModelOptions(stem_order="pool-first")
    with pytest.raises(ModelError, match="unknown kind 'relu6'"):
        add_act("relu6", 8)


def test_reference_derived_genotypes_build_with_zero_and_size_changing_identity(tmp_path):
    import numpy as np

    from nash.cli import main
    from nash.space import OPS, cell_edges, cell_specs
    from nash.space.derivation import derive_reference

    rng = np.random.default_rng(1)
    found = {}
    for _ in range(400):
        raw = [rng.normal(0, 1, size=(len(cell_edges(s)), len(OPS))).tolist() for s in cell_specs("resnet18")]
        v1, v3 = derive_reference("v1", "resnet18", raw), derive_reference("v3", "resnet18", raw)
        if any(op == "identity" and e.size_changing for c in v1.chosen_edges() for e, op in c):
            found.setdefault("v1", v1)
        if any(op == "zero" for c in v3.cells for op, _ in c):
            found.setdefault("v3", v3)
        if len(found) == 2:
            break
    assert set(found) == {"v1", "v3"}
    for version, g in found.items():
        path = g.save(tmp_path / f"{version}.json")
        assert main(["genotype", "check", str(path)]) == 0  # checked against the rule it recorded
        model = build_model("resnet18", g, QuantSpec.from_tag("w2a2", version=version), 10, 1, 4, "small")
        assert model.eval()(torch.randn(1, 1, 32, 32)).shape == (1, 10)
