"""Backbone registry, ``build_model``, and the checkpoint ``arch`` dict round trip.

How to add a backbone:
    Register its block layout in ``nash.space`` (so genotypes know its cells), then decorate a
    builder with ``@register_backbone("name")``; the builder takes ``(genotype, quant_spec,
    num_classes, in_channels, width, stem)`` and returns a model with the
    ``forward_features`` / ``forward_head`` / ``forward`` interface.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from torch import nn

from nash.errors import GenotypeError, ModelError
from nash.models.quant_spec import VERSIONS, QuantSpec
from nash.models.resnet import NashResNet
from nash.space import Genotype, cell_specs

__all__ = [
    "register_backbone",
    "get_backbone",
    "create_backbone",
    "list_backbones",
    "build_model",
    "arch_dict",
    "model_from_arch",
]

Builder = Callable[..., nn.Module]
_BACKBONES: dict[str, Builder] = {}


def register_backbone(name: str) -> Callable[[Builder], Builder]:
    """Decorator registering a model builder under ``name`` (a second registration warns)."""

    def deco(fn: Builder) -> Builder:
        if name in _BACKBONES:
            warnings.warn(f"backbone {name!r} registered twice; the later one wins", stacklevel=2)
        _BACKBONES[name] = fn
        return fn

    return deco


def get_backbone(name: str) -> Builder:
    """The builder of backbone ``name``; unknown names raise ``ModelError`` listing the choices."""
    if name not in _BACKBONES:
        raise ModelError(f"unknown backbone {name!r}; valid backbones: {', '.join(list_backbones())}")
    return _BACKBONES[name]


def create_backbone(name: str, **kwargs: Any) -> nn.Module:
    """Build backbone ``name`` with the builder's keyword arguments."""
    return get_backbone(name)(**kwargs)


def list_backbones(filter: str | None = None) -> list[str]:
    """Sorted registered backbone names, optionally only those containing ``filter``."""
    return sorted(n for n in _BACKBONES if filter is None or filter in n)


def _resnet_builder(backbone: str) -> Builder:
    def build(
        genotype: Genotype | None,
        quant_spec: QuantSpec,
        num_classes: int,
        in_channels: int = 3,
        width: int = 64,
        stem: str = "imagenet",
    ) -> nn.Module:
        if genotype is None:
            return NashResNet(cell_specs(backbone), quant_spec, num_classes, None, in_channels, width, stem)
        _check_genotype(genotype, backbone)
        specs = cell_specs(backbone, genotype.cell_layers)
        return NashResNet(specs, quant_spec, num_classes, genotype.cells, in_channels, width, stem)

    build.__doc__ = f"Quantized {backbone}: original (genotype None) or NASH-derived."
    return build


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


register_backbone("resnet18")(_resnet_builder("resnet18"))
register_backbone("resnet34")(_resnet_builder("resnet34"))


def build_model(
    backbone: str,
    genotype: Genotype | None,
    quant_spec: QuantSpec,
    num_classes: int,
    in_channels: int = 3,
    width: int = 64,
    stem: str = "imagenet",
) -> nn.Module:
    """Build the quantized original (``genotype=None``) or NASH network of ``backbone``.

    Args:
        backbone: a registered backbone (``"resnet18"``, ``"resnet34"``).
        genotype: the derived architecture, or ``None`` for the original quantized ResNet.
        quant_spec: bit width of every role (``QuantSpec.from_tag("w2a2", version="v3")``).
        num_classes: classifier outputs.
        in_channels: image channels (1 for Fashion-MNIST, 3 for CIFAR/ImageNet).
        width: channels of the first stage (64 at paper scale).
        stem: ``"imagenet"`` (7x7 s2 + max pool) or ``"small"`` (3x3 s1, for 28-32 px images).

    Raises:
        ModelError: unknown backbone/stem, bad sizes, genotype for another backbone.
        GenotypeError: malformed genotype.
    """
    return create_backbone(
        backbone,
        genotype=genotype,
        quant_spec=quant_spec,
        num_classes=num_classes,
        in_channels=in_channels,
        width=width,
        stem=stem,
    )


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
) -> dict[str, Any]:
    """The checkpoint ``"arch"`` dict of the contract (plain JSON-safe values)."""
    if version not in VERSIONS:
        raise ModelError(f"unknown version {version!r}; use one of {', '.join(VERSIONS)}")
    QuantSpec.from_tag(bits, version=version, **(quant_overrides or {}))  # validate early
    return {
        "backbone": backbone,
        "version": version,
        "bits": bits,
        "genotype": None if genotype is None else genotype.to_dict(),
        "quant_overrides": dict(quant_overrides or {}),
        "num_classes": num_classes,
        "in_channels": in_channels,
        "width": width,
        "stem": stem,
        "input_shape": None if input_shape is None else list(input_shape),
    }


def model_from_arch(arch: dict[str, Any]) -> nn.Module:
    """Rebuild the (untrained) model described by a checkpoint's ``"arch"`` dict.

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
    spec = QuantSpec.from_tag(arch["bits"], version=version, **(arch.get("quant_overrides") or {}))
    genotype = None if arch["genotype"] is None else Genotype.from_dict(arch["genotype"])
    if version == "o" and genotype is not None:
        raise ModelError("checkpoint 'arch' has version 'o' (original) but also a genotype; drop one of them")
    return build_model(
        arch["backbone"],
        genotype,
        spec,
        int(arch["num_classes"]),
        int(arch.get("in_channels", 3)),
        int(arch.get("width", 64)),
        str(arch.get("stem", "imagenet")),
    )
