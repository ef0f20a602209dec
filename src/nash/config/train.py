"""Settings of the training stage (paper Algorithm 2: quantization-aware training of a fixed model).

Example:
    >>> from nash.config.train import TrainConfig
    >>> cfg = TrainConfig(bits="w2a2", epochs=2, width=8)
    >>> cfg.is_original, cfg.warmup_steps(steps_per_epoch=100)
    (True, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nash.config.recipes import check_recipe
from nash.errors import ConfigError
from nash.space import STEMS as MODEL_STEMS
from nash.space import list_backbones
from nash.space.quant import ORIGINAL, VERSIONS, parse_bits

__all__ = ["TrainConfig", "VERSIONS", "STEMS", "OPTIMIZERS", "SCHEDULES"]

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine", "step")

STEMS: tuple[str, ...] = ("auto", *MODEL_STEMS)  # "auto": small below 64 px, else imagenet


@dataclass(frozen=True)
class TrainConfig:
    """Everything one QAT run depends on; saved as ``config.yaml`` in the run directory."""

    backbone: str = "resnet18"  # "resnet18" | "resnet34"
    version: str = "o"  # "o" (original model, no genotype) or "v1".."v4" (NASH model)
    genotype: str | None = None  # path of genotype.json; None for the original model
    bits: str = "w2a2"  # wXaY tag: main-branch weight / activation bit widths
    quant_overrides: dict[str, Any] = field(default_factory=dict)  # QuantSpec field overrides
    dataset: str = "fashion-mnist"  # dataset name known to nash.data
    data_root: str | None = None  # dataset directory (None: the dataset's default location)
    image_size: int | None = None  # pad/resize images to this size (None: native size)
    channels: int | None = None  # force 1 or 3 input channels (None: native)
    train_subset: int | None = None  # use only N training images (deterministic, seeded)
    test_subset: int | None = None  # evaluate on only N test images
    augment: bool = True  # training-set augmentation of nash.data (random crop / flip)
    width: int = 64  # channels of the first stage (ResNet default 64)
    stem: str = "auto"  # "small" (3x3 s1), "imagenet" (7x7 s2 + pool), "auto": small below 64 px
    epochs: int = 10  # number of passes over the training set (L in Algorithm 2)
    batch_size: int = 128  # images per optimizer step and per process
    lr: float = 0.1  # peak learning rate of SGD
    momentum: float = 0.9  # SGD momentum
    weight_decay: float = 5e-4  # L2 decay of conv/linear weights (never of BN, biases or scales)
    label_smoothing: float = 0.0  # cross-entropy label smoothing in [0, 1)
    nesterov: bool = False  # Nesterov momentum
    warmup_epochs: float = 0.0  # linear warm-up length before the per-step cosine decay
    max_steps_per_epoch: int | None = None  # cap optimizer steps per epoch (quick runs)
    optimizer: str = "sgd"  # sgd (momentum, decay on conv/linear weights) | adam (reference: lr 1e-3, wd 0)
    schedule: str = "cosine"  # cosine (per step, after warm-up) | step (x lr_gamma every lr_step_epochs)
    lr_step_epochs: int = 30  # step schedule: epochs between learning-rate drops
    lr_gamma: float = 0.1  # step schedule: factor of each drop
    grad_clip: float | None = None  # max global gradient norm (None: no clipping; reference: 5)
    model: dict[str, Any] = field(default_factory=dict)  # ModelOptions fields (nash.models; docs/recipe.md)
    recipe: str = "default"  # the preset these settings started from (nash.config.recipes), recorded
    seed: int = 0  # seeds model init, data order and augmentation
    device: str | None = None  # "cpu" | "cuda" | "cuda:N"; None: cuda if available
    workers: int = 0  # data-loader worker processes
    amp: bool = False  # mixed precision (CUDA only; ignored on CPU)
    log_every: int = 50  # steps between progress-bar loss updates

    def __post_init__(self) -> None:
        self._check_choices()
        self._check_ranges()

    def _check_choices(self) -> None:
        if self.backbone not in list_backbones():
            raise ConfigError(
                f"backbone {self.backbone!r} is unknown; use one of {', '.join(list_backbones())}"
            )
        if self.version not in VERSIONS:
            raise ConfigError(f"version {self.version!r} is unknown; use one of {', '.join(VERSIONS)}")
        if self.version == ORIGINAL and self.genotype is not None:
            raise ConfigError(
                "a genotype was given for the original model (version 'o'); pass --strategy v1..v4"
            )
        if self.version != ORIGINAL and self.genotype is None:
            raise ConfigError(f"version {self.version!r} needs a genotype; pass --genotype genotype.json")
        if self.stem not in STEMS:
            raise ConfigError(f"stem {self.stem!r} is unknown; use one of {', '.join(STEMS)}")
        check_recipe(self.recipe)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer {self.optimizer!r} is unknown; use one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule {self.schedule!r} is unknown; use one of {', '.join(SCHEDULES)}")
        from nash.space.model_options import ModelOptions

        ModelOptions.from_dict(self.model)  # ConfigError naming a bad key or value
        parse_bits(self.bits)  # the one tag parser: wXaY with 1 <= X, Y <= 8
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"channels must be 1 or 3, got {self.channels}")

    def _check_ranges(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "width": self.width}
        positive.update(log_every=self.log_every, lr=self.lr)
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"{name} must be > 0, got {value}")
        for name in ("train_subset", "test_subset", "max_steps_per_epoch", "image_size"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name} must be > 0 (or unset), got {value}")
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.lr_step_epochs < 1 or not 0.0 < self.lr_gamma <= 1.0:
            raise ConfigError(
                f"lr_step_epochs must be >= 1 and lr_gamma in (0, 1], got {self.lr_step_epochs}, {self.lr_gamma}"
            )
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"grad_clip must be > 0 (or unset), got {self.grad_clip}")
        if self.weight_decay < 0 or self.warmup_epochs < 0 or self.workers < 0:
            raise ConfigError("weight_decay, warmup_epochs and workers must be >= 0")

    @property
    def is_original(self) -> bool:
        """True for the original (non-NASH) quantized model."""
        return self.version == ORIGINAL

    def resolved_stem(self, image_hw: int) -> str:
        """The stem to build for inputs of ``image_hw`` pixels ("auto": small below 64 px)."""
        if self.stem != "auto":
            return self.stem
        return "small" if image_hw < 64 else "imagenet"

    def warmup_steps(self, steps_per_epoch: int) -> int:
        """Number of linear warm-up steps for a given epoch length."""
        return int(round(self.warmup_epochs * steps_per_epoch))
