"""Backbone specs: how many basic blocks each ResNet stage has and how stages split into cells.

How to add a backbone:
    Decorate a zero-argument function returning a ``BackboneSpec`` with ``@register_backbone``.
    Only basic-block ResNets (two 3x3 conv layers per block) are described here; ``nash.models``
    turns a spec into a network.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

from nash.errors import GenotypeError

__all__ = ["BackboneSpec", "STEMS", "register_backbone", "get_backbone", "create_backbone", "list_backbones"]

# Input stems every backbone can be built with: "imagenet" (7x7 s2 conv + 3x3 s2 max pool, for
# 224 px) and "small" (3x3 s1 conv, for 28-32 px images).
STEMS: tuple[str, ...] = ("imagenet", "small")


@dataclass(frozen=True)
class BackboneSpec:
    """A basic-block ResNet: blocks per stage, default cell size and channel multipliers.

    Attributes:
        name: registry name, e.g. ``"resnet18"``.
        stage_blocks: basic blocks per stage, e.g. ``(2, 2, 2, 2)``.
        cell_layers: default maximum number of 3x3 conv layers per cell (even: whole blocks).
        channel_multipliers: channels of each stage relative to the base width (``1, 2, 4, 8``).
        layers_per_block: 3x3 conv layers in one basic block (2).
    """

    name: str
    stage_blocks: tuple[int, ...]
    cell_layers: int
    channel_multipliers: tuple[int, ...] = (1, 2, 4, 8)
    layers_per_block: int = 2

    def stage_layers(self) -> tuple[int, ...]:
        """3x3 conv layers per stage, e.g. ``(4, 4, 4, 4)`` for resnet18."""
        return tuple(b * self.layers_per_block for b in self.stage_blocks)


_BACKBONES: dict[str, Callable[[], BackboneSpec]] = {}


def register_backbone(fn: Callable[[], BackboneSpec]) -> Callable[[], BackboneSpec]:
    """Register a backbone factory under the name of the spec it returns (decorator)."""
    name = fn().name
    if name in _BACKBONES:
        warnings.warn(f"backbone {name!r} registered twice; the later one wins", stacklevel=2)
    _BACKBONES[name] = fn
    return fn


def get_backbone(name: str) -> BackboneSpec:
    """The spec of backbone ``name``; an unknown name raises ``GenotypeError`` listing the choices."""
    if name not in _BACKBONES:
        raise GenotypeError(f"unknown backbone {name!r}; valid backbones: {', '.join(list_backbones())}")
    return _BACKBONES[name]()


def create_backbone(name: str) -> BackboneSpec:
    """Alias of ``get_backbone`` (specs are immutable data, so creating one is the same as getting it)."""
    return get_backbone(name)


def list_backbones(filter: str | None = None) -> list[str]:
    """Sorted registered backbone names, optionally only those containing ``filter``."""
    return sorted(n for n in _BACKBONES if filter is None or filter in n)


@register_backbone
def resnet18() -> BackboneSpec:
    """ResNet18: 2, 2, 2, 2 basic blocks; each 4-layer stage is one cell."""
    return BackboneSpec("resnet18", (2, 2, 2, 2), cell_layers=4)


@register_backbone
def resnet34() -> BackboneSpec:
    """ResNet34: 3, 4, 6, 3 basic blocks; stages of 6, 8, 12, 6 layers split into cells of <= 6."""
    return BackboneSpec("resnet34", (3, 4, 6, 3), cell_layers=6)
