"""Factories at the edge: a ``TrainConfig`` becomes datasets, a genotype, a model and its ``arch``.

The ``arch`` dict (docs/contracts.md, checkpoint format) is the single description of the network:
training builds the model from it with :func:`nash.models.model_from_arch`, and evaluation/export
rebuild the very same model from the checkpoint's copy.
"""

from __future__ import annotations

from typing import Any

from torch import nn
from torch.utils.data import Dataset

from nash.config.train import TrainConfig
from nash.errors import ConfigError, GenotypeError, NashError

__all__ = ["load_datasets", "load_genotype", "check_quant", "make_arch", "build_from_arch"]


def load_datasets(cfg: TrainConfig) -> tuple[Dataset, Dataset, Any]:
    """Training and test datasets plus their ``DatasetInfo``, as ``cfg`` asks."""
    from nash.config.data import DataConfig

    data = DataConfig(
        dataset=cfg.dataset,
        root=cfg.data_root,
        image_size=cfg.image_size,
        channels=cfg.channels,
        augment=cfg.augment,
        train_subset=cfg.train_subset,
        test_subset=cfg.test_subset,
        seed=cfg.seed,
    )
    return data.build()


def load_genotype(cfg: TrainConfig) -> Any:
    """The validated genotype of a NASH run (``None`` for the original model).

    Raises:
        GenotypeError: unreadable file, or a genotype searched for another backbone.
    """
    if cfg.genotype is None:
        return None
    from nash.space import Genotype

    genotype = Genotype.load(cfg.genotype)
    if genotype.backbone != cfg.backbone:
        raise GenotypeError(
            f"genotype {cfg.genotype} was searched for {genotype.backbone} but --backbone is {cfg.backbone}; "
            f"pass --backbone {genotype.backbone} or a {cfg.backbone} genotype"
        )
    return genotype


def check_quant(cfg: TrainConfig) -> None:
    """Fail fast (before any data is read) on unsupported bit widths or unknown override names.

    Raises:
        ConfigError: from ``QuantSpec.from_tag``, one line.
    """
    from nash.models import QuantSpec

    try:
        QuantSpec.from_tag(cfg.bits, version=cfg.version, **cfg.quant_overrides)
    except NashError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"quant settings {cfg.bits} {cfg.quant_overrides}: {exc}") from None


def make_arch(cfg: TrainConfig, info: Any, genotype: Any) -> dict[str, Any]:
    """The checkpoint ``arch`` dict (via :func:`nash.models.arch_dict`) for ``cfg`` on ``info``'s data.

    Raises:
        ConfigError: unsupported bit widths or unknown quant override names.
    """
    from nash.models import arch_dict

    channels, height, width = (int(v) for v in info.shape)
    try:
        return arch_dict(
            cfg.backbone,
            cfg.version,
            cfg.bits,
            genotype,
            int(info.num_classes),
            in_channels=channels,
            width=cfg.width,
            stem=cfg.resolved_stem(min(height, width)),
            input_shape=(channels, height, width),
            quant_overrides=dict(cfg.quant_overrides),
        )
    except NashError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"quant settings {cfg.bits} {cfg.quant_overrides}: {exc}") from None


def build_from_arch(arch: dict[str, Any]) -> nn.Module:
    """Build the (untrained) model an ``arch`` dict describes.

    Raises:
        ModelError / GenotypeError / ConfigError: from the model builder, with its one-line reason.
    """
    from nash.models import model_from_arch

    return model_from_arch(arch)
