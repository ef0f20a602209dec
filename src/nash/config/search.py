"""Settings of the architecture search stage (Algorithm 1), as one frozen dataclass.

Resolution order: dataclass defaults < YAML file (``load_config(SearchConfig, path)``) < CLI flags
(``override(cfg, **flags)``). Defaults follow the reference search (DARTS-style optimisers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nash.config.recipes import check_recipe
from nash.errors import ConfigError, GenotypeError
from nash.space import STEMS, list_backbones, list_strategies
from nash.space.derivation import DERIVATIONS
from nash.space.ops import check_ops
from nash.space.quant import parse_bits

__all__ = [
    "SearchConfig",
    "ALPHA_GRADS",
    "NODE_ACTS",
    "SEARCH_BACKBONES",
    "SEARCH_STEMS",
    "OBJECTIVE_RESOURCES",
    "parse_objective",
    "parse_bit_candidates",
]

ALPHA_GRADS = ("pair", "full")
# the supernet also knows the reference ResNet18 search stem: 7x7 stride 2 without max-pool
SEARCH_STEMS = (*STEMS, "imagenet-nopool")
NODE_ACTS = ("relu", "tanh", "none", "version")  # version: tanh, none for v2 (the reference code)
SEARCH_BACKBONES = ("float", "sign", "version")  # version: sign for v2, float otherwise

# what a user may name in --hw-objective, and the table column it reads
OBJECTIVE_RESOURCES: dict[str, str] = {
    "lut": "lut",
    "bram": "bram18",
    "bram18": "bram18",
    "uram": "uram",
    "dsp": "dsp",
    "latency": "latency_cycles",
}


def parse_objective(text: str) -> dict[str, float]:
    """``"lut+bram18"`` or ``"lut:1,bram:0.5"`` -> ``{table column: weight}``.

    Raises:
        ConfigError: an unknown resource name or a negative/non-numeric weight.
    """
    out: dict[str, float] = {}
    for part in str(text).replace("+", ",").split(","):
        part = part.strip().lower()
        if not part:
            continue
        name, _, weight = part.partition(":")
        if name not in OBJECTIVE_RESOURCES:
            raise ConfigError(
                f"hw_objective: unknown resource {name!r}; use {', '.join(OBJECTIVE_RESOURCES)} "
                "(several with '+', weights as lut:1,bram:0.5)"
            )
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(f"hw_objective: weight {weight!r} of {name} is not a number") from None
        if value < 0 or not math.isfinite(value):
            raise ConfigError(f"hw_objective: weight of {name} must be >= 0, got {weight}")
        out[OBJECTIVE_RESOURCES[name]] = out.get(OBJECTIVE_RESOURCES[name], 0.0) + value
    if not out:
        raise ConfigError("hw_objective: name at least one resource (lut, bram18, latency, uram, dsp)")
    return out


def parse_bit_candidates(values: object) -> tuple[tuple[int, int], ...]:
    """``"1,2,4"``, ``("w2a2", 4)`` -> ``((1, 1), (2, 2), (4, 4))`` / ``((2, 2), (4, 4))``: a bare ``b`` is ``wbab``.

    Raises:
        ConfigError: an entry that is neither 1..8 nor a ``wXaY`` tag, or a repeated candidate.
    """
    items = values.split(",") if isinstance(values, str) else list(values or ())
    out = []
    for item in items:
        text = str(item).strip().lower()
        if text.isdigit():
            text = f"w{text}a{text}"
        try:
            out.append(parse_bits(text))
        except ConfigError:
            raise ConfigError(
                f"bits_candidates: {item!r} is not a bit width (1..8) or a wXaY tag; e.g. 1,2,4,8 or w2a2,w4a4"
            ) from None
    if not out:
        raise ConfigError("bits_candidates: empty; list widths such as 1,2,4,8 or leave it unset")
    if len(set(out)) != len(out):
        raise ConfigError(f"bits_candidates: {values!r} repeats a candidate; list each once")
    return tuple(out)


@dataclass(frozen=True)
class SearchConfig:
    """Everything ``nash.search.run_search`` needs; the run directory gets it as ``config.yaml``."""

    backbone: str = "resnet18"  # a backbone registered in nash.space: resnet18 | resnet34
    strategy: str = "v3"  # search strategy name from nash.space (v1..v4)
    unfriendly: tuple[str, ...] | None = None  # ops unfriendly on size-changing edges (None: default)
    cell_layers: int | None = None  # backbone layers per cell (None: backbone default)
    dataset: str = "fashion-mnist"  # dataset name understood by nash.data.build_datasets
    data_root: str | None = None  # dataset directory (None: the dataset's default location)
    image_size: int | None = None  # resize/pad images to this size (None: native size)
    channels: int | None = None  # force 1 or 3 input channels (None: native)
    train_subset: int | None = None  # use only this many training images (None: all)
    train_portion: float = 0.5  # share of the training set used for weights; the rest drives alpha
    augment: bool = True  # standard training augmentation of the dataset (CIFAR: crop + flip; MNIST: none)
    epochs: int = 50  # search epochs (L in Algorithm 1)
    warmup_epochs: int = 0  # first epochs update weights only (alpha frozen)
    steps_per_epoch: int | None = None  # cap on steps per epoch for quick runs (None: full epoch)
    batch_size: int = 64  # mini-batch size of both the weight and the alpha step
    width: int = 64  # channels of the first stage (ResNet: 64); stages use width x 1, 2, 4, 8
    stem: str = (
        "small"  # small (3x3 s1, for 28-32 px) | imagenet (7x7 s2 + max pool) | imagenet-nopool (7x7 s2)
    )
    quantized_proxy: bool = False  # search with low-bit proxy weights (see docs/search.md)
    lr: float = 0.025  # weight SGD learning rate at epoch 0
    lr_min: float = 0.0  # cosine-annealed weight learning rate at the last epoch
    momentum: float = 0.9  # weight SGD momentum
    weight_decay: float = 3e-4  # weight SGD weight decay
    grad_clip: float = 5.0  # max global gradient norm of the weight step
    arch_lr: float = 3e-4  # alpha Adam learning rate
    arch_betas: tuple[float, float] = (0.0, 0.999)  # alpha Adam betas
    arch_weight_decay: float = 1e-3  # alpha Adam weight decay
    alpha_grad: str = (
        "pair"  # pair: two ops sampled, gradient over the pair | full: one op, gradient over all ops
    )
    node_act: str = "relu"  # activation after each cascade sum: relu | tanh | none | version (reference)
    search_backbone: str = "float"  # backbone 3x3 convs in the search: float | sign (V2) | version
    nas_search_bits: str = "float"  # float | version: NAS convs binary (v1..v3) / 8-bit (v4), backbone float
    derivation: str = "default"  # default | reference: the authors' genotype parsers (docs/recipe.md)
    v3_fallback_bug: bool = (
        True  # derivation reference, v3, resnet18: second fallback keeps the first ranking's node
    )
    recipe: str = "default"  # the preset these settings started from (nash.config.recipes), recorded
    # hardware-aware co-search (docs/search.md): the FINN cost of the deployed network in the alpha step
    hw_objective: str = "none"  # none | lut | bram18 | latency | uram | dsp; lut+bram18; lut:1,bram18:0.5
    hw_weight: float = 0.0  # lambda on the normalised cost (budget mode: its start value, 0 -> 0.1)
    hw_limit: float | None = None  # budget mode: lambda adapts until the derived network's cost meets it
    hw_norm: str = "original"  # original: 1.0 = the original ResNet's cost | device: 1.0 = the device
    hw_lambda_rate: float = 0.1  # budget mode: lambda x/÷ (1 + rate) per update
    hw_update_every: int = 20  # alpha steps between two lambda updates / cost log points (NAF: 20)
    hw_input: str = "3x224x224"  # deployed input (CxHxW) the cost is estimated for
    hw_classes: int = 1000  # deployed classifier outputs
    hw_width: int = 64  # deployed stage-0 channels
    hw_stem: str = "imagenet"  # deployed stem
    hw_bits: str = "w2a2"  # deployed bits of every role (the main branch's reference width)
    hw_target_fps: float = 324.5  # SetFolding target of the deployed network
    hw_clock_ns: float = 5.0  # deployed clock period
    hw_device: str | None = None  # device for hw_norm: device (nash hw devices)
    hw_utilization: float = 0.85  # fraction of each device resource a design may use (budget, fit)
    hw_generation: str = "finn-plus"  # nash.hw formula generation (finn-plus: checked against FINN+)
    hw_table: str | None = None  # prebuilt cost table (nash hw table); None: built at start, cached
    # device fit: the folding is the fastest that fits hw_device (it depends on the network); cost
    # tables at a ladder of SetFolding targets, refreshed every hw_update_every alpha steps; the goal
    # is hw_target_fps (lambda follows the fps gap); the normaliser is the device
    hw_fit: bool = False
    hw_fit_levels: tuple[float, ...] | None = None  # ladder (fps); None: hw_target_fps x sqrt(2)^-4..4
    bits_candidates: tuple[str | int, ...] | None = (
        None  # per-cell main-branch widths searched (beta): w2a2,w4a4
    )
    seed: int = 0  # seeds torch, numpy, python and the path sampler
    device: str | None = None  # cpu | cuda | cuda:N (None: cuda if available)

    def __post_init__(self) -> None:
        if self.backbone not in list_backbones():
            raise ConfigError(f"backbone: {self.backbone!r} is not one of {', '.join(list_backbones())}")
        if self.strategy not in list_strategies():
            raise ConfigError(f"strategy: {self.strategy!r} is not one of {', '.join(list_strategies())}")
        if self.unfriendly is not None:
            try:
                check_ops(self.unfriendly)
            except GenotypeError as exc:
                raise ConfigError(f"unfriendly: {exc}") from None
        if self.stem not in SEARCH_STEMS:
            raise ConfigError(f"stem: {self.stem!r} is not one of {', '.join(SEARCH_STEMS)}")
        for name in ("epochs", "batch_size", "width"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("warmup_epochs",):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)}")
        for name in ("steps_per_epoch", "train_subset", "image_size", "cell_layers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name}: must be >= 1 or unset, got {value}")
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"channels: must be 1, 3 or unset, got {self.channels}")
        if not 0.0 < self.train_portion < 1.0:
            raise ConfigError(f"train_portion: must be in (0, 1), got {self.train_portion}")
        for name in ("lr", "arch_lr"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be > 0, got {getattr(self, name)}")
        if self.lr_min < 0 or self.lr_min > self.lr:
            raise ConfigError(f"lr_min: must be in [0, lr={self.lr}], got {self.lr_min}")
        if len(self.arch_betas) != 2 or not all(0.0 <= b < 1.0 for b in self.arch_betas):
            raise ConfigError(f"arch_betas: need two values in [0, 1), got {self.arch_betas}")
        for name, allowed in (
            ("alpha_grad", ALPHA_GRADS),
            ("node_act", NODE_ACTS),
            ("search_backbone", SEARCH_BACKBONES),
            ("nas_search_bits", ("float", "version")),
            ("derivation", DERIVATIONS),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name}: {getattr(self, name)!r} is not one of {', '.join(allowed)}")
        check_recipe(self.recipe)
        if self.derivation == "reference" and self.unfriendly is not None:
            raise ConfigError(
                "unfriendly: the reference derivation uses the authors' fixed sets (v1 max-pool, v2..v4 "
                "max-pool and identity); drop unfriendly or use derivation: default"
            )
        if self.quantized_proxy and self.resolved_search_backbone() == "sign":
            raise ConfigError("quantized_proxy and a sign-binarised search backbone are exclusive; pick one")
        if self.quantized_proxy and self.nas_search_bits != "float":
            raise ConfigError("quantized_proxy and nas_search_bits: version are exclusive; pick one")
        if self.grad_clip <= 0:
            raise ConfigError(f"grad_clip: must be > 0, got {self.grad_clip}")
        self._check_hw()

    def _check_hw(self) -> None:
        if self.bits_candidates is not None:
            pairs = parse_bit_candidates(self.bits_candidates)
            object.__setattr__(self, "bits_candidates", tuple(f"w{w}a{a}" for w, a in pairs))
        if self.hw_objective == "none":
            if self.hw_limit is not None or self.hw_weight:
                raise ConfigError("hw_weight/hw_limit need hw_objective (e.g. bram18 or lut); set one")
            return
        parse_objective(self.hw_objective)
        parse_bits(self.hw_bits)
        if self.hw_weight < 0:
            raise ConfigError(f"hw_weight: must be >= 0, got {self.hw_weight}")
        if self.hw_limit is not None and self.hw_limit <= 0:
            raise ConfigError(f"hw_limit: must be > 0 (a fraction of the normaliser), got {self.hw_limit}")
        if self.hw_norm not in ("original", "device"):
            raise ConfigError(f"hw_norm: {self.hw_norm!r} is not one of original, device")
        if self.hw_norm == "device" and not self.hw_device:
            raise ConfigError("hw_norm: device needs hw_device (e.g. U250); pass --device NAME")
        if self.hw_lambda_rate <= 0 or self.hw_update_every < 1:
            raise ConfigError("hw_lambda_rate must be > 0 and hw_update_every >= 1")
        if self.hw_target_fps <= 0 or self.hw_clock_ns <= 0 or self.hw_classes < 2 or self.hw_width < 1:
            raise ConfigError("hw_target_fps, hw_clock_ns must be > 0, hw_classes >= 2, hw_width >= 1")
        if not 0 < self.hw_utilization <= 1:
            raise ConfigError(f"hw_utilization: must be in (0, 1], got {self.hw_utilization}")
        if self.hw_fit_levels is not None:
            from nash.hw.fit_ladder import check_levels

            object.__setattr__(self, "hw_fit_levels", check_levels(self.hw_fit_levels))
        if self.hw_fit:
            if not self.hw_device:
                raise ConfigError("hw_fit: device fit needs hw_device (e.g. U250); pass --hw-device NAME")
            if self.hw_limit is not None:
                raise ConfigError("hw_fit: the goal is hw_target_fps (--target-fps); leave hw_limit unset")
            if self.hw_fit_levels is not None and self.hw_fit_levels[-1] < self.hw_target_fps:
                raise ConfigError(
                    f"hw_fit_levels: the top level {self.hw_fit_levels[-1]:g} fps is below the goal "
                    f"hw_target_fps {self.hw_target_fps:g}; add a level at or above it"
                )

    def fit_levels(self) -> tuple[float, ...]:
        """The device-fit ladder (fps): ``hw_fit_levels`` or ``hw_target_fps x sqrt(2)^-4..4``."""
        from nash.hw.fit_ladder import default_levels

        return self.hw_fit_levels or default_levels(self.hw_target_fps)

    def hw_aware(self) -> bool:
        """True when the alpha step has a hardware term."""
        return self.hw_objective != "none"

    def resolved_node_act(self) -> str:
        """``node_act`` with ``version`` resolved: none for v2, tanh otherwise (the reference code)."""
        if self.node_act == "version":
            return "none" if self.strategy == "v2" else "tanh"
        return self.node_act

    def resolved_search_backbone(self) -> str:
        """``search_backbone`` with ``version`` resolved: sign for v2 (its bi-real convs), float otherwise."""
        if self.search_backbone == "version":
            return "sign" if self.strategy == "v2" else "float"
        return self.search_backbone

    def search_epochs(self) -> int:
        """Epochs that update alpha (all epochs after the weights-only warm-up)."""
        return max(0, self.epochs - self.warmup_epochs)
