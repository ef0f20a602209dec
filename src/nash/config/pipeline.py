"""Experiment config: the grid of (backbone, version, bit tag) and per-stage settings."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nash.config.recipes import DEFAULT_RECIPE, RECIPE_STAGES, apply_recipe, check_recipe
from nash.errors import ConfigError
from nash.space import list_backbones
from nash.space.quant import BITS_TAG, VERSIONS

__all__ = [
    "ExperimentConfig",
    "VERSIONS",
    "STAGES",
    "HW_VARIANT_PREFIX",
    "DEFAULT_HW_STRATEGY",
    "is_hw_variant",
    "load_experiment",
]

STAGES = ("search", "train", "export", "hw", "finn", "report")

HW_VARIANT_PREFIX = "hw"  # every hardware-aware variant's name starts with it (hw-l0.3, hw-budget)
DEFAULT_HW_STRATEGY = "v3"  # the NASH rule a hardware-aware search follows unless hw_search names one
# a variant name becomes part of directory names (search/resnet18-hw-l0.3): no separators or spaces
_VARIANT_NAME = re.compile(r"hw[A-Za-z0-9._+-]*")
# set by the grid for every search (backbones, seed) or once for the experiment (recipe)
_GRID_KEYS = ("backbone", "seed", "recipe")


def is_hw_variant(version: str) -> bool:
    """True for a hardware-aware variant's version name (``hw...``); False for ``o`` and ``v1..v4``."""
    return isinstance(version, str) and version.startswith(HW_VARIANT_PREFIX)


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
    # SearchConfig fields shared by every hardware-aware search (over `search:`), plus `strategy`:
    # the NASH rule those searches follow (default v3)
    hw_search: dict[str, Any] = field(default_factory=dict)
    # name -> SearchConfig overrides of one hardware-aware search (over `hw_search:`); each name
    # (hw...) is a version of the grid, appended to `versions` in file order unless listed there
    hw_variants: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields for every training
    export: dict[str, Any] = field(default_factory=dict)  # export settings: n_check, strict
    hw: dict[str, Any] = field(default_factory=dict)  # HwConfig fields for every estimate
    # the real FINN compiler (FINN+) on every exported model; None (no `finn:` section) = not run.
    # Keys: target_fps, clock_ns, device, folding (`hw` = the hw stage's folding), n_check,
    # n_check_hw, mvau_wwidth_max, utilization, label_select (nash.pipeline.steps._FINN_KEYS)
    finn: dict[str, Any] | None = None
    # estimate the hw stage at DEPLOYMENT scale: the trained cell's architecture (its genotype, bits,
    # version) rebuilt untrained at this size and estimated with the `hw:` folding (the paper's Table
    # II measures ImageNet-size networks; the accuracy still comes from the proxy training). Keys:
    # input (CxHxW), classes, width, stem. None (no `deploy:` section): the trained export is estimated.
    deploy: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        check_recipe(self.recipe)
        if self.recipe != DEFAULT_RECIPE:  # defaults < recipe < the sections of the file (< flags)
            for stage in RECIPE_STAGES:
                object.__setattr__(self, stage, apply_recipe(self.recipe, stage, getattr(self, stage)))
        self._check_variants()
        if self.hw_variants and not any(v in self.hw_variants for v in self.versions):
            object.__setattr__(self, "versions", (*self.versions, *self.hw_variants))
        for v in self.versions:
            if v in self.hw_variants:
                continue
            if is_hw_variant(v):
                raise ConfigError(
                    f"versions: {v!r} is not defined under hw_variants; define it there "
                    f"(e.g. {v}: {{hw_weight: 0.3}}) or drop it from versions"
                )
            if v not in VERSIONS:
                variants = " or a name under hw_variants" if self.hw_variants else ""
                raise ConfigError(
                    f"versions: unknown version {v!r}; use any of {', '.join(VERSIONS)}{variants}"
                )
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

    def deploy_settings(self) -> dict[str, Any] | None:
        """The ``deploy:`` section with every key resolved, or ``None`` when it is absent.

        Raises:
            ConfigError: an unknown key or a bad value (one line naming it).
        """
        if self.deploy is None:
            return None
        if not isinstance(self.deploy, dict):
            raise ConfigError("deploy: expected a mapping such as {input: 3x224x224, classes: 1000}")
        allowed = {"input": "3x224x224", "classes": 1000, "width": 64, "stem": "imagenet"}
        bad = sorted(set(self.deploy) - set(allowed))
        if bad:
            raise ConfigError(f"deploy: unknown key {bad[0]!r}; valid keys: {', '.join(allowed)}")
        out = allowed | dict(self.deploy)
        from nash.hw.from_arch import parse_input_shape

        parse_input_shape(str(out["input"]))
        for key in ("classes", "width"):
            if isinstance(out[key], bool) or not isinstance(out[key], int) or out[key] < 1:
                raise ConfigError(f"deploy.{key}: must be a positive integer, got {out[key]!r}")
        out["input"] = str(out["input"])
        return out

    def grid(self) -> list[tuple[str, str, str]]:
        """All (backbone, version, bits) cells in a stable order."""
        return [(b, v, t) for b in self.backbones for v in self.versions for t in self.bits]

    def strategies(self) -> list[str]:
        """The versions that need a search: every version except the original (variants included)."""
        return [v for v in self.versions if v != "o"]

    def variants(self) -> list[str]:
        """The hardware-aware variants of the grid, in ``versions`` order."""
        return [v for v in self.versions if v in self.hw_variants]

    def is_variant(self, version: str) -> bool:
        """True when ``version`` is one of this experiment's hardware-aware variants."""
        return version in self.hw_variants

    def strategy_of(self, version: str) -> str:
        """The NASH strategy behind a version: itself for ``o``/``v1..v4``, the base rule for a variant.

        Training a variant's cell uses it as ``TrainConfig.version`` (the NAS branch bits follow it).
        """
        if version not in self.hw_variants:
            return version
        return str(self.variant_search(version)["strategy"])

    def search_section(self, version: str) -> dict[str, Any]:
        """The SearchConfig fields of ``version``'s search (grid fields excepted): ``search:`` for
        v1..v4; for a variant ``search:`` < ``hw_search:`` < its overrides, ``strategy`` its base rule."""
        return self.variant_search(version) if version in self.hw_variants else dict(self.search)

    def variant_search(self, name: str) -> dict[str, Any]:
        """Variant ``name``'s search fields: recipe < ``search:`` < ``hw_search:`` < its overrides."""
        overrides = self.hw_variants[name] or {}
        strategy = overrides.get("strategy", self.hw_search.get("strategy", DEFAULT_HW_STRATEGY))
        merged = dict(self.search)
        for layer in (self.hw_search, overrides):
            merged.update({k: v for k, v in layer.items() if k != "strategy"})
        merged["strategy"] = strategy
        return merged

    def _check_variants(self) -> None:
        """Names, shapes and keys of ``hw_search``/``hw_variants``; each variant must be hardware-aware."""
        from nash.config.search import SearchConfig

        fields = {f.name for f in dataclasses.fields(SearchConfig)}
        for where, section in (("hw_search", self.hw_search), ("hw_variants", self.hw_variants)):
            if not isinstance(section, dict):
                raise ConfigError(f"{where}: expected a mapping, got {section!r}")
        self._check_search_keys("hw_search", self.hw_search, fields)
        normalised: dict[str, Any] = {}
        for name, overrides in self.hw_variants.items():
            if not isinstance(name, str) or not _VARIANT_NAME.fullmatch(name) or name in VERSIONS:
                raise ConfigError(
                    f"hw_variants: variant name {name!r} must start with 'hw' and use only letters, digits "
                    "and . _ + - (it names the run directories), e.g. hw-l0.3; o and v1..v4 are taken"
                )
            overrides = {} if overrides is None else overrides
            if not isinstance(overrides, dict):
                raise ConfigError(
                    f"hw_variants.{name}: expected a mapping of search settings such as "
                    f"{{hw_weight: 0.3}}, got {overrides!r}"
                )
            self._check_search_keys(f"hw_variants.{name}", overrides, fields)
            normalised[name] = overrides
        object.__setattr__(self, "hw_variants", normalised)
        for name in normalised:
            objective = self.variant_search(name).get("hw_objective", "none")
            if objective is None or str(objective).strip().lower() == "none":
                raise ConfigError(
                    f"hw_variants.{name}: not hardware-aware (hw_objective is none); set hw_objective in "
                    "hw_search or in the variant, e.g. bram18, lut or lut+bram18"
                )

    @staticmethod
    def _check_search_keys(where: str, section: dict[str, Any], fields: set[str]) -> None:
        unknown = sorted(str(k) for k in set(section) - fields)
        if unknown:
            raise ConfigError(
                f"unknown config key '{where}.{unknown[0]}'; use SearchConfig fields "
                "(nash search --help), e.g. hw_objective, hw_weight, hw_limit, strategy"
            )
        grid = [k for k in _GRID_KEYS if k in section]
        if grid:
            raise ConfigError(
                f"{where}.{grid[0]}: set for the whole experiment (backbones, seed, recipe); remove it here"
            )
        strategy = section.get("strategy", DEFAULT_HW_STRATEGY)
        if strategy not in VERSIONS[1:]:
            raise ConfigError(
                f"{where}.strategy: {strategy!r} is not a NASH strategy; use one of "
                f"{', '.join(VERSIONS[1:])} (the rule the hardware-aware search follows)"
            )


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
