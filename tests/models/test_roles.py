"""Every QuantSpec role reaches the right Brevitas layers, with the right bit width and quantizer kind.

Roles are recognised from module paths; every quantized layer of the model must belong to exactly one
role, so a layer built with the wrong spec field (or a forgotten one) fails the test.
"""

from __future__ import annotations

import re

import pytest
from brevitas.core.quant import BinaryQuant, ClampedBinaryQuant
from brevitas.nn import QuantConv2d, QuantHardTanh, QuantIdentity, QuantLinear, QuantReLU

from nash.models import QuantSpec, build_model

# (role, path regex, QuantSpec field giving the bit width)
ROLES = [
    ("first conv", r"stem\.conv", "first_last_bits"),
    ("classifier", r"head\.fc", "first_last_bits"),
    ("classifier input", r"head\.quant", "first_last_bits"),
    ("input", r"stem\.input_quant", "input_bits"),
    ("main conv", r"cells\.\d+\.main_convs\.\d+\.conv", "main_weight_bits"),
    ("main act", r"stem\.act|cells\.\d+\.(main_acts\.\d+|out_act)", "main_act_bits"),
    ("shortcut conv", r"cells\.\d+\.shortcut\.1\.conv", "residual_weight_bits"),
    ("shortcut act", r"cells\.\d+\.shortcut\.0", "residual_act_bits"),
    ("nas conv", r"cells\.\d+\.nas_ops\.\d+\.(conv|conv_a|conv_b)", "nas_weight_bits"),
    ("nas act", r"cells\.\d+\.nas_acts\.\d+", "nas_act_bits"),
    ("add act", r"cells\.\d+\.(res_adds|nas_adds)\.\d+\.quant", "add_act_bits"),
]
QUANT_LAYERS = (QuantConv2d, QuantLinear, QuantReLU, QuantIdentity, QuantHardTanh)


def _role(name: str) -> tuple[str, str]:
    hits = [(role, field) for role, pattern, field in ROLES if re.fullmatch(pattern, name)]
    assert len(hits) == 1, f"{name}: matched roles {hits}"
    return hits[0]


def _bits_and_binary(module) -> tuple[int, bool]:
    if isinstance(module, QuantConv2d | QuantLinear):
        qw = module.quant_weight()
        return int(qw.bit_width), isinstance(module.weight_quant.tensor_quant, BinaryQuant)
    proxy = module.act_quant
    binary = isinstance(proxy.fused_activation_quant_proxy.tensor_quant, ClampedBinaryQuant)
    return int(proxy.bit_width()), binary


@pytest.mark.parametrize("bits", ["w1a1", "w4a4"])
@pytest.mark.parametrize("version", ["v3", "v4"])
def test_every_role_gets_its_bits(reference_genotypes, version, bits):
    spec = QuantSpec.from_tag(bits, version=version)
    model = build_model(
        "resnet18", reference_genotypes[version], spec, 10, in_channels=1, width=4, stem="small"
    )
    seen: dict[str, int] = {}
    for name, module in model.named_modules():
        if not isinstance(module, QUANT_LAYERS):
            continue
        role, field = _role(name)
        want = getattr(spec, field)
        got, binary = _bits_and_binary(module)
        assert got == want, f"{name} ({role}) has {got} bits, want {field}={want}"
        assert binary == (want == 1), f"{name} ({role}): binary={binary} at {want} bits"
        if role == "add act":
            assert isinstance(module, QuantHardTanh)
        if role == "main act" and want > 1:
            assert isinstance(module, QuantReLU)
        seen[role] = seen.get(role, 0) + 1
    # resnet18: 16 main convs, 3 downsample shortcuts, 8 block adds + one add per non-zero NAS edge
    assert seen["main conv"] == 16 and seen["shortcut conv"] == 3 and seen["shortcut act"] == 3
    assert seen["main act"] == 1 + 4 * 4  # stem + (3 inner + 1 output) per cell
    assert seen["add act"] == 8 + 16  # reference genotypes have no zero op
    assert seen["nas conv"] == {"v3": 5, "v4": 16}[version]
    assert {"first conv", "classifier", "classifier input", "input", "nas act"} <= set(seen)


def test_identity_add_act_and_overrides_reach_layers(reference_genotypes):
    spec = QuantSpec.from_tag("w2a3", version="v1", add_act="identity", add_act_bits=6, nas_act_bits=5)
    model = build_model("resnet18", reference_genotypes["v1"], spec, 10, in_channels=1, width=4, stem="small")
    adds = [m for n, m in model.named_modules() if n.endswith("adds.2.quant") or n.endswith("adds.4.quant")]
    assert adds and all(type(m) is QuantIdentity and int(m.act_quant.bit_width()) == 6 for m in adds)
    nas_acts = [m for n, m in model.named_modules() if re.fullmatch(r"cells\.\d+\.nas_acts\.\d+", n)]
    assert nas_acts and all(int(m.act_quant.bit_width()) == 5 for m in nas_acts)
