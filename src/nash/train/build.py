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

__all__ = ["load_datasets", "load_genotype", "resolve_quant", "make_arch", "build_from_arch"]


def load_datasets(cfg: TrainConfig) -> tuple[Dataset, Dataset, Any]:
    """Training and test datasets plus their ``DatasetInfo``, as ``cfg`` asks."""
    from nash.config.data import DataConfig

    return DataConfig.from_stage(cfg).build()


def load_genotype(cfg: TrainConfig) -> Any:
    """The validated genotype of a NASH run (``None`` for the original model).

    The genotype must have been derived by the requested version's strategy (a ``custom`` one
    may be trained as any version) and obey that strategy's hardware rule.

    Raises:
        GenotypeError: unreadable file, a genotype for another backbone, or one that breaks the rule.
        ConfigError: the genotype was derived by another strategy than ``cfg.version``.
    """
    if cfg.genotype is None:
        return None
    from nash.space import CUSTOM_STRATEGY, Genotype, check_strategy_rule

    genotype = Genotype.load(cfg.genotype)
    if genotype.backbone != cfg.backbone:
        raise GenotypeError(
            f"genotype {cfg.genotype} was searched for {genotype.backbone} but --backbone is {cfg.backbone}; "
            f"pass --backbone {genotype.backbone} or a {cfg.backbone} genotype"
        )
    if genotype.strategy not in (CUSTOM_STRATEGY, cfg.version):
        raise ConfigError(
            f"genotype {cfg.genotype} was derived by strategy {genotype.strategy} but --strategy is "
            f"{cfg.version}; pass --strategy {genotype.strategy} (or leave it out) or a {cfg.version} genotype"
        )
    try:
        check_strategy_rule(genotype, cfg.version)
    except GenotypeError as exc:
        raise GenotypeError(f"{cfg.genotype}: {exc}") from None
    return genotype


def resolve_quant(cfg: TrainConfig) -> Any:
    """The run's ``QuantSpec`` (the one ``QuantSpec.from_tag`` of a training run), before any data is read.

    Raises:
        ConfigError: unsupported bit widths or unknown override names, one line.
    """
    from nash.space.quant import QuantSpec

    try:
        return QuantSpec.from_tag(cfg.bits, version=cfg.version, **cfg.quant_overrides)
    except NashError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"quant settings {cfg.bits} {cfg.quant_overrides}: {exc}") from None


def make_arch(cfg: TrainConfig, info: Any, genotype: Any, quant: Any) -> dict[str, Any]:
    """The checkpoint ``arch`` dict (via :func:`nash.models.arch_dict`) for ``cfg`` on ``info``'s data.

    ``quant`` is the resolved ``QuantSpec``; its per-role widths are stored in the checkpoint.
    """
    from nash.models import ModelOptions, arch_dict

    channels, height, width = (int(v) for v in info.shape)
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
        quant=quant,
        options=ModelOptions.from_dict(cfg.model),
    )


def build_from_arch(arch: dict[str, Any]) -> nn.Module:
    """Build the (untrained) model an ``arch`` dict describes.

    Raises:
        ModelError / GenotypeError / ConfigError: from the model builder, with its one-line reason.
    """
    from nash.models import model_from_arch

    return model_from_arch(arch)
