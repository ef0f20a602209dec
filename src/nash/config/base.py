"""Frozen-dataclass configs with YAML/JSON round-trip and strict validation.

How to add a stage config:
    1. Write a ``@dataclass(frozen=True)`` in ``nash/config/<stage>.py`` with a default for every
       field and one comment per field. Use ``str`` Enums for choices, nested dataclasses for groups.
    2. Put range checks in ``__post_init__`` and raise ``ConfigError`` naming the field.
    3. Load it with ``from_dict(MyConfig, data)`` / ``load_config(MyConfig, path)``; apply CLI flags
       with ``override(cfg, **flags)`` (``None`` flags are dropped so defaults and YAML stand).

Resolution order: dataclass defaults < YAML file < CLI flags.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from nash.errors import ConfigError
from nash.io import atomic_write_text

__all__ = ["from_dict", "to_dict", "load_config", "parse_yaml", "save_config", "override", "dumps_yaml"]

T = TypeVar("T")


def to_dict(cfg: Any) -> Any:
    """Convert a config dataclass (recursively) to plain YAML/JSON-safe values."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, enum.Enum):
        return cfg.value
    if isinstance(cfg, tuple | list):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {str(k): to_dict(v) for k, v in cfg.items()}
    if isinstance(cfg, Path):
        return str(cfg)
    return cfg


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str = "") -> T:
    """Build ``cls`` from a mapping; unknown keys and wrong types raise ``ConfigError``.

    Args:
        cls: a dataclass type.
        data: the mapping (e.g. parsed YAML); ``None`` means all defaults.
        where: dotted prefix used in error messages (for nested configs).

    Raises:
        ConfigError: unknown key (named, with the valid keys), or a value of the wrong type.
    """
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            f"unknown config key {where + unknown[0]!r} in {cls.__name__}; valid keys: {', '.join(names)}"
        )
    kwargs = {k: _coerce(hints[k], v, f"{where}{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where or cls.__name__}: {exc}") from exc


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where=key + ".")
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in tp)
            raise ConfigError(f"{key}: {value!r} is not one of {choices}") from None
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(float(value), key)
    if tp is float and isinstance(value, str):
        # YAML 1.1 (PyYAML) reads "1e-3" (no dot) as a string; accept any float literal.
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{key}: expected float, got {value!r}") from None
        return _finite(number, key)
    if tp is str and isinstance(value, os.PathLike):
        return os.fspath(value)
    if tp is typing.Any:
        return value
    if tp in (int, str, bool, float) and not (
        isinstance(value, tp) and not (tp is int and isinstance(value, bool))
    ):
        raise ConfigError(f"{key}: expected {tp.__name__}, got {value!r}")
    return value


def _finite(value: float, key: str) -> float:
    # NaN passes every range check (all comparisons are False) and inf passes every lower bound;
    # both would only fail mid-run.
    if math.isnan(value):
        raise ConfigError(f"{key}: nan is not a number; give a finite value")
    if math.isinf(value):
        raise ConfigError(f"{key}: {value} is not finite; give a finite value")
    return value


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # the base class reports unhashable keys
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKey(key, line, seen[key])
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str | Path = "<string>") -> Any:
    """Parse YAML (or JSON) text strictly: syntax errors and duplicate keys raise ``ConfigError``."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as dup:
        raise ConfigError(
            f"{source} line {dup.line}: duplicate key {dup.key!r} (first at line {dup.first}); keep only one"
        ) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" (line {line + 1})" if line is not None else ""
        raise ConfigError(f"{source}: not valid YAML/JSON{at}; fix the syntax") from None


def load_config(cls: type[T], path: str | Path) -> T:
    """Load a YAML or JSON file into ``cls``.

    Raises:
        ConfigError: the file is missing, unreadable, empty, not valid YAML/JSON, or repeats a key.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} not found; pass an existing YAML/JSON file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(f"config file {p} cannot be read ({reason}); check the file") from None
    data = parse_yaml(text, p)
    if data is None:
        raise ConfigError(
            f"config file {p} is empty; write the settings you mean (an empty file would run every default)"
        )
    return from_dict(cls, data)


def dumps_yaml(cfg: Any) -> str:
    """The fully resolved config as YAML text."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def save_config(cfg: Any, path: str | Path) -> Path:
    """Write ``cfg`` atomically as YAML (``.yaml``/``.yml``) or JSON (anything else)."""
    p = Path(path)
    if p.suffix in (".yaml", ".yml"):
        return atomic_write_text(p, dumps_yaml(cfg))
    return atomic_write_text(p, json.dumps(to_dict(cfg), indent=2) + "\n")


def override(cfg: T, **flags: Any) -> T:
    """Return ``cfg`` with the given fields replaced; ``None`` values are dropped (flag not set)."""
    changes = {k: v for k, v in flags.items() if v is not None}
    names = {f.name for f in dataclasses.fields(cfg)}
    bad = sorted(set(changes) - names)
    if bad:
        raise ConfigError(f"unknown config key {bad[0]!r}; valid keys: {', '.join(sorted(names))}")
    hints = typing.get_type_hints(type(cfg))
    coerced = {k: _coerce(hints[k], v, k) for k, v in changes.items()}
    return dataclasses.replace(cfg, **coerced)
