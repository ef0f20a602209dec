"""Experiment config: the grid of (backbone, version, bit tag) and per-stage settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nash.config.recipes import DEFAULT_RECIPE, RECIPE_STAGES, apply_recipe, check_recipe
from nash.errors import ConfigError
from nash.space import list_backbones
from nash.space.quant import BITS_TAG, VERSIONS

__all__ = ["ExperimentConfig", "VERSIONS", "STAGES", "load_experiment"]

STAGES = ("search", "train", "export", "hw", "finn", "report")


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: every version x bit tag x backbone, searched, trained, exported, estimated.

    Stage sections are plain mappings of that stage's config fields (``nash.config.search``,
    ``nash.config.train``, ``nash.config.hw``); the pipeline fills in the grid fields itself
    (backbone, strategy/version, bits, genotype, seed).
    """

    name: str = "experiment"  # label used in the report
    backbones: tuple[str, ...] = ("resnet18",)  # backbones of the grid
    versions: tuple[str, ...] = VERSIONS  # "o" = original ResNet, v1..v4 = NASH
    bits: tuple[str, ...] = ("w1a1", "w2a2", "w4a4", "w8a8")  # wXaY tags of the grid
    seed: int = 0  # seed for every stage
    reference_genotypes: str | None = None  # skip the search: "paper" (the paper's genotypes) or a JSON path
    recipe: str = "default"  # preset under the stage sections (nash.config.recipes): default | reference
    search: dict[str, Any] = field(default_factory=dict)  # SearchConfig fields for every search
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields for every training
    export: dict[str, Any] = field(default_factory=dict)  # export settings: n_check, strict
    hw: dict[str, Any] = field(default_factory=dict)  # HwConfig fields for every estimate
    # the real FINN compiler (FINN+) on every exported model; None (no `finn:` section) = not run.
    # Keys: target_fps, clock_ns, device, folding (`hw` = the hw stage's folding), n_check,
    # n_check_hw, mvau_wwidth_max, utilization, label_select (nash.pipeline.steps._FINN_KEYS)
    finn: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        check_recipe(self.recipe)
        if self.recipe != DEFAULT_RECIPE:  # defaults < recipe < the sections of the file (< flags)
            for stage in RECIPE_STAGES:
                object.__setattr__(self, stage, apply_recipe(self.recipe, stage, getattr(self, stage)))
        for v in self.versions:
            if v not in VERSIONS:
                raise ConfigError(f"versions: unknown version {v!r}; use any of {', '.join(VERSIONS)}")
        for b in self.backbones:
            if b not in list_backbones():
                raise ConfigError(
                    f"backbones: unknown backbone {b!r}; use any of {', '.join(list_backbones())}"
                )
        for tag in self.bits:
            if not BITS_TAG.match(tag):
                raise ConfigError(
                    f"bits: unsupported bit tag {tag!r}; use wXaY with 1 <= X, Y <= 8, e.g. w2a2"
                )
        if not self.backbones or not self.versions or not self.bits:
            raise ConfigError("backbones, versions and bits must each list at least one value")
        if len(set(self.versions)) != len(self.versions) or len(set(self.bits)) != len(self.bits):
            raise ConfigError("versions and bits must not repeat values")

    def grid(self) -> list[tuple[str, str, str]]:
        """All (backbone, version, bits) cells in a stable order."""
        return [(b, v, t) for b in self.backbones for v in self.versions for t in self.bits]

    def strategies(self) -> list[str]:
        """The NASH strategies that need a search (every version except the original)."""
        return [v for v in self.versions if v != "o"]


def load_experiment(path: str | Path, recipe: str | None = None) -> ExperimentConfig:
    """Load an experiment file; ``recipe`` (e.g. ``--recipe``) replaces the file's ``recipe:`` key.

    The recipe goes under the file's stage sections: defaults < recipe < file < flags.
    """
    from nash.config.base import from_dict, load_config, parse_yaml

    if recipe is None:
        return load_config(ExperimentConfig, path)
    load_config(ExperimentConfig, path)  # the file's own errors first (missing, empty, bad keys)
    data = parse_yaml(Path(path).read_text(encoding="utf-8"), path)
    return from_dict(ExperimentConfig, {**data, "recipe": recipe})
