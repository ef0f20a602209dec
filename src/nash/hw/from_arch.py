"""Architecture-only path: build an untrained quantised model and export it to QONNX for estimation.

``nash.hw`` never imports torch at module import; this module imports ``nash.models`` and
``nash.export`` (torch + Brevitas) only inside ``export_arch``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nash.errors import ConfigError

__all__ = ["export_arch", "parse_input_shape"]


def parse_input_shape(text: str | tuple[int, int, int]) -> tuple[int, int, int]:
    """``"3x224x224"`` -> (3, 224, 224); raises ``ConfigError`` on a malformed shape."""
    if isinstance(text, tuple):
        return text
    try:
        c, h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--input {text!r} is not CxHxW (e.g. 3x224x224)") from None
    return c, h, w


def export_arch(
    backbone: str,
    *,
    bits: str = "w2a2",
    input_shape: str | tuple[int, int, int] = "3x224x224",
    num_classes: int = 1000,
    genotype: str | None = None,
    strategy: str | None = None,
    width: int = 64,
    stem: str = "imagenet",
    out_dir: str | None = None,
    recipe: str | None = None,
) -> Path:
    """Build ``backbone`` (original, or NASH with ``genotype``) untrained and export it; return the .onnx path.

    Args:
        backbone: "resnet18" | "resnet34".
        bits: quantisation tag, e.g. "w1a1", "w2a2"; a schema-2 genotype's per-cell ``bits``
            replace its main-branch widths cell by cell (every other role keeps ``bits``).
        input_shape: "CxHxW" or a (C, H, W) tuple.
        num_classes: classifier outputs.
        genotype: genotype JSON path; None builds the original quantised ResNet.
        strategy: NASH version (v1..v4) selecting the NAS-branch quantisers; default the genotype's.
        width: base channel width; stem: "imagenet" | "small".
        out_dir: where ``model.onnx`` goes (a temporary directory when None).
        recipe: a ``nash.config.recipes`` name; its ``train.model`` options shape the network
            (``reference``: the authors' stem order, shortcuts, shared quantisers, 4-bit head ...).

    Raises:
        ConfigError: ``strategy`` names another strategy than the genotype was derived by (a
            ``custom`` genotype may be built as any version), or an unknown recipe.
        GenotypeError: the genotype breaks the rule of ``strategy``.
    """
    from nash.config.recipes import DEFAULT_RECIPE, recipe_overrides
    from nash.export import export_model
    from nash.models import ModelOptions, QuantSpec, build_model
    from nash.space import CUSTOM_STRATEGY, Genotype, check_strategy_rule

    shape = parse_input_shape(input_shape)
    geno = Genotype.load(genotype) if genotype else None
    if geno is not None and strategy is not None:  # as `nash train`: the genotype's own strategy or custom
        if geno.strategy not in (CUSTOM_STRATEGY, strategy):
            raise ConfigError(
                f"genotype {genotype} was derived by strategy {geno.strategy} but --strategy is {strategy}; "
                f"pass --strategy {geno.strategy} (or leave it out) or a {strategy} genotype"
            )
        check_strategy_rule(geno, strategy)
    version = strategy or (geno.strategy if geno is not None else "o")
    spec = QuantSpec.from_tag(bits, version=version)
    options = ModelOptions.from_dict(recipe_overrides(recipe or DEFAULT_RECIPE, "train").get("model"))
    model = build_model(
        backbone, geno, spec, num_classes, in_channels=shape[0], width=width, stem=stem, options=options
    )
    out = Path(out_dir or tempfile.mkdtemp(prefix="nash_hw_")) / "model.onnx"
    label = getattr(model, "bits_label", bits)  # a schema-2 genotype: "w2a2|w4a4|..."
    meta = {"backbone": backbone, "bits": label, "version": version if geno is not None else "o"}
    if recipe and recipe != DEFAULT_RECIPE:
        meta["recipe"] = recipe
    return export_model(model, shape, out, metadata=meta)
