"""``QuantSpec``, the bit-width tag parser and ``VERSIONS`` (pure Python, no torch).

The one place that says which model versions exist and which ``wXaY`` tags are valid; config,
models and analysis import it from here (``nash.models`` re-exports ``QuantSpec``).

``QuantSpec`` gives the bit width of every role in a quantized NASH / original ResNet.

Roles (paper Sections III-B and IV-A): the backbone *main* branch uses ``wXaY``; the residual
(shortcut) branch, the NAS branch activations, the first/last layers and the network input stay at
8 bits; NAS branch weights are binary for NASH-v1..v3 and 8-bit for NASH-v4. One bit always means
binary (``+-scale``), never a 1-bit integer.

Example:
    >>> spec = QuantSpec.from_tag("w2a2", version="v3")
    >>> (spec.main_weight_bits, spec.main_act_bits, spec.nas_weight_bits, spec.tag)
    (2, 2, 1, 'w2a2')
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nash.errors import ConfigError

__all__ = [
    "QuantSpec",
    "VERSIONS",
    "ORIGINAL",
    "ADD_ACTS",
    "BITS_TAG",
    "MAX_BITS",
    "parse_bits",
    "bits_label",
    "check_version",
    "nas_weight_bits_for",
]

ORIGINAL = "o"  # the original (non-NASH) quantized ResNet
VERSIONS: tuple[str, ...] = (ORIGINAL, "v1", "v2", "v3", "v4")  # o + the NASH strategies (tested)
ADD_ACTS: tuple[str, ...] = ("identity", "hardtanh")
MAX_BITS = 8
BITS_TAG = re.compile(r"^w([1-8])a([1-8])$")  # wXaY, 1 <= X, Y <= MAX_BITS (lower case)
_BIT_FIELDS = (
    "main_weight_bits",
    "main_act_bits",
    "residual_weight_bits",
    "residual_act_bits",
    "nas_weight_bits",
    "nas_act_bits",
    "first_last_bits",
    "input_bits",
    "add_act_bits",
)


def parse_bits(tag: str) -> tuple[int, int]:
    """``"w2a4"`` -> ``(2, 4)``: main-branch weight and activation bits.

    Raises:
        ConfigError: not a ``wXaY`` tag with widths 1..8.

    Example:
        >>> parse_bits("w2a4")
        (2, 4)
    """
    match = BITS_TAG.match(tag) if isinstance(tag, str) else None
    if match is None:
        raise ConfigError(f"unsupported bit width tag {tag!r}; use w1a1..w8a8 (e.g. w2a2)")
    return int(match.group(1)), int(match.group(2))


def bits_label(bits: Sequence[tuple[int, int]] | None, base_tag: str) -> str:
    """The bit-width label of a network whose cells may have their own main-branch bits.

    Args:
        bits: per cell ``(weight_bits, act_bits)`` of the main branch (``Genotype.bits``), or ``None``.
        base_tag: the global ``wXaY`` tag (every other role's spec, ``QuantSpec.tag``).

    Returns:
        ``base_tag`` when ``bits`` is ``None`` or every cell equals it; else the cells' tags joined
        by ``"|"``, in cell order.

    Example:
        >>> bits_label([(2, 2), (4, 4), (4, 4), (8, 8)], "w2a2")
        'w2a2|w4a4|w4a4|w8a8'
        >>> bits_label([(2, 2)] * 4, "w2a2")
        'w2a2'
    """
    if bits is None:
        return base_tag
    tags = [f"w{int(w)}a{int(a)}" for w, a in bits]
    if all(tag == base_tag for tag in tags):
        return base_tag
    return "|".join(tags)


def check_version(version: str) -> str:
    """``version`` if it is one of ``VERSIONS``; otherwise ``ConfigError`` listing them."""
    if version not in VERSIONS:
        raise ConfigError(f"unknown version {version!r}; use one of {', '.join(VERSIONS)}")
    return version


def nas_weight_bits_for(version: str) -> int:
    """NAS-branch weight bits of a NASH version: 1 (binary) for v1..v3 and ``"o"``, 8 for v4."""
    if version != "custom":
        check_version(version)
    return 8 if version == "v4" else 1


@dataclass(frozen=True, kw_only=True)
class QuantSpec:
    """Bit width of every quantized role of a model (1..8 each; 1 = binary / bipolar)."""

    main_weight_bits: int  # backbone 3x3 convs (X of wXaY)
    main_act_bits: int  # backbone branch ReLUs, "activation1" of the main branch (Y of wXaY)
    residual_weight_bits: int = 8  # 1x1 stride-2 shortcut convs of downsample blocks
    residual_act_bits: int = 8  # ReLU at the input of a shortcut conv (residual "activation1")
    nas_weight_bits: int = 1  # NAS-branch convs (conv_kxk ops, factorized reduction); 1 for v1..v3, 8 for v4
    nas_act_bits: int = 8  # ReLU at the input of every NAS branch ("activation1" of NAS branches)
    first_last_bits: int = 8  # stem conv weights, classifier weights and classifier input
    input_bits: int = 8  # quantization of the network input
    add_act: str = "hardtanh"  # "activation2" before every add: "identity" | "hardtanh"
    add_act_bits: int = 8  # bit width of that activation
    tag: str = ""  # "wXaY" label; derived from the main bits when empty

    def __post_init__(self) -> None:
        for name in _BIT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BITS:
                raise ConfigError(
                    f"QuantSpec.{name}: unsupported bit width {value!r}; use an integer from 1 to {MAX_BITS}"
                )
        if self.add_act not in ADD_ACTS:
            raise ConfigError(f"QuantSpec.add_act: {self.add_act!r} is not one of {', '.join(ADD_ACTS)}")
        if not self.tag:
            object.__setattr__(self, "tag", f"w{self.main_weight_bits}a{self.main_act_bits}")

    @classmethod
    def from_tag(cls, tag: str, version: str = "v1", **overrides: Any) -> QuantSpec:
        """Build the paper's spec for ``tag`` ("wXaY", 1<=X,Y<=8) and NASH ``version``.

        Args:
            tag: main-branch weight and activation bits, e.g. ``"w2a2"``.
            version: ``"o"`` (original) or ``"v1".."v4"``; selects the NAS weight bits.
            **overrides: any other field (``None`` values are ignored).

        Raises:
            ConfigError: malformed tag, bit width outside 1..8, unknown version or field.
        """
        weight_bits, act_bits = parse_bits(str(tag).strip().lower())
        fields = {
            "main_weight_bits": weight_bits,
            "main_act_bits": act_bits,
            "nas_weight_bits": nas_weight_bits_for(version),
        }
        return cls._with(fields, overrides)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantSpec:
        """Rebuild a spec from :meth:`to_dict` (every role stored explicitly, no defaults involved).

        Raises:
            ConfigError: not a mapping, an unknown field, or a bad value.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"quant spec must be a mapping of role -> bits, got {type(data).__name__}")
        return cls._with({}, dict(data))

    def to_dict(self) -> dict[str, int | str]:
        """Every field with its resolved value (what a checkpoint stores as ``arch["quant"]``)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def _with(cls, fields: dict[str, Any], overrides: dict[str, Any]) -> QuantSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(overrides) - names)
        if bad:
            raise ConfigError(f"unknown QuantSpec field {bad[0]!r}; valid fields: {', '.join(sorted(names))}")
        fields.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**fields)

    def overrides_from(self, base: QuantSpec) -> dict[str, Any]:
        """Fields that differ from ``base`` (what a checkpoint stores as ``quant_overrides``)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "tag" and getattr(self, f.name) != getattr(base, f.name)
        }

    def for_cell(self, bits: tuple[int, int] | None) -> QuantSpec:
        """This spec with one cell's main-branch ``(weight_bits, act_bits)``; ``None`` returns ``self``.

        Every other role stays; the copy's ``tag`` is the cell's ``wXaY``.

        Raises:
            ConfigError: ``bits`` is not a pair of integers 1..8.

        Example:
            >>> QuantSpec.from_tag("w2a2", version="v3").for_cell((4, 8)).tag
            'w4a8'
        """
        if bits is None:
            return self
        if isinstance(bits, str) or not isinstance(bits, Sequence) or len(bits) != 2:
            raise ConfigError(
                f"cell bits must be a (weight_bits, act_bits) pair such as (4, 4), got {bits!r}"
            )
        weight_bits, act_bits = bits
        return dataclasses.replace(self, main_weight_bits=weight_bits, main_act_bits=act_bits, tag="")

    def roles(self) -> dict[str, int | str]:
        """Every role and its bit width (plus ``add_act``), in a stable order for printing."""
        out: dict[str, int | str] = {name: getattr(self, name) for name in _BIT_FIELDS}
        out["add_act"] = self.add_act
        return out
