"""``nash train``: quantization-aware training of an original or NASH model (Algorithm 2)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nash.cli._common import add_data_args, add_runtime_args

__all__ = ["register", "run"]

# CLI flag dest -> TrainConfig field (flags left unset are None and keep YAML/default values).
_FIELDS = {
    "backbone": "backbone",
    "strategy": "version",
    "genotype": "genotype",
    "bits": "bits",
    "dataset": "dataset",
    "data": "data_root",
    "image_size": "image_size",
    "channels": "channels",
    "train_subset": "train_subset",
    "test_subset": "test_subset",
    "width": "width",
    "stem": "stem",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "lr": "lr",
    "momentum": "momentum",
    "weight_decay": "weight_decay",
    "label_smoothing": "label_smoothing",
    "nesterov": "nesterov",
    "warmup_epochs": "warmup_epochs",
    "optimizer": "optimizer",
    "schedule": "schedule",
    "grad_clip": "grad_clip",
    "max_steps_per_epoch": "max_steps_per_epoch",
    "seed": "seed",
    "device": "device",
    "workers": "workers",
    "amp": "amp",
    "augment": "augment",
    "log_every": "log_every",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train",
        help="QAT-train an original or NASH model and evaluate top-1/top-5 every epoch",
        description="Train with SGD + cosine schedule; writes config.yaml, metrics.jsonl/csv, last.pt, "
        "best.pt into --out. Multi-GPU: torchrun --nproc_per_node N -m nash.cli train ...",
    )
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--config", default=None, help="YAML/JSON TrainConfig (flags override it)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt (identical results)")
    p.add_argument("--backbone", default=None, help="a registered backbone: resnet18 | resnet34")
    p.add_argument("--genotype", default=None, help="genotype.json of a NASH model (omit for the original)")
    p.add_argument("--strategy", default=None, help="version: o | v1..v4 (default: the genotype's strategy)")
    p.add_argument(
        "--bits",
        default=None,
        help="wXaY main-branch bit widths, e.g. w2a2 (a genotype's per-cell bits, schema 2, replace the "
        "main branch's cell by cell; the tag still sets every other role)",
    )
    add_data_args(p, default=None)
    for flag, kind in (
        ("image-size", int),
        ("channels", int),
        ("train-subset", int),
        ("test-subset", int),
        ("width", int),
        ("epochs", int),
        ("batch-size", int),
        ("lr", float),
        ("momentum", float),
        ("weight-decay", float),
        ("label-smoothing", float),
        ("warmup-epochs", float),
        ("grad-clip", float),
        ("max-steps-per-epoch", int),
        ("workers", int),
        ("log-every", int),
    ):
        p.add_argument(f"--{flag}", type=kind, default=None)
    p.add_argument("--stem", default=None, help="auto | small | imagenet")
    p.add_argument(
        "--recipe", default=None, help="default | reference: preset under --config and flags (docs/recipe.md)"
    )
    p.add_argument("--optimizer", default=None, help="sgd | adam")
    p.add_argument("--schedule", default=None, help="cosine | step (x lr_gamma every lr_step_epochs)")
    p.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None, help="CUDA mixed precision")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--no-progress", action="store_true", help="no progress bar / per-epoch lines")
    add_runtime_args(p)
    p.set_defaults(func=run)


def _config(args: argparse.Namespace) -> Any:
    from nash.config.base import override
    from nash.config.recipes import resolve_stage_config
    from nash.config.train import TrainConfig

    base = args.config
    if base is None and args.resume and (Path(args.out) / "config.yaml").is_file():
        base = Path(args.out) / "config.yaml"  # `nash train --out DIR --resume` alone is enough
    cfg = resolve_stage_config(
        TrainConfig, "train", path=base, recipe=args.recipe
    )  # defaults < recipe < file
    flags = {field: getattr(args, dest) for dest, field in _FIELDS.items()}
    if flags["genotype"] is not None and flags["version"] is None and cfg.version == "o":
        flags["version"] = _genotype_version(flags["genotype"])
    return override(cfg, **flags)


def _genotype_version(path: str) -> str:
    from nash.errors import ConfigError
    from nash.space import Genotype, list_strategies

    strategy = Genotype.load(path).strategy
    if strategy not in list_strategies():
        choices = " | ".join(list_strategies())
        raise ConfigError(f"genotype {path} has strategy {strategy!r}; pass --strategy {choices}")
    return strategy


def _bits_label(cfg: Any) -> str:
    """``cfg.bits``, or the per-cell main-branch tags of a schema-2 genotype (``w2a2|w4a4|...``)."""
    from nash.space import Genotype, bits_label

    bits = None if cfg.genotype is None else Genotype.load(cfg.genotype).bits
    return bits_label(bits, cfg.bits)


def run(args: argparse.Namespace) -> int:
    """Resolve the config (defaults < --config < flags), train, print the final accuracy."""
    from nash.train import run_training

    cfg = _config(args)
    m = run_training(cfg, args.out, resume=args.resume, progress=not args.no_progress)
    if m.get("top1") is not None:
        print(
            f"{cfg.backbone} {cfg.version} {_bits_label(cfg)}: top-1 {m['top1']:.2f}% top-5 {m['top5']:.2f}% "
            f"(epoch {m['epoch']}, best {m['best_top1']:.2f}% at epoch {m['best_epoch']}); "
            f"{m['params']:,} params, {m['macs']:,} MACs; checkpoints in {args.out}"
        )
    return 0
