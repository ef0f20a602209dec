"""Building original / NASH networks: shapes, structure (cascaded 2-input adds), errors, arch round trip."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
import torch

from nash.errors import GenotypeError, ModelError
from nash.models import (
    NashResNet,
    QuantAdd,
    QuantSpec,
    arch_dict,
    build_model,
    count_adds,
    model_from_arch,
    nas_edges_by_op,
)
from nash.space import Genotype, cell_specs


@pytest.mark.parametrize("version", ["v1", "v2", "v3", "v4"])
def test_reference_genotypes_build_and_run(reference_genotypes, version):
    torch.manual_seed(0)
    g = reference_genotypes[version]
    model = build_model(
        "resnet18", g, QuantSpec.from_tag("w2a2", version=version), 10, in_channels=1, width=4, stem="small"
    )
    out = model(torch.randn(2, 1, 16, 16))
    assert type(out) is torch.Tensor and out.shape == (2, 10) and torch.isfinite(out).all()
    feats = model.forward_features(torch.randn(2, 1, 16, 16))
    assert feats.shape == (2, 32, 2, 2)  # width 4 * 8 channels, 16 px / 8 after three downsample cells
    assert model.forward_head(feats).shape == (2, 10)
    assert nas_edges_by_op(model) == dict(sorted(Counter(op for cell in g.cells for op, _ in cell).items()))


def test_imagenet_stem_three_channels():
    model = build_model("resnet18", None, QuantSpec.from_tag("w4a4", version="o"), 7, in_channels=3, width=4)
    assert model.forward_features(torch.randn(1, 3, 64, 64)).shape == (1, 32, 2, 2)  # /4 stem, /8 cells
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 7)


def _chain_genotype(backbone: str, op: str = "conv_3x3") -> Genotype:
    cells = [[(op, j - 1) for j in range(1, s.n_layers + 1)] for s in cell_specs(backbone)]
    return Genotype(backbone, "custom", cells).validate()


def test_resnet34_original_and_nash():
    spec = QuantSpec.from_tag("w2a2", version="v4")
    original = build_model("resnet34", None, spec, 10, in_channels=1, width=4, stem="small")
    nash = build_model(
        "resnet34", _chain_genotype("resnet34"), spec, 10, in_channels=1, width=4, stem="small"
    )
    x = torch.randn(1, 1, 16, 16)
    assert original(x).shape == (1, 10) and nash(x).shape == (1, 10)
    assert (
        len(original.cells) == 6 and count_adds(original) == 16
    )  # cells 6 | 4+4 | 6+6 | 6 layers; 3+4+6+3 blocks
    assert count_adds(nash) == 16 + 32  # plus one add per NAS edge (32 layers)


def test_adds_are_two_input_cascades_on_quantized_operands():
    # zero nodes are no longer valid genotypes (issue 15), but the cell still skips a zero op (the
    # supernet's ops come from the same table), so the network is built below the genotype check
    cells = [
        [("conv_3x3", 0), ("identity", 0), ("zero", 1), ("max_pool_3x3", 2)],
        [("identity", 0), ("max_pool_3x3", 0), ("zero", 2), ("conv_5x5", 0)],
        [("conv_1x1", 0), ("zero", 0), ("identity", 1), ("max_pool_3x3", 3)],
        [("zero", 0)] * 4,
    ]
    g = SimpleNamespace(cells=cells)
    model = NashResNet(
        cell_specs("resnet18"), QuantSpec.from_tag("w2a2", version="v1"), 10, cells, 1, 4, "small"
    )
    calls: list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor]] = []  # (name, a, b, out), kept alive
    quant_outs: dict[str, list[torch.Tensor]] = {}

    def add_hook(name):
        return lambda m, inp, out: calls.append((name, inp[0], inp[1], out))

    for name, m in model.named_modules():
        if isinstance(m, QuantAdd):
            m.register_forward_hook(add_hook(name))
            m.quant.register_forward_hook(
                lambda q, inp, out, n=name: quant_outs.setdefault(n, []).append(out)
            )
    model(torch.randn(1, 1, 16, 16))
    n_nas = sum(op != "zero" for cell in g.cells for op, _ in cell)
    assert len(calls) == count_adds(model) == 8 + n_nas  # zero edges add nothing
    assert len(quant_outs) == len(calls) and all(
        len(v) == 2 for v in quant_outs.values()
    )  # both operands quantized
    outs = {id(out) for _, _, _, out in calls}
    cascaded = [name for name, a, _, _ in calls if id(a) in outs]
    # a NAS add on an even node takes the block add's output as its first operand (Figure 4b)
    expected = [
        f"cells.{c}.nas_adds.{j}"
        for c, cell in enumerate(g.cells)
        for j, (op, _) in enumerate(cell, 1)
        if j % 2 == 0 and op != "zero"
    ]
    assert cascaded == expected and len(expected) == 5


def test_genotype_errors():
    spec = QuantSpec.from_tag("w2a2", version="v1")
    with pytest.raises(ModelError, match="genotype is for 'resnet34' but the backbone is 'resnet18'"):
        build_model("resnet18", _chain_genotype("resnet34"), spec, 10)
    bad = Genotype("resnet18", "custom", [[("conv_3x3", 0)] * 4] * 3)
    with pytest.raises(GenotypeError, match="3 cells"):
        build_model("resnet18", bad, spec, 10)
    with pytest.raises(ModelError, match="unknown backbone 'resnet50'; valid backbones: resnet18, resnet34"):
        build_model("resnet50", None, spec, 10)
    with pytest.raises(ModelError, match="unknown stem 'tiny'"):
        build_model("resnet18", None, spec, 10, stem="tiny")
    with pytest.raises(ModelError, match="width must be a positive integer"):
        build_model("resnet18", None, spec, 10, width=0)


def test_genotype_breaking_its_strategy_rule_is_refused():
    """Issue 15 item 4: max-pool on a size-changing edge of a v3 genotype fails at build, not at export."""
    cells = [list(cell) for cell in _chain_genotype("resnet18").cells]
    cells[2][0] = ("max_pool_3x3", 0)
    spec = QuantSpec.from_tag("w2a2", version="v3")
    with pytest.raises(
        GenotypeError, match=r"breaks the v3 rule: cell 2 node 1: max_pool_3x3 on size-changing"
    ):
        build_model("resnet18", Genotype("resnet18", "v3", cells), spec, 10, 1, 4, "small")
    # a custom genotype has no rule of its own: built as given (training checks it against its version)
    build_model("resnet18", Genotype("resnet18", "custom", cells), spec, 10, 1, 4, "small")


def test_arch_stores_resolved_roles_and_old_checkpoints_rebuild(reference_genotypes):
    spec = QuantSpec.from_tag("w2a2", version="v3", nas_act_bits=4)
    arch = arch_dict("resnet18", "v3", "w2a2", reference_genotypes["v3"], 10, 1, 4, "small", (1, 16, 16),
                     {"nas_act_bits": 4}, quant=spec)  # fmt: skip
    assert arch["quant"] == spec.to_dict() and arch["quant"]["nas_weight_bits"] == 1
    assert model_from_arch(arch).quant_spec == spec
    # the stored widths win over tag + overrides (a changed default cannot change an old model)
    assert (
        model_from_arch(
            {**arch, "quant": {**arch["quant"], "residual_act_bits": 6}}
        ).quant_spec.residual_act_bits
        == 6
    )
    old = {k: v for k, v in arch.items() if k != "quant"}  # checkpoints written before this change
    assert model_from_arch(old).quant_spec == spec


def test_arch_round_trip_restores_the_same_function(reference_genotypes):
    torch.manual_seed(0)
    arch = arch_dict(
        "resnet18",
        "v2",
        "w3a2",
        reference_genotypes["v2"],
        10,
        in_channels=1,
        width=4,
        stem="small",
        input_shape=(1, 16, 16),
        quant_overrides={"add_act": "identity"},
    )
    first = model_from_arch(arch)
    x = torch.randn(4, 1, 16, 16)
    first.train()
    first(x)  # one training step of statistics so that scales and BN buffers are non-default
    first.eval()
    second = model_from_arch(arch)
    second.load_state_dict(first.state_dict())
    second.eval()
    assert second.quant_spec == first.quant_spec and second.quant_spec.add_act == "identity"
    assert torch.allclose(first(x), second(x), atol=1e-6)
    with pytest.raises(ModelError, match="lacks 'bits'"):
        model_from_arch({k: v for k, v in arch.items() if k != "bits"})
    with pytest.raises(ModelError, match="version 'o'"):
        model_from_arch({**arch, "version": "o"})
