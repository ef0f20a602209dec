"""Recipes: named presets of stage settings, applied as defaults < recipe < config file < flags.

``default`` is the project's own choices (no overrides). ``reference`` selects, row by row, what
the authors' code (public repository MFJI/NASH) and the paper do (docs/recipe.md has the table with
the row numbers of issue 12). A recipe is plain data: ``{stage: {config field: value}}`` for the
stages ``search`` (``SearchConfig``), ``train`` (``TrainConfig``; its ``model`` entry holds
``ModelOptions`` fields) and ``hw`` (``HwConfig``). The architecture-only hardware path
(``nash hw estimate --backbone ... --recipe reference``) builds its model with the ``train`` stage's
``model`` options, so the estimated network is the one training would produce.

Adding a recipe: one entry in ``RECIPES``; every stage config validates the values it gets.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from nash.errors import ConfigError

__all__ = [
    "RECIPES",
    "RECIPE_STAGES",
    "DEFAULT_RECIPE",
    "list_recipes",
    "check_recipe",
    "recipe_overrides",
    "apply_recipe",
    "resolve_stage_config",
]

T = TypeVar("T")
DEFAULT_RECIPE = "default"
RECIPE_STAGES = ("search", "train", "hw")

# The authors' side of every row of docs/recipe.md (row numbers in the comments).
_REFERENCE_MODEL: dict[str, Any] = {
    "stage0_shortcut": True,  # 6: 1x1 conv + BN shortcut in the first block of stage 0
    "shortcut_act": False,  # 7: no quantiser before the shortcut conv
    "x0_nas_act": False,  # 7: NAS branches from x0 read the shared (main) ReLU output
    "shared_quant": True,  # 7: one HardTanh, one main ReLU, one NAS ReLU per cell
    "stem_order": "conv-pool-bn-act",  # 8: conv -> max-pool -> BN -> ReLU
    "input_quant": False,  # 8: no input quantiser
    "head_bits": 4,  # 8: 4-bit average-pool output feeds the classifier
    "act1_relu": True,  # 15: a 1-bit activation1 is a ReLU (paper), not a bipolar sign
}

RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    DEFAULT_RECIPE: {},
    "reference": {
        "search": {
            "alpha_grad": "full",  # 1
            "epochs": 200,  # 2
            "stem": "imagenet-nopool",  # 3: 7x7 s2 without max-pool (stage 0 is 16x16 on 32x32)
            "node_act": "version",  # 4: Tanh (V1/V3/V4), none (V2)
            "search_backbone": "version",  # 4: V2's backbone convs binarise weights and inputs by sign
            "nas_search_bits": "version",  # 5: binary NAS convs (8-bit v4), float backbone
            "derivation": "reference",  # 10, 11, 12: the authors' parsers; v2 searches every op
            "v3_fallback_bug": True,  # 12
        },
        "train": {
            "optimizer": "adam",  # 9
            "lr": 1e-3,
            "weight_decay": 0.0,
            "schedule": "step",
            "lr_step_epochs": 30,
            "lr_gamma": 0.1,
            "label_smoothing": 0.0,
            "warmup_epochs": 0.0,
            "grad_clip": 5.0,
            "model": _REFERENCE_MODEL,  # 6, 7, 8, 15
        },
        "hw": {"mvau_wwidth_max": 24},  # 13 (14: the ResNet34 genotype ships with the package)
    },
}


def list_recipes() -> list[str]:
    """Recipe names, ``default`` first."""
    return [DEFAULT_RECIPE, *sorted(n for n in RECIPES if n != DEFAULT_RECIPE)]


def check_recipe(name: Any) -> str:
    """``name`` if it is a recipe, else ``ConfigError`` listing the recipes."""
    if not isinstance(name, str) or name not in RECIPES:
        raise ConfigError(f"recipe: {name!r} is not one of {', '.join(list_recipes())}")
    return name


def recipe_overrides(name: str, stage: str) -> dict[str, Any]:
    """A copy of recipe ``name``'s settings for ``stage`` (``search`` | ``train`` | ``hw``)."""
    check_recipe(name)
    if stage not in RECIPE_STAGES:
        raise ConfigError(f"recipe stage {stage!r} is not one of {', '.join(RECIPE_STAGES)}")
    return copy.deepcopy(RECIPES[name].get(stage, {}))


def apply_recipe(name: str, stage: str, section: dict[str, Any] | None) -> dict[str, Any]:
    """``section`` (config-file settings) layered over recipe ``name`` for ``stage``.

    Mapping values (``train.model``) merge key by key; the result records ``recipe: name`` unless
    the recipe is ``default`` and the section does not name one.
    """
    merged = recipe_overrides(name, stage)
    for key, value in (section or {}).items():
        if key == "recipe":
            continue
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if name != DEFAULT_RECIPE or "recipe" in (section or {}):
        merged["recipe"] = name
    return merged


def resolve_stage_config(
    cls: type[T], stage: str, *, path: str | Path | None = None, recipe: str | None = None, **flags: Any
) -> T:
    """Build ``cls`` as defaults < recipe < config file ``path`` < ``flags`` (``None`` flags dropped).

    The recipe is ``recipe`` when given, else the file's ``recipe:`` key, else ``default``; the
    resolved config records it in its ``recipe`` field.
    """
    from nash.config.base import from_dict, load_config, override, to_dict

    data: dict[str, Any] = {}
    if path is not None:
        data = {k: v for k, v in to_dict(load_config(cls, path)).items() if k in _explicit_keys(path)}
    name = check_recipe(recipe or data.get("recipe") or DEFAULT_RECIPE)
    cfg = from_dict(cls, apply_recipe(name, stage, data))
    if any(f.name == "recipe" for f in dataclasses.fields(cls)):
        cfg = dataclasses.replace(cfg, recipe=name)
    return override(cfg, **flags)


def _explicit_keys(path: str | Path) -> set[str]:
    # the keys the file itself sets (load_config fills the others with defaults)
    from nash.config.base import parse_yaml

    data = parse_yaml(Path(path).read_text(encoding="utf-8"), path)
    return set(data) if isinstance(data, dict) else set()
