"""``nash search``: run (or resume) the architecture search and print the derived genotype."""

from __future__ import annotations

import argparse

from nash.cli._common import add_data_args, add_runtime_args

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nash search``."""
    p = subparsers.add_parser(
        "search",
        help="architecture search (Algorithm 1) -> genotype.json",
        description="Single-path supernet search. Flags override --config YAML, which overrides defaults.",
    )
    p.add_argument(
        "--out", required=True, help="run directory (config.yaml, log.jsonl, checkpoint.pt, genotype.json)"
    )
    p.add_argument("--config", default=None, help="SearchConfig YAML/JSON file")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--backbone", default=None, help="resnet18 | resnet34")
    p.add_argument("--strategy", default=None, help="v1 | v2 | v3 | v4")
    p.add_argument("--cell-layers", type=int, default=None, help="backbone layers per cell")
    add_data_args(p, default=None)
    p.add_argument("--image-size", type=int, default=None, help="e.g. 32 (28 -> 32 pads)")
    p.add_argument("--channels", type=int, default=None, help="3 repeats a grey channel")
    p.add_argument("--train-subset", type=int, default=None, help="use only N training images")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--warmup-epochs", type=int, default=None, help="first epochs train weights only")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="cap steps per epoch (quick runs)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--width", type=int, default=None, help="stage-0 channels (ResNet: 64)")
    p.add_argument("--stem", default=None, help="small (3x3 s1) | imagenet (7x7 s2 + max pool)")
    p.add_argument("--quantized-proxy", action="store_true", default=None, help="search with low-bit weights")
    p.add_argument(
        "--recipe", default=None, help="default | reference: preset under --config and flags (docs/recipe.md)"
    )
    p.add_argument(
        "--alpha-grad", default=None, help="pair (two sampled ops) | full (gradient over every op)"
    )
    p.add_argument("--derivation", default=None, help="default | reference (the authors' genotype parsers)")
    p.add_argument(
        "--v3-fallback-bug",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="derivation reference, v3: keep the code's second-fallback behaviour (default on)",
    )
    p.add_argument(
        "--node-act", default=None, help="relu | tanh | none | version: activation after each cascade sum"
    )
    p.add_argument(
        "--search-backbone", default=None, help="float | sign | version: backbone 3x3 convs of the supernet"
    )
    p.add_argument("--nas-search-bits", default=None, help="float | version (binary NAS convs, 8-bit for v4)")
    add_runtime_args(p)
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the config (defaults < recipe < YAML < flags), run the search, print the genotype."""
    from nash.config.recipes import resolve_stage_config
    from nash.config.search import SearchConfig
    from nash.search import run_search
    from nash.space import format_genotype

    cfg = resolve_stage_config(
        SearchConfig,
        "search",
        path=args.config,
        recipe=args.recipe,
        alpha_grad=args.alpha_grad,
        derivation=args.derivation,
        v3_fallback_bug=args.v3_fallback_bug,
        node_act=args.node_act,
        search_backbone=args.search_backbone,
        nas_search_bits=args.nas_search_bits,
        backbone=args.backbone,
        strategy=args.strategy,
        cell_layers=args.cell_layers,
        dataset=args.dataset,
        data_root=args.data,
        image_size=args.image_size,
        channels=args.channels,
        train_subset=args.train_subset,
        epochs=args.epochs,
        warmup_epochs=args.warmup_epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        width=args.width,
        stem=args.stem,
        quantized_proxy=args.quantized_proxy,
        seed=args.seed,
        device=args.device,
    )
    genotype = run_search(cfg, args.out, resume=args.resume, progress=not args.no_progress)
    print(format_genotype(genotype))
    print(f"wrote {args.out}/genotype.json")
    return 0
