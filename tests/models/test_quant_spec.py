"""QuantSpec.from_tag, validation, and the quantizer recipes (bit widths, binary = +-scale)."""

from __future__ import annotations

import pytest
import torch
from brevitas.nn import QuantConv2d
from hypothesis import given, settings
from hypothesis import strategies as st

from nash.errors import ConfigError
from nash.models import QuantSpec
from nash.models.quant import weight_quant_kwargs


@pytest.mark.parametrize(("version", "nas_bits"), [("o", 1), ("v1", 1), ("v2", 1), ("v3", 1), ("v4", 8)])
def test_from_tag_paper_defaults(version, nas_bits):
    spec = QuantSpec.from_tag("w2a4", version=version)
    assert (spec.main_weight_bits, spec.main_act_bits) == (2, 4)
    assert spec.nas_weight_bits == nas_bits
    assert (spec.residual_weight_bits, spec.residual_act_bits, spec.nas_act_bits) == (8, 8, 8)
    assert (spec.first_last_bits, spec.input_bits, spec.add_act_bits, spec.add_act) == (8, 8, 8, "hardtanh")
    assert spec.tag == "w2a4"


def test_overrides_apply_and_none_is_dropped():
    spec = QuantSpec.from_tag(
        "W8A8", version="v4", nas_act_bits=4, add_act="identity", residual_weight_bits=None
    )
    assert (spec.nas_act_bits, spec.add_act, spec.residual_weight_bits, spec.tag) == (
        4,
        "identity",
        8,
        "w8a8",
    )
    base = QuantSpec.from_tag("w8a8", version="v4")
    assert spec.overrides_from(base) == {"nas_act_bits": 4, "add_act": "identity"}
    assert QuantSpec.from_tag("w8a8", version="v4", **spec.overrides_from(base)) == spec


@pytest.mark.parametrize("tag", ["w0a2", "w9a8", "w2a0", "w2a33", "x2a2", "w2", "", "w2a2b"])
def test_bad_tag_is_one_line_config_error(tag):
    with pytest.raises(ConfigError, match=r"unsupported bit width tag .* use w1a1\.\.w8a8") as info:
        QuantSpec.from_tag(tag)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"), [("nas_act_bits", 0), ("residual_weight_bits", 33), ("input_bits", 2.5)]
)
def test_bad_bits_name_the_field(field, value):
    with pytest.raises(
        ConfigError, match=rf"QuantSpec\.{field}: unsupported bit width {value!r}; use an integer from 1 to 8"
    ):
        QuantSpec.from_tag("w2a2", **{field: value})


def test_unknown_field_version_and_add_act():
    with pytest.raises(ConfigError, match="unknown QuantSpec field 'nas_bits'"):
        QuantSpec.from_tag("w2a2", nas_bits=4)
    with pytest.raises(ConfigError, match="unknown version 'v9'"):
        QuantSpec.from_tag("w2a2", version="v9")
    with pytest.raises(ConfigError, match="add_act: 'relu' is not one of identity, hardtanh"):
        QuantSpec.from_tag("w2a2", add_act="relu")


@settings(max_examples=12, deadline=None)
@given(bits=st.integers(2, 8), seed=st.integers(0, 1000))
def test_int_weights_lie_on_a_narrow_integer_grid(bits, seed):
    torch.manual_seed(seed)
    conv = QuantConv2d(3, 4, 3, bias=False, **weight_quant_kwargs(bits))
    qw = conv.quant_weight()
    ints = qw.value / qw.scale
    assert int(qw.bit_width) == bits
    assert torch.allclose(ints, ints.round(), atol=1e-4)
    assert ints.abs().max() <= 2 ** (bits - 1) - 1 + 1e-4  # narrow range, max |w| hits the top level
    assert ints.abs().max() >= 2 ** (bits - 1) - 1 - 1e-4


def test_one_bit_weights_are_binary_with_mean_abs_scale():
    torch.manual_seed(0)
    conv = QuantConv2d(3, 5, 3, bias=False, **weight_quant_kwargs(1))
    qw = conv.quant_weight()
    assert int(qw.bit_width) == 1
    expected_scale = conv.weight.detach().abs().mean(dim=(1, 2, 3))
    assert torch.allclose(qw.scale.flatten(), expected_scale, rtol=1e-5)
    assert torch.equal(qw.value, torch.sign(conv.weight.detach()) * qw.scale)  # +-scale, never 0
