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
    hw = p.add_argument_group("hardware-aware search (docs/search.md)")
    hw.add_argument(
        "--hw-objective",
        default=None,
        help="none | lut | bram18 | latency | uram | dsp; lut+bram18; lut:1,bram18:0.5",
    )
    hw.add_argument("--hw-weight", type=float, default=None, help="lambda on the normalised hardware cost")
    hw.add_argument(
        "--hw-limit", type=float, default=None, help="budget on the normalised cost: lambda adapts to meet it"
    )
    hw.add_argument(
        "--hw-norm", default=None, help="original (1.0 = original ResNet) | device (1.0 = device)"
    )
    hw.add_argument(
        "--hw-target",
        default=None,
        metavar="BACKBONE@CxHxW:CLASSES",
        help="deployed network the cost is estimated for, e.g. resnet18@3x224x224:1000",
    )
    hw.add_argument("--hw-bits", default=None, help="deployed bit widths of every role, e.g. w2a2")
    hw.add_argument(
        "--target-fps",
        type=float,
        default=None,
        help="SetFolding target of the deployed network (with --hw-fit: the fps goal)",
    )
    hw.add_argument(
        "--hw-fit",
        action="store_const",
        const=True,
        default=None,
        help="device fit: the folding is the fastest that fits --hw-device, refreshed during the search",
    )
    hw.add_argument(
        "--hw-fit-levels",
        default=None,
        help="device-fit ladder, comma separated fps (default: --target-fps x sqrt(2)^-4..4)",
    )
    hw.add_argument("--clock-ns", type=float, default=None, help="deployed clock period (ns)")
    hw.add_argument("--hw-device", default=None, help="device, e.g. U250 (for --hw-norm device, --hw-fit)")
    hw.add_argument(
        "--hw-utilization", type=float, default=None, help="usable fraction of each device resource (0.85)"
    )
    hw.add_argument(
        "--hw-table", default=None, help="prebuilt cost table (nash hw table); default: built, cached"
    )
    hw.add_argument(
        "--bits-candidates",
        default=None,
        help="per-cell main-branch widths to search, e.g. 1,2,4,8 or w2a2,w4a4",
    )
    add_runtime_args(p)
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def _hw_target(text: str | None) -> dict[str, object]:
    """``resnet18@3x224x224:1000`` -> hw_input / hw_classes (and the backbone to check)."""
    from nash.errors import ConfigError

    if text is None:
        return {}
    backbone, _, rest = text.partition("@")
    shape, _, classes = rest.partition(":")
    try:
        out: dict[str, object] = {"hw_input": shape or None, "hw_classes": int(classes) if classes else None}
    except ValueError:
        raise ConfigError(
            f"--hw-target {text!r}: classes must be an integer, e.g. resnet18@3x224x224:1000"
        ) from None
    if shape:
        from nash.hw.from_arch import parse_input_shape

        parse_input_shape(shape)
    out["_backbone"] = backbone or None
    return out


def run(args: argparse.Namespace) -> int:
    """Resolve the config (defaults < recipe < YAML < flags), run the search, print the genotype."""
    from nash.config.recipes import resolve_stage_config
    from nash.config.search import SearchConfig
    from nash.search import run_search
    from nash.space import format_genotype

    target = _hw_target(args.hw_target)
    target_backbone = target.pop("_backbone", None)
    cfg = resolve_stage_config(
        SearchConfig,
        "search",
        path=args.config,
        recipe=args.recipe,
        hw_objective=args.hw_objective,
        hw_weight=args.hw_weight,
        hw_limit=args.hw_limit,
        hw_norm=args.hw_norm,
        hw_bits=args.hw_bits,
        hw_target_fps=args.target_fps,
        hw_clock_ns=args.clock_ns,
        hw_device=args.hw_device,
        hw_utilization=args.hw_utilization,
        hw_table=args.hw_table,
        hw_fit=args.hw_fit,
        hw_fit_levels=args.hw_fit_levels.split(",") if args.hw_fit_levels else None,
        bits_candidates=args.bits_candidates.split(",") if args.bits_candidates else None,
        **target,
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
    if target_backbone and target_backbone != cfg.backbone:
        from nash.errors import ConfigError

        raise ConfigError(
            f"--hw-target names {target_backbone} but the search backbone is {cfg.backbone}; "
            f"the cost is that of the searched network deployed: use {cfg.backbone}@CxHxW:CLASSES"
        )
    genotype = run_search(cfg, args.out, resume=args.resume, progress=not args.no_progress)
    print(format_genotype(genotype))
    print(f"wrote {args.out}/genotype.json")
    return 0
