"""Parameter / MAC counting against hand-computed and well-known values."""

from __future__ import annotations

import pytest
from brevitas.nn import QuantConv2d
from torch import nn

from nash.errors import ModelError
from nash.models import QuantSpec, build_model, count_params_macs, summarize


def test_single_layers_by_hand():
    conv = QuantConv2d(3, 4, 3, padding=1, bias=False)
    assert count_params_macs(conv, (3, 8, 8)) == (4 * 3 * 9, 4 * 8 * 8 * 3 * 9)
    fc = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    assert count_params_macs(fc, (3, 2, 2)) == (12 * 5 + 5, 60)
    with pytest.raises(ModelError, match="input_shape must be"):
        count_params_macs(conv, (3, 8))


def test_original_resnet18_matches_the_known_size():
    model = build_model("resnet18", None, QuantSpec.from_tag("w8a8", version="o"), 1000, 3, 64, "imagenet")
    params, macs = count_params_macs(model, (3, 224, 224))
    # torchvision resnet18: 11,689,512 params (ours has no classifier bias: -1000), 1.814 GMACs
    assert params == 11_689_512 - 1000
    assert abs(macs - 1.814e9) / 1.814e9 < 0.002


def test_summary_of_a_nash_model(reference_genotypes):
    model = build_model(
        "resnet18", reference_genotypes["v4"], QuantSpec.from_tag("w2a2", version="v4"), 10, 1, 8, "small"
    )
    info = summarize(model, (1, 32, 32))
    assert (
        info["bits"] == "w2a2"
        and info["roles"]["nas_weight_bits"] == 8
        and info["roles"]["main_act_bits"] == 2
    )
    assert info["adds"] == 24 and info["nas_edges"] == {"conv_1x1": 7, "conv_3x3": 5, "conv_5x5": 4}
    base_params, base_macs = count_params_macs(
        build_model("resnet18", None, QuantSpec.from_tag("w2a2", version="o"), 10, 1, 8, "small"), (1, 32, 32)
    )
    assert info["params"] > base_params and info["macs"] > base_macs  # NAS convs add work
    # cell 0 of v4: four 1x1 convs 8->8 at 32x32 -> 4 * 8*8*32*32 extra MACs (+ BN params 4*16)
    assert info["macs"] - base_macs >= 4 * 8 * 8 * 32 * 32
