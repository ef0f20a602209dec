"""Configuration of the hardware stage (``nash hw estimate``): folding mode, clock, device, formulas."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from nash.errors import ConfigError

__all__ = ["HwConfig", "FoldMode", "Generation"]


class FoldMode(str, enum.Enum):
    """How PE/SIMD are chosen."""

    MAX = "max"  # max-relaxed: SetFolding at an unreachable target, then the two-pass relaxation
    # (same fps, least parallelism); true maximum parallelism is `--fold max-unrelaxed`
    TARGET_FPS = "target_fps"  # SetFolding for target_fps at clock_ns
    FIT = "fit"  # highest fps whose resources fit `device` under `utilization`
    FILE = "file"  # a FINN folding-config JSON (`folding_file`)


class Generation(str, enum.Enum):
    """Which FINN formulas and back-ends to reproduce."""

    CURRENT = "current"  # FINN main (v0.10+), finn-cost-model.md §4
    FINN_09 = "finn-0.9"  # FINN v0.9 (HLS SWG, 2020-2022 MVAU LUT formula, const weights), §11
    FINN_PLUS = "finn-plus"  # FINN+ 1.6.1 (finn-plus): its lowering, back-ends and formulas (docs/hw.md)


@dataclass(frozen=True)
class HwConfig:
    """Settings of one hardware estimate."""

    fold: FoldMode = FoldMode.MAX  # folding mode
    target_fps: float | None = None  # frames per second for fold=target_fps
    clock_ns: float | None = None  # synthesis clock period; None = device default, else 5.0 ns
    device: str | None = None  # catalogue name (ZCU104, Pynq-Z1, ...) for utilisation and fit
    utilization: float = 0.85  # fraction of each device resource a design may use (fit, fits_device)
    folding_file: str | None = None  # FINN folding-config JSON for fold=file
    # formula generation; finn-plus is the one checked layer by layer against the real compiler
    # (FINN+ 1.6.1, tests/hw/test_finn_plus.py), so it is the default
    generation: Generation = Generation.FINN_PLUS
    mvau_wwidth_max: int = 36  # SetFolding cap on weight-stream width W*SIMD (FINN builder default)
    two_pass_relaxation: bool = True  # SetFolding second pass at the achieved bottleneck
    mem_mode: str | None = (
        None  # MVAU weights: internal_embedded|internal_decoupled|external; None = generation default
    )
    label_select: bool = False  # add LabelSelect after the classifier output
    minimize_bit_width: bool = True  # minimise weight/accumulator widths from the stored weights (§8)
    input_bits: int = 8  # assumed width of an unquantised model input
    input_signed: bool = False  # assumed signedness of an unquantised model input
    recipe: str = (
        "default"  # preset these settings started from (nash.config.recipes; reference: wwidth cap 24)
    )

    def __post_init__(self) -> None:
        for name, enum_cls in (("fold", FoldMode), ("generation", Generation)):
            try:  # accept plain strings when built directly in Python
                object.__setattr__(self, name, enum_cls(getattr(self, name)))
            except ValueError:
                choices = ", ".join(m.value for m in enum_cls)
                raise ConfigError(f"{name}: {getattr(self, name)!r} is not one of {choices}") from None
        if self.fold == FoldMode.TARGET_FPS and (self.target_fps is None or self.target_fps <= 0):
            raise ConfigError("fold=target_fps needs target_fps > 0; pass --target-fps N")
        if self.fold == FoldMode.FIT and not self.device:
            raise ConfigError("fold=fit needs a device; pass --device NAME (see `nash hw devices`)")
        if self.fold == FoldMode.FILE and not self.folding_file:
            raise ConfigError("fold=file needs folding_file; pass --folding my_folding.json")
        if self.clock_ns is not None and self.clock_ns <= 0:
            raise ConfigError(f"clock_ns must be > 0, got {self.clock_ns}")
        if not 0 < self.utilization <= 1:
            raise ConfigError(f"utilization must be in (0, 1], got {self.utilization}")
        if self.mem_mode not in (
            None,
            "internal_embedded",
            "internal_decoupled",
            "external",
            "const",
            "decoupled",
        ):
            raise ConfigError(
                f"mem_mode {self.mem_mode!r} is not internal_embedded, internal_decoupled or external"
            )
        from nash.config.recipes import check_recipe

        check_recipe(self.recipe)
        if not 1 <= self.input_bits <= 32 or self.mvau_wwidth_max < 1:
            raise ConfigError("input_bits must be in 1..32 and mvau_wwidth_max >= 1")

    def resolved_mem_mode(self) -> str:
        """MVAU weight memory mode: the given one, or ``internal_embedded`` (const) for finn-0.9."""
        aliases = {"const": "internal_embedded", "decoupled": "internal_decoupled"}
        if self.mem_mode:
            return aliases.get(self.mem_mode, self.mem_mode)
        return "internal_embedded" if self.generation == Generation.FINN_09 else "internal_decoupled"
