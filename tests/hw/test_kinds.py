"""The layer-kind registry, enum validation and loud failures (no silent fallbacks)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from graphs import residual_net

from nash.config.hw import HwConfig
from nash.errors import FoldingError, HardwareError
from nash.hw import (
    LAYER_KINDS,
    Backend,
    CostContext,
    HwLayer,
    MemMode,
    RamStyle,
    apply_folding_config,
    create_layer,
    estimate_model,
    get_kind,
    list_kinds,
    lower_model,
    register_kind,
)
from nash.hw.costs import LayerCost
from nash.hw.estimate import cost_layers

# the smallest valid fields of each kind
FIELDS = {
    "MVAU": dict(mw=8, mh=4, weight_bits=2),
    "VVAU": dict(kernel=(3, 3), weight_bits=2),
    "StreamingDataWidthConverter": dict(in_width=8, out_width=4),
}


@pytest.mark.parametrize("kind", list(LAYER_KINDS))
@pytest.mark.parametrize("generation", ["current", "finn-0.9"])
def test_every_kind_has_a_cost_model_for_the_backend_it_picks(kind, generation):
    layer = create_layer(kind, name="x", channels=4, **FIELDS.get(kind, {}))
    layer = dataclasses.replace(layer, backend=layer.pick_backend(generation, "DSP48E2"))
    cost = layer.cost(CostContext(generation=generation))
    assert cost.cycles >= 0 and layer.kind == kind and get_kind(kind) is type(layer)
    assert layer.finn_prefix(generation) == (
        layer.v09_name if generation == "finn-0.9" else f"{kind}_{layer.backend}"
    )
    for attr, legal in layer.legal_values().items():  # folding values are the divisors of a bound
        assert legal[-1] == layer.fold_bounds()[attr] and all(legal[-1] % v == 0 for v in legal)


def test_registry_verbs_and_unknown_kind():
    assert list_kinds()[0] == "MVAU" and "StreamingDataWidthConverter" in list_kinds()
    with pytest.raises(HardwareError, match="unknown layer kind 'Shuffle'; registered: AddStreams"):
        get_kind("Shuffle")
    with pytest.raises(TypeError):  # a field the kind does not have
        create_layer("AddStreams", name="a", mw=3)


def test_enums_are_parsed_and_checked():
    m = create_layer("MVAU", name="m", mem_mode="const", ram_style="ultra", **FIELDS["MVAU"])
    assert (
        m.mem_mode is MemMode.INTERNAL_EMBEDDED and m.ram_style is RamStyle.ULTRA and m.backend is Backend.HLS
    )
    assert json.dumps(m.folding_entry()) == (
        '{"PE": 1, "SIMD": 1, "ram_style": "ultra", "resType": "auto", '
        '"mem_mode": "internal_embedded", "runtime_writeable_weights": 0}'
    )
    with pytest.raises(
        HardwareError, match="m: ram_style 'distributd' is not valid; valid values: auto, block"
    ):
        create_layer("MVAU", name="m", ram_style="distributd", **FIELDS["MVAU"])


def test_malformed_mvau_fails_loudly():
    with pytest.raises(HardwareError, match=r"m \(MVAU\): MW must be >= 1, got 0"):
        create_layer("MVAU", name="m", mw=0, mh=4, weight_bits=2)


def test_cost_layers_reports_only_missing_models_and_propagates_bugs():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Broken(HwLayer):
        kind = "BrokenForTest"

        def cost_hls(self, ctx: CostContext) -> LayerCost:
            raise ValueError("math domain error")

    register_kind(Broken)
    try:
        missing = create_layer("BrokenForTest", name="b", backend="rtl")  # no RTL model
        costs, unsupported = cost_layers((missing,), CostContext())
        assert costs == (None,) and unsupported == ["b (BrokenForTest_rtl: no cost model)"]
        with pytest.raises(ValueError, match="math domain"):
            cost_layers((create_layer("BrokenForTest", name="b"),), CostContext())
    finally:
        del LAYER_KINDS["BrokenForTest"]


def test_dwc_worked_example_by_hand():
    # I = lcm(8, 12) = 24; cnt = |ceil(log2(8/24))| + |ceil(log2(24/12))| = 1 + 1; cset = 24 + 12
    d = create_layer("StreamingDataWidthConverter", name="d", in_width=8, out_width=12)
    assert d.pick_backend("current", "DSP48E2") == "hls" and d.cost(CostContext()).lut == 38
    d = create_layer("StreamingDataWidthConverter", name="d", in_width=8, out_width=32)
    assert d.pick_backend("current", "DSP48E2") == "rtl" and d.cost(CostContext()).lut == 2 + 32


def test_misspelt_folding_attribute_value_is_one_line_error(tmp_path):
    layers = lower_model(residual_net(nas=False)).layers
    with pytest.raises(FoldingError) as err:
        apply_folding_config(layers, {"MVAU_hls_0": {"ram_style": "distributd"}})
    msg = str(err.value)
    assert (
        msg
        == "MVAU_hls_0: ram_style 'distributd' is not valid; valid values: auto, block, distributed, ultra"
    )
    with pytest.raises(
        FoldingError, match="mem_mode 'decoupld' is not valid; valid values: internal_embedded"
    ):
        apply_folding_config(layers, {"Defaults": {"mem_mode": ["decoupld", "all"]}})
    with pytest.raises(FoldingError, match="resType 'dps'"):  # validated even on a layer without it
        apply_folding_config(layers, {"AddStreams_hls_0": {"resType": "dps"}})
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"ConvolutionInputGenerator_rtl_0": {"ram_style": "blok"}}))
    with pytest.raises(FoldingError, match="ConvolutionInputGenerator_rtl_0: ram_style 'blok'"):
        estimate_model(residual_net(nas=False), HwConfig(fold="file", folding_file=str(path)))


def test_lowering_modules_have_no_import_cycle():
    import ast
    from pathlib import Path

    import nash.hw

    root = Path(nash.hw.__file__).parent
    imports = {}
    for path in [*root.glob("*.py"), *root.glob("kinds/*.py")]:
        mod = "nash.hw." + ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text())
        imports[mod] = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "nash.hw.lowering" not in imports["nash.hw.lower_ops"]

    def reach(mod, seen):
        for dep in imports.get(mod, ()):
            if dep in imports and dep not in seen:
                seen.add(dep)
                reach(dep, seen)
        return seen

    cyclic = [m for m in imports if m in reach(m, set()) and m != "nash.hw"]
    assert cyclic == []
