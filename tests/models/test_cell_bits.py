"""Per-cell main-branch bits (genotype schema 2): every cell's main convs/ReLUs get its own widths.

Cell ``k`` of a network built with ``cell_bits`` must have ``cell_bits[k]`` on its main 3x3 convs
(weights) and its main-branch ReLUs (inner ``main_acts`` and ``out_act``); every other quantized
layer (stem, head, input, residual, NAS branches, adds) keeps the global ``QuantSpec``.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
import torch
from brevitas.core.quant import BinaryQuant
from brevitas.nn import QuantConv2d, QuantHardTanh, QuantIdentity, QuantLinear, QuantReLU

from nash.errors import ModelError
from nash.models import (
    ModelOptions,
    NashResNet,
    QuantSpec,
    arch_bits_label,
    arch_cell_bits,
    arch_dict,
    build_model,
    model_from_arch,
    summarize,
)
from nash.space import Genotype, cell_specs

BITS = ((2, 2), (4, 4), (1, 1), (8, 8))
QUANT_LAYERS = (QuantConv2d, QuantLinear, QuantReLU, QuantIdentity, QuantHardTanh)
MAIN_CONV = re.compile(r"cells\.(\d+)\.main_convs\.\d+\.conv")
MAIN_ACT = re.compile(r"cells\.(\d+)\.(main_acts\.\d+|out_act)")
# global roles (as tests/models/test_roles.py) of every other quantized layer
OTHER = [
    (r"stem\.conv|head\.fc|head\.quant", "first_last_bits"),
    (r"stem\.input_quant", "input_bits"),
    (r"stem\.act", "main_act_bits"),
    (r"cells\.\d+\.shortcut\.1\.conv", "residual_weight_bits"),
    (r"cells\.\d+\.shortcut\.0", "residual_act_bits"),
    (r"cells\.\d+\.nas_ops\.\d+\.(conv|conv_a|conv_b)", "nas_weight_bits"),
    (r"cells\.\d+\.nas_acts\.\d+", "nas_act_bits"),
    (r"cells\.\d+\.((res_adds|nas_adds)\.\d+|_shared_add)\.quant", "add_act_bits"),
]


def _bits(module) -> int:
    if isinstance(module, QuantConv2d | QuantLinear):
        return int(module.quant_weight().bit_width)
    return int(module.act_quant.bit_width())


def _check_roles(model, spec: QuantSpec, cell_bits) -> dict[str, int]:
    """Assert every quantized layer's width; return how many main convs/acts each cell has."""
    seen: dict[str, int] = {}
    for name, module in model.named_modules():
        if not isinstance(module, QUANT_LAYERS):
            continue
        conv, act = MAIN_CONV.fullmatch(name), MAIN_ACT.fullmatch(name)
        if conv or act:
            k = int((conv or act).group(1))
            want = cell_bits[k][0 if conv else 1]
            key = f"{'conv' if conv else 'act'}{k}"
            seen[key] = seen.get(key, 0) + 1
            if conv and want == 1:
                assert isinstance(module.weight_quant.tensor_quant, BinaryQuant), name
        else:
            fields = [f for pattern, f in OTHER if re.fullmatch(pattern, name)]
            assert len(fields) == 1, f"{name}: roles {fields}"
            want = getattr(spec, fields[0])
        assert _bits(module) == want, f"{name}: {_bits(module)} bits, want {want}"
    return seen


@pytest.fixture(scope="module")
def v3_bits(reference_genotypes):
    return dataclasses.replace(reference_genotypes["v3"], bits=BITS).validate()


def test_genotype_bits_reach_each_cells_main_branch(v3_bits):
    spec = QuantSpec.from_tag("w8a8", version="v3", nas_act_bits=6, add_act_bits=5)
    model = build_model("resnet18", v3_bits, spec, 10, in_channels=1, width=8, stem="small")
    seen = _check_roles(model, spec, BITS)
    assert seen == {f"{kind}{k}": 4 for kind in ("conv", "act") for k in range(4)}  # 4 convs, 3+1 acts
    assert model.cell_bits == BITS and model.bits_label == "w2a2|w4a4|w1a1|w8a8"
    assert [q.tag for q in model.cell_quant] == ["w2a2", "w4a4", "w1a1", "w8a8"]
    assert model.quant_spec == spec  # the global spec is untouched
    out = model(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_original_resnet_with_cell_bits_and_override(v3_bits):
    spec = QuantSpec.from_tag("w2a2", version="o")
    bits = [(2, 2), (4, 4), (4, 4), (8, 8)]
    model = build_model("resnet18", None, spec, 10, 3, 8, "small", cell_bits=bits)
    _check_roles(model, spec, bits)
    assert model.bits_label == "w2a2|w4a4|w4a4|w8a8"
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    # cell_bits overrides the genotype's
    v3 = QuantSpec.from_tag("w2a2", version="v3")
    over = build_model("resnet18", v3_bits, v3, 10, 1, 8, "small", cell_bits=bits)
    _check_roles(over, v3, bits)


def test_uniform_cell_bits_equal_the_plain_network(reference_genotypes):
    spec = QuantSpec.from_tag("w4a4", version="v4")
    plain = build_model("resnet18", reference_genotypes["v4"], spec, 10, 1, 8, "small")
    same = build_model("resnet18", reference_genotypes["v4"], spec, 10, 1, 8, "small", cell_bits=[(4, 4)] * 4)
    assert same.bits_label == plain.bits_label == "w4a4"
    assert {k: v.shape for k, v in same.state_dict().items()} == {
        k: v.shape for k, v in plain.state_dict().items()
    }
    assert all(q == spec for q in same.cell_quant)


def test_wrong_cell_bits_are_one_line_model_errors():
    spec = QuantSpec.from_tag("w2a2", version="o")
    with pytest.raises(ModelError, match=r"resnet18 has 4 cells but 3 cell bit pairs were given; give one"):
        build_model("resnet18", None, spec, 10, 1, 8, "small", cell_bits=[(2, 2)] * 3)
    with pytest.raises(ModelError, match=r"cell 2 bits: QuantSpec.main_act_bits: unsupported bit width 9"):
        build_model("resnet18", None, spec, 10, 1, 8, "small", cell_bits=[(2, 2), (2, 2), (2, 9), (2, 2)])
    with pytest.raises(ModelError, match=r"cell 1 bits: cell bits must be a \(weight_bits, act_bits\) pair"):
        build_model("resnet18", None, spec, 10, 1, 8, "small", cell_bits=[(2, 2), (2,), (2, 2), (2, 2)])
    with pytest.raises(ModelError, match="the backbone has 4 cells but 2 cell bit pairs"):
        NashResNet(cell_specs("resnet18"), spec, 10, width=8, stem="small", cell_bits=[(2, 2)] * 2)


@pytest.mark.parametrize("shared", [False, True])
def test_zero_op_nodes_and_1bit_last_cell_run(shared):
    """Networks built directly with ``zero`` nodes (as the search does) and any head input bits."""
    nodes = [[("zero", 0), ("conv_3x3", 1), ("zero", 2), ("identity", 0)]] * 4
    spec = QuantSpec.from_tag("w2a2", version="v3")
    options = ModelOptions(shared_quant=shared, x0_nas_act=not shared)
    model = NashResNet(
        cell_specs("resnet18"),
        spec,
        10,
        nodes,
        1,
        8,
        "small",
        options,
        cell_bits=[(8, 8), (4, 2), (2, 4), (1, 1)],
    )
    assert [len(c.nas_ops) for c in model.cells] == [2] * 4
    _check_roles(model, spec, [(8, 8), (4, 2), (2, 4), (1, 1)])
    out = model(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def _shapes(model) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _trained_once(model, x):
    model.train()
    model(x)  # statistics so that act scales and BN buffers are non-default
    return model.eval()


def test_arch_round_trip_of_a_bits_genotype(v3_bits):
    torch.manual_seed(0)
    spec = QuantSpec.from_tag("w2a2", version="v3")
    arch = arch_dict("resnet18", "v3", "w2a2", v3_bits, 10, 1, 8, "small", (1, 28, 28), quant=spec)
    assert arch["bits"] == "w2a2" and arch["genotype"]["bits"] == [list(b) for b in BITS]
    assert "cell_bits" not in arch  # the bits travel inside the genotype
    assert arch_cell_bits(arch) == BITS and arch_bits_label(arch) == "w2a2|w4a4|w1a1|w8a8"
    x = torch.randn(4, 1, 28, 28)
    first, second = model_from_arch(arch), model_from_arch(arch)
    assert second.cell_bits == BITS
    assert _shapes(first) == _shapes(second)
    first = _trained_once(first, x)
    second.load_state_dict(first.state_dict())
    second.eval()
    assert torch.allclose(first(x), second(x), atol=1e-6)
    _check_roles(second, spec, BITS)


def test_arch_round_trip_of_original_cell_bits_and_old_arch_loads():
    torch.manual_seed(0)
    spec = QuantSpec.from_tag("w2a2", version="o")
    bits = [(2, 2), (4, 4), (4, 4), (8, 8)]
    arch = arch_dict(
        "resnet18", "o", "w2a2", None, 10, 3, 8, "small", (3, 32, 32), quant=spec, cell_bits=bits
    )
    assert arch["cell_bits"] == [[2, 2], [4, 4], [4, 4], [8, 8]] and arch["bits"] == "w2a2"
    assert arch_bits_label(arch) == "w2a2|w4a4|w4a4|w8a8"
    x = torch.randn(2, 3, 32, 32)
    first = _trained_once(model_from_arch(arch), x)
    second = model_from_arch(arch)
    second.load_state_dict(first.state_dict())
    assert torch.allclose(first(x), second.eval()(x), atol=1e-6)
    _check_roles(second, spec, bits)
    # an arch written before per-cell bits existed (no cell_bits, no quant, no bits in the genotype)
    old = {k: v for k, v in arch.items() if k not in ("cell_bits", "quant")}
    rebuilt = model_from_arch(old)
    assert rebuilt.cell_bits is None and rebuilt.bits_label == "w2a2"
    assert arch_cell_bits(old) is None and arch_bits_label(old) == "w2a2"
    _check_roles(rebuilt, spec, [(2, 2)] * 4)
    with pytest.raises(ModelError, match=r"'arch' cell_bits must be \[\[weight_bits, act_bits\], ...\]"):
        model_from_arch({**arch, "cell_bits": "w2a2"})


def test_old_genotype_arch_without_bits_loads(reference_genotypes):
    spec = QuantSpec.from_tag("w2a2", version="v3")
    arch = arch_dict("resnet18", "v3", "w2a2", reference_genotypes["v3"], 10, 1, 8, "small", (1, 28, 28))
    assert arch["genotype"]["schema"] == 1 and "bits" not in arch["genotype"]
    model = model_from_arch(arch)
    assert model.cell_bits is None and model.quant_spec == spec
    _check_roles(model, spec, [(2, 2)] * 4)


def test_summary_shows_the_bits_label(v3_bits):
    spec = QuantSpec.from_tag("w2a2", version="v3")
    info = summarize(build_model("resnet18", v3_bits, spec, 10, 1, 8, "small"), (1, 28, 28))
    assert info["bits"] == "w2a2|w4a4|w1a1|w8a8" and info["cell_bits"] == [list(b) for b in BITS]
    assert info["roles"]["main_weight_bits"] == 2  # the global spec's roles
    plain = summarize(build_model("resnet18", None, QuantSpec.from_tag("w2a2", version="o"), 10, 1, 8, "small"),
                      (1, 28, 28))  # fmt: skip
    assert plain["bits"] == "w2a2" and "cell_bits" not in plain


def test_a_genotype_json_with_bits_builds_through_summarize_build(tmp_path, v3_bits):
    from nash.models.summary import summarize_build

    path = v3_bits.save(tmp_path / "g.json")
    info = summarize_build("resnet18", "w2a2", (1, 28, 28), 10, genotype_path=str(path), width=8)
    assert info["bits"] == "w2a2|w4a4|w1a1|w8a8" and info["version"] == "v3"
    assert Genotype.load(path) == v3_bits
