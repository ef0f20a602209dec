"""``build_model`` and the checkpoint ``arch`` dict round trip.

Backbones come from the one registry in ``nash.space`` (``register_backbone``): every registered
basic-block ResNet is built by the same generic :class:`~nash.models.resnet.NashResNet` from its
cell specs, so adding a backbone is one ``BackboneSpec`` there and nothing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from nash.errors import ConfigError, GenotypeError, ModelError
from nash.models.resnet import NashResNet
from nash.space import Genotype, cell_specs, check_strategy_rule
from nash.space.model_options import ModelOptions
from nash.space.quant import ORIGINAL, QuantSpec, bits_label, check_version

__all__ = ["build_model", "arch_dict", "model_from_arch", "arch_cell_bits", "arch_bits_label"]

CellBits = Sequence[tuple[int, int]]


def build_model(
    backbone: str,
    genotype: Genotype | None,
    quant_spec: QuantSpec,
    num_classes: int,
    in_channels: int = 3,
    width: int = 64,
    stem: str = "imagenet",
    options: ModelOptions | None = None,
    *,
    cell_bits: CellBits | None = None,
) -> nn.Module:
    """Build the quantized original (``genotype=None``) or NASH network of ``backbone``.

    Args:
        backbone: a backbone registered in ``nash.space`` (``"resnet18"``, ``"resnet34"``).
        genotype: the derived architecture, or ``None`` for the original quantized ResNet.
        quant_spec: bit width of every role (``QuantSpec.from_tag("w2a2", version="v3")``).
        num_classes: classifier outputs.
        in_channels: image channels (1 for Fashion-MNIST, 3 for CIFAR/ImageNet).
        width: channels of the first stage (64 at paper scale).
        stem: ``"imagenet"`` (7x7 s2 + max pool) or ``"small"`` (3x3 s1, for 28-32 px images).
        options: structural options (``ModelOptions``; ``None``: the project's network).
        cell_bits: per cell ``(weight_bits, act_bits)`` of the main branch; overrides the
            genotype's ``bits`` (schema 2), which apply when this is ``None``. Every other role
            follows ``quant_spec``. Lets the original ResNet have per-cell bits too.

    Raises:
        ModelError: unknown backbone/stem, bad sizes, genotype for another backbone, ``cell_bits``
            without one valid pair per cell.
        GenotypeError: malformed genotype, or one that breaks its own strategy's rule.

    Example:
        >>> spec = QuantSpec.from_tag("w2a2", version="o")
        >>> bits = [(2, 2), (4, 4), (4, 4), (8, 8)]
        >>> build_model("resnet18", None, spec, 10, 1, 8, "small", cell_bits=bits).bits_label
        'w2a2|w4a4|w4a4|w8a8'
    """
    if genotype is not None:
        _check_genotype(genotype, backbone)
    try:
        specs = cell_specs(backbone, None if genotype is None else genotype.cell_layers)
    except GenotypeError as exc:
        raise ModelError(str(exc)) from None
    nodes = None if genotype is None else genotype.cells
    if cell_bits is None and genotype is not None:
        cell_bits = genotype.bits
    if cell_bits is not None and (
        isinstance(cell_bits, str) or not isinstance(cell_bits, Sequence) or len(cell_bits) != len(specs)
    ):
        n = len(cell_bits) if isinstance(cell_bits, Sequence) else type(cell_bits).__name__
        raise ModelError(
            f"{backbone} has {len(specs)} cells but {n} cell bit pairs were given; "
            "give one (weight_bits, act_bits) per cell"
        )
    return NashResNet(
        specs, quant_spec, num_classes, nodes, in_channels, width, stem, options, cell_bits=cell_bits
    )


def _check_genotype(genotype: Genotype, backbone: str) -> None:
    if not isinstance(genotype, Genotype):
        raise GenotypeError(
            f"expected a nash.space.Genotype, got {type(genotype).__name__}; load it with Genotype.load"
        )
    if genotype.backbone != backbone:
        raise ModelError(
            f"genotype is for {genotype.backbone!r} but the backbone is {backbone!r}; "
            f"pass --backbone {genotype.backbone} or a {backbone} genotype"
        )
    genotype.validate()
    check_strategy_rule(genotype)


def arch_dict(
    backbone: str,
    version: str,
    bits: str,
    genotype: Genotype | None,
    num_classes: int,
    in_channels: int = 3,
    width: int = 64,
    stem: str = "imagenet",
    input_shape: tuple[int, int, int] | None = None,
    quant_overrides: dict[str, Any] | None = None,
    *,
    quant: QuantSpec | None = None,
    options: ModelOptions | None = None,
    cell_bits: CellBits | None = None,
) -> dict[str, Any]:
    """The checkpoint ``"arch"`` dict of the contract (plain JSON-safe values).

    ``quant`` is the resolved spec (built from ``bits``, ``version`` and ``quant_overrides`` when
    not given); its every role is stored under ``"quant"``, and :func:`model_from_arch` rebuilds
    from those widths, so a later change of ``QuantSpec`` defaults cannot change an old model.

    Per-cell main-branch bits: a schema-2 genotype carries them in the stored genotype dict;
    ``cell_bits`` (as :func:`build_model`'s, e.g. for the original ResNet) is stored as
    ``"cell_bits"`` only when given, so arch dicts without per-cell bits are unchanged. ``"bits"``
    stays the base tag (every other role); :func:`arch_bits_label` gives the network's label.
    """
    try:
        check_version(version)
    except ConfigError as exc:
        raise ModelError(str(exc)) from None
    if quant is None:
        quant = QuantSpec.from_tag(bits, version=version, **(quant_overrides or {}))
    out = {
        "backbone": backbone,
        "version": version,
        "bits": bits,
        "genotype": None if genotype is None else genotype.to_dict(),
        "quant_overrides": dict(quant_overrides or {}),
        "quant": quant.to_dict(),
        "num_classes": num_classes,
        "in_channels": in_channels,
        "width": width,
        "stem": stem,
        "input_shape": None if input_shape is None else list(input_shape),
    }
    if cell_bits is not None:  # absent = the genotype's bits, or none (older checkpoints too)
        out["cell_bits"] = [[int(w), int(a)] for w, a in cell_bits]
    if (
        options is not None and not options.is_default
    ):  # absent = the project's network (older checkpoints too)
        out["model_options"] = options.to_dict(changed_only=True)
    return out


def model_from_arch(arch: dict[str, Any]) -> nn.Module:
    """Rebuild the (untrained) model described by a checkpoint's ``"arch"`` dict.

    Uses the stored per-role widths (``arch["quant"]``); checkpoints written before they were
    stored are rebuilt from ``bits`` + ``version`` + ``quant_overrides``.

    Raises:
        ModelError: a required key is missing or the dict is not a mapping.
    """
    if not isinstance(arch, dict):
        raise ModelError(
            f"checkpoint 'arch' must be a dict, got {type(arch).__name__}; is this a nash checkpoint?"
        )
    required = ("backbone", "version", "bits", "genotype", "num_classes")
    missing = [k for k in required if k not in arch]
    if missing:
        raise ModelError(f"checkpoint 'arch' lacks {missing[0]!r}; re-save it with nash.models.arch_dict")
    version = arch["version"]
    if arch.get("quant") is not None:
        spec = QuantSpec.from_dict(arch["quant"])
    else:  # written before the resolved widths were stored
        spec = QuantSpec.from_tag(arch["bits"], version=version, **(arch.get("quant_overrides") or {}))
    genotype = None if arch["genotype"] is None else Genotype.from_dict(arch["genotype"])
    if version == ORIGINAL and genotype is not None:
        raise ModelError("checkpoint 'arch' has version 'o' (original) but also a genotype; drop one of them")
    return build_model(
        arch["backbone"],
        genotype,
        spec,
        int(arch["num_classes"]),
        int(arch.get("in_channels", 3)),
        int(arch.get("width", 64)),
        str(arch.get("stem", "imagenet")),
        ModelOptions.from_dict(arch.get("model_options")),
        cell_bits=_stored_cell_bits(arch),
    )


def _stored_cell_bits(arch: dict[str, Any]) -> tuple[tuple[int, int], ...] | None:
    raw = arch.get("cell_bits")
    if raw is None:
        return None
    if not isinstance(raw, list | tuple) or not all(isinstance(p, list | tuple) and len(p) == 2 for p in raw):
        raise ModelError(
            f"checkpoint 'arch' cell_bits must be [[weight_bits, act_bits], ...] per cell, got {raw!r}; "
            "re-save it with nash.models.arch_dict"
        )
    return tuple((p[0], p[1]) for p in raw)


def arch_cell_bits(arch: dict[str, Any]) -> tuple[tuple[int, int], ...] | None:
    """The per-cell main-branch bits an ``arch`` dict builds: its ``"cell_bits"``, else its genotype's.

    ``None`` when the network has none (every arch written before per-cell bits existed).
    """
    stored = _stored_cell_bits(arch)
    if stored is not None:
        return stored
    genotype = arch.get("genotype")
    bits = genotype.get("bits") if isinstance(genotype, dict) else None
    return None if bits is None else tuple((p[0], p[1]) for p in bits)


def arch_bits_label(arch: dict[str, Any]) -> str:
    """The bit-width label of the network an ``arch`` dict builds (``bits_label`` of its cells).

    Example:
        >>> arch_bits_label({"bits": "w2a2", "genotype": None, "cell_bits": [[2, 2], [4, 4]]})
        'w2a2|w4a4'
    """
    return bits_label(arch_cell_bits(arch), str(arch["bits"]))
