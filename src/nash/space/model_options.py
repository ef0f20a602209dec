"""``ModelOptions``: structural choices of the trained/exported network beyond bit widths.

Torch-free (configs validate against it); ``nash.models.build_model(..., options=...)`` builds them.
Every default is the project's network; the ``reference`` recipe (``nash.config.recipes``) sets
the authors' side of each (docs/recipe.md, rows 6, 7, 8 and 15).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from nash.errors import ConfigError

__all__ = ["ModelOptions", "STEM_ORDERS"]

STEM_ORDERS = ("conv-bn-act-pool", "conv-pool-bn-act")


@dataclass(frozen=True)
class ModelOptions:
    """Structural options of the quantised ResNet (defaults: the project's network)."""

    stage0_shortcut: bool = False  # row 6: 1x1 conv + BN shortcut in the first block of stage 0 (stride 1)
    stem_order: str = "conv-bn-act-pool"  # row 8: conv-pool-bn-act is the reference order (pool before BN)
    input_quant: bool = True  # row 8: quantise the network input (reference: no input quantiser)
    head_bits: int | None = (
        None  # row 8: bits of the pooled classifier input (None: first_last_bits; reference 4)
    )
    act1_relu: bool = False  # row 15: a 1-bit activation1 is an unsigned 1-bit ReLU {0, s}, not bipolar
    shortcut_act: bool = True  # row 7: quantised ReLU before the 1x1 shortcut conv (reference: none)
    x0_nas_act: bool = True  # row 7: NAS branches from x0 get their own ReLU (reference: read x0 as it is)
    shared_quant: bool = False  # row 7: one add quantiser, one main ReLU, one NAS ReLU per cell

    def __post_init__(self) -> None:
        if self.stem_order not in STEM_ORDERS:
            raise ConfigError(f"model.stem_order: {self.stem_order!r} is not one of {', '.join(STEM_ORDERS)}")
        if self.head_bits is not None and (
            isinstance(self.head_bits, bool)
            or not isinstance(self.head_bits, int)
            or not 1 < self.head_bits <= 8
        ):
            raise ConfigError(f"model.head_bits: must be 2..8 or unset, got {self.head_bits!r}")
        for f in dataclasses.fields(self):
            if f.type == "bool" and not isinstance(getattr(self, f.name), bool):
                raise ConfigError(f"model.{f.name}: must be true or false, got {getattr(self, f.name)!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ModelOptions:
        """Build from a mapping; unknown keys are a ``ConfigError`` listing the valid ones."""
        data = dict(data or {})
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ConfigError(f"model: unknown option {unknown[0]!r}; valid options: {', '.join(names)}")
        return cls(**data)

    def to_dict(self, *, changed_only: bool = False) -> dict[str, Any]:
        """Plain dict; ``changed_only`` keeps only the fields that differ from the defaults."""
        out = dataclasses.asdict(self)
        if changed_only:
            default = dataclasses.asdict(ModelOptions())
            out = {k: v for k, v in out.items() if v != default[k]}
        return out

    @property
    def is_default(self) -> bool:
        """True when every option has its default value."""
        return self == ModelOptions()
