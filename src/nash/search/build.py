"""Factories that turn a ``SearchConfig`` into the pieces of a search: strategy, data, supernet.

This is the only place of ``nash.search`` that reads the config; the supernet and the two steps
take plain values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nash.config.search import SearchConfig
from nash.errors import ConfigError, GenotypeError
from nash.search.supernet import Supernet
from nash.space import Strategy, cell_specs, create_strategy
from nash.space.derivation import reference_candidates

__all__ = [
    "PROXY_BITS",
    "hw_table_settings",
    "build_hw_objective",
    "build_strategy",
    "build_supernet",
    "build_loaders",
    "cycle_batches",
]

# Quantised proxy: (backbone weight bits, NAS-op weight bits); 1 bit = binary, as NASH-v1..v3 train.
PROXY_BITS: tuple[int, int] = (2, 1)


def build_strategy(cfg: SearchConfig) -> Strategy:
    """The search strategy named by ``cfg.strategy`` (with ``cfg.unfriendly`` when set)."""
    kwargs: dict[str, Any] = {} if cfg.unfriendly is None else {"unfriendly": cfg.unfriendly}
    try:
        return create_strategy(cfg.strategy, **kwargs)
    except GenotypeError as exc:
        raise ConfigError(f"strategy: {exc}") from None


def build_supernet(cfg: SearchConfig, num_classes: int, in_channels: int, strategy: Strategy) -> Supernet:
    """The supernet of ``cfg`` (backbone, width, stem, proxy) with ``strategy``'s candidate ops."""
    try:
        cells = cell_specs(cfg.backbone, cfg.cell_layers)
    except GenotypeError as exc:
        raise ConfigError(f"backbone/cell_layers: {exc}") from None
    backbone_bits, nas_bits = PROXY_BITS if cfg.quantized_proxy else (None, None)
    if cfg.nas_search_bits == "version":  # reference: binary NAS convs (8-bit for v4), float backbone
        nas_bits = 8 if cfg.strategy == "v4" else 1
    candidates = strategy.candidates
    if cfg.derivation == "reference":  # the authors' search samples the version's primitives everywhere
        candidates = reference_candidates(cfg.strategy)
    bit_choices = None
    if cfg.bits_candidates is not None:
        from nash.config.search import parse_bit_candidates

        bit_choices = parse_bit_candidates(cfg.bits_candidates)
    return Supernet(
        cells,
        candidates,
        num_classes,
        in_channels,
        cfg.width,
        cfg.stem,
        backbone_bits,
        nas_bits,
        node_act=cfg.resolved_node_act(),
        backbone_sign=cfg.resolved_search_backbone() == "sign",
        bit_choices=bit_choices,
    )


def hw_table_settings(cfg: SearchConfig) -> dict[str, Any]:
    """Keyword arguments of ``nash.hw.table_build.build_cost_table`` for ``cfg``'s deployment."""
    from nash.config.hw import HwConfig

    hw = HwConfig(
        fold="target_fps",
        target_fps=cfg.hw_target_fps,
        clock_ns=cfg.hw_clock_ns,
        device=cfg.hw_device,
        utilization=cfg.hw_utilization,
        generation=cfg.hw_generation,
    )
    return {
        "backbone": cfg.backbone,
        "version": cfg.strategy,
        "bits": cfg.hw_bits,
        "bits_candidates": list(cfg.bits_candidates) if cfg.bits_candidates else None,
        "input_shape": cfg.hw_input,
        "num_classes": cfg.hw_classes,
        "width": cfg.hw_width,
        "stem": cfg.hw_stem,
        "recipe": cfg.recipe,
        "cell_layers": cfg.cell_layers,
        "hw": hw,
    }


def build_hw_objective(cfg: SearchConfig, table: Any) -> Any:
    """The ``HwObjective`` of ``cfg`` on ``table`` (a ``FitLadder`` when ``cfg.hw_fit``; ``None`` for
    a plain search)."""
    if not cfg.hw_aware():
        return None
    from nash.config.search import parse_objective
    from nash.search.hw_objective import HwObjective

    start = cfg.hw_weight if (cfg.hw_weight or (cfg.hw_limit is None and not cfg.hw_fit)) else 0.1
    mode = (  # device fit: ``table`` is a FitLadder, the goal is the target fps
        {"ladder": table, "goal_fps": cfg.hw_target_fps}
        if cfg.hw_fit
        else {"limit": cfg.hw_limit, "norm": cfg.hw_norm}
    )
    return HwObjective(
        None if cfg.hw_fit else table,
        cell_specs(cfg.backbone, cfg.cell_layers),
        parse_objective(cfg.hw_objective),
        start,
        rate=cfg.hw_lambda_rate,
        update_every=cfg.hw_update_every,
        bits=cfg.bits_candidates,
        **mode,
    )


def build_loaders(cfg: SearchConfig) -> tuple[Any, Any, Any]:
    """``(weight_loader, arch_loader, info)``: the two halves of the training set, batched.

    Both loaders drop the last partial batch and reshuffle deterministically from ``(seed, epoch)``.
    """
    from nash.config.data import DataConfig
    from nash.data import make_loader, search_split

    # test_subset=1: the search never evaluates on the test split
    train, _, info = DataConfig.from_stage(cfg, test_subset=1).build()
    w_half, a_half = search_split(train, cfg.train_portion, seed=cfg.seed)
    for name, half in (("weight", w_half), ("architecture", a_half)):
        if len(half) < cfg.batch_size:
            raise ConfigError(
                f"the {name} half has {len(half)} images, fewer than batch_size={cfg.batch_size}; "
                "raise --train-subset or lower --batch-size"
            )
    w_loader = make_loader(w_half, cfg.batch_size, shuffle=True, seed=cfg.seed, drop_last=True)
    a_loader = make_loader(a_half, cfg.batch_size, shuffle=True, seed=cfg.seed + 1, drop_last=True)
    return w_loader, a_loader, info


def cycle_batches(loader: Any, epoch: int) -> Iterator[Any]:
    """Endless batches of ``loader`` starting at a position fixed by ``epoch`` (resumable).

    The architecture half may be exhausted before the weight half; it then starts a new pass.
    Passes are numbered ``epoch * 1000 + r`` so a resumed epoch sees the same batches.
    """
    r = 0
    while True:
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch * 1000 + r)
        yield from loader
        r += 1
