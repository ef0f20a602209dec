"""Golden numbers recorded before the structural pass (issue 13): the derived networks' parameter
names and logits (fixed seed, fixed input, train and eval mode) must not change."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from nash.models import NashResNet, QuantSpec, build_model
from nash.space import cell_specs, load_reference_genotypes
from nash.space.reference import PACKAGED_REFERENCE

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_models.json").read_text())["models"]
CUSTOM = [  # max-pool and identity on size-changing edges (both concat paths) and zero nodes
    [("conv_3x3", 0)] * 4,
    [("identity", 0), ("max_pool_3x3", 0), ("zero", 1), ("conv_5x5", 0)],
    [("max_pool_3x3", 0), ("identity", 1), ("identity", 0), ("max_pool_3x3", 3)],
    [("conv_1x1", 0)] * 4,
]
CASES = {"o_w2a2": (None, "w2a2", "o"), "v1_w1a1": ("v1", "w1a1", "v1"), "v3_w2a2": ("v3", "w2a2", "v3"),
         "v4_w4a4": ("v4", "w4a4", "v4"), "custom_w2a2": ("custom", "w2a2", "v1")}  # fmt: skip


@pytest.mark.parametrize("size", [16, 15])
@pytest.mark.parametrize("case", sorted(CASES))
def test_model_matches_golden(case, size):
    which, bits, version = CASES[case]
    refs = load_reference_genotypes(PACKAGED_REFERENCE)
    spec = QuantSpec.from_tag(bits, version=version)
    torch.manual_seed(0)
    if which == "custom":  # zero nodes and rule-breaking ops: built below the genotype checks
        model = NashResNet(cell_specs("resnet18"), spec, 10, CUSTOM, 1, 4, "small")
    else:
        model = build_model("resnet18", refs.get(which), spec, 10, 1, 4, "small")
    golden = GOLDEN[f"{case}_{size}"]
    keys = list(model.state_dict())
    assert hashlib.sha256("\n".join(keys).encode()).hexdigest() == golden["keys_sha"], (
        "parameter names changed"
    )
    x = torch.randn(4, 1, size, size, generator=torch.Generator().manual_seed(1))
    train_logits = model.train()(x)
    eval_logits = model.eval()(x)
    torch.testing.assert_close(train_logits, torch.tensor(golden["train_logits"]), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(eval_logits, torch.tensor(golden["logits"]), rtol=1e-5, atol=1e-5)
