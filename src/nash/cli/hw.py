"""``nash hw``: hardware estimates of QONNX models (``estimate``), cost tables of deployed NASH networks
(``table``) and the device catalogue (``devices``)."""

from __future__ import annotations

import argparse
import math

__all__ = ["register", "run"]


def _add_estimate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="lower a QONNX model to FINN dataflow layers, fold, estimate")
    p.add_argument("model", nargs="?", help="QONNX/ONNX model file (or use --backbone)")
    p.add_argument(
        "--fold",
        choices=["max", "max-relaxed", "max-unrelaxed", "target_fps", "fit", "file"],
        default=None,
        help="folding mode (default: max; implied by --target-fps, --fit, --folding). max = max-relaxed: "
        "maximum parallelism, then FINN's two-pass relaxation folds non-bottleneck layers back to the "
        "bottleneck's rate (same fps, fewer resources); max-unrelaxed: every layer fully parallel",
    )
    p.add_argument("--target-fps", type=float, default=None, help="SetFolding target frames/s")
    p.add_argument("--clock-ns", type=float, default=None, help="clock period in ns (default: device's or 5)")
    p.add_argument(
        "--device", default=None, help="device name for utilisation / --fit (see `nash hw devices`)"
    )
    p.add_argument("--fit", action="store_true", help="highest fps that fits --device")
    p.add_argument("--utilization", type=float, default=None, help="resource limit fraction (default 0.85)")
    p.add_argument("--folding", default=None, help="FINN folding-config JSON to apply")
    p.add_argument(
        "--generation",
        choices=["current", "finn-0.9", "finn-plus"],
        default=None,
        help="FINN formula generation: finn-plus (FINN+ 1.6.1, default; checked against it layer by layer), "
        "current (FINN main), finn-0.9 (the release the paper used)",
    )
    p.add_argument(
        "--mem-mode", default=None, help="MVAU weights: internal_embedded|internal_decoupled|external"
    )
    p.add_argument("--label-select", action="store_true", default=None, help="add LabelSelect at the output")
    p.add_argument("--config", default=None, help="HwConfig YAML/JSON (flags override it)")
    p.add_argument("--out", default=None, help="write estimate.json, folding_config.json, estimate.txt here")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    g = p.add_argument_group("architecture-only path (builds and exports an untrained model)")
    g.add_argument("--backbone", default=None, help="resnet18 | resnet34")
    g.add_argument("--genotype", default=None, help="genotype JSON (omit for the original ResNet)")
    g.add_argument(
        "--strategy", default=None, help="version tag v1..v4 (quantisation recipe of NAS branches)"
    )
    g.add_argument("--bits", default="w2a2", help="bit widths tag, e.g. w1a1, w2a2 (default %(default)s)")
    g.add_argument("--input", default="3x224x224", help="input shape CxHxW (default %(default)s)")
    g.add_argument("--classes", type=int, default=1000, help="number of classes (default %(default)s)")
    g.add_argument("--width", type=int, default=64, help="base channel width (default %(default)s)")
    g.add_argument("--stem", default="imagenet", help="imagenet | small (default %(default)s)")
    p.add_argument(
        "--recipe",
        default=None,
        help="default | reference: preset under --config and flags (reference: FINN wwidth cap 24 and, "
        "with --backbone, the authors' network structure; docs/recipe.md)",
    )
    p.set_defaults(func=run)


def _add_table(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "table",
        help="cost table of a deployed NASH network for hardware-aware search (one export per probe)",
        description="Measure base, per-edge, per-source and per-cell-bits costs of the deployed network "
        "(nash.hw.table_build) and write them as one JSON table; prints a summary.",
    )
    p.add_argument("--backbone", default="resnet18", help="resnet18 | resnet34 (default %(default)s)")
    p.add_argument("--strategy", default="v3", help="NASH version v1..v4 (default %(default)s)")
    p.add_argument("--bits", default="w2a2", help="reference bits of every cell (default %(default)s)")
    p.add_argument(
        "--bits-candidates",
        default=None,
        help="per-cell bit candidates, comma separated: 1,2,4,8 (= w1a1,...) or tags such as w2a4",
    )
    p.add_argument("--input", default="3x224x224", help="deployed input CxHxW (default %(default)s)")
    p.add_argument("--classes", type=int, default=1000, help="deployed classes (default %(default)s)")
    p.add_argument("--width", type=int, default=64, help="base channel width (default %(default)s)")
    p.add_argument("--stem", default="imagenet", help="imagenet | small (default %(default)s)")
    p.add_argument("--cell-layers", type=int, default=None, help="layers per cell (default: the backbone's)")
    p.add_argument("--ops", default=None, help="non-zero ops to measure, comma separated (default: all)")
    p.add_argument("--target-fps", type=float, default=None, help="SetFolding target frames/s (required)")
    p.add_argument(
        "--fit-levels",
        default=None,
        help="device-fit ladder: one table per SetFolding target, comma separated fps (e.g. "
        "162,229,324.5,459,649) or 'auto' (--target-fps x sqrt(2)^-4..4); needs --device",
    )
    p.add_argument("--clock-ns", type=float, default=None, help="clock period in ns (default: device's or 5)")
    p.add_argument("--device", default=None, help="device whose budget the table records (nash hw devices)")
    p.add_argument(
        "--utilization",
        type=float,
        default=None,
        help="usable fraction of each device resource (default 0.85)",
    )
    p.add_argument(
        "--generation", choices=["current", "finn-0.9", "finn-plus"], default=None, help="default finn-plus"
    )
    p.add_argument("--recipe", default=None, help="default | reference (network structure and hw preset)")
    p.add_argument("--config", default=None, help="HwConfig YAML/JSON (flags override it)")
    p.add_argument("--out", default=None, help="write the table (or ladder) JSON here")
    p.add_argument("--cache-dir", default=None, help="reuse a table built with identical settings from here")
    p.add_argument("--workers", type=int, default=1, help="parallel export processes (default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nash hw estimate``, ``nash hw table`` and ``nash hw devices``."""
    hw = subparsers.add_parser("hw", help="FINN-style hardware estimate of a QONNX model")
    sub = hw.add_subparsers(dest="hw_command", metavar="HW_COMMAND")
    _add_estimate(sub)
    _add_table(sub)
    dev = sub.add_parser("devices", help="list the FPGA device catalogue")
    dev.set_defaults(func=run)
    hw.set_defaults(func=lambda args: (hw.print_help(), 2)[1])


_MAX_MODES = {"max-relaxed": True, "max-unrelaxed": False}


def _fold_args(args: argparse.Namespace) -> tuple[str | None, bool | None]:
    """(fold, two_pass_relaxation) from the flags; refuses a non-positive or conflicting --target-fps."""
    from nash.errors import ConfigError

    fps = args.target_fps
    if fps is not None:
        if not (math.isfinite(fps) and fps > 0):
            raise ConfigError(f"--target-fps must be a positive number of frames/s, got {fps:g}")
        if args.fold not in (None, "target_fps"):
            raise ConfigError(f"--target-fps needs --fold target_fps (or no --fold), not --fold {args.fold}")
        return "target_fps", None
    if args.fold in _MAX_MODES:
        return "max", _MAX_MODES[args.fold]
    return args.fold or ("fit" if args.fit else "file" if args.folding else None), None


def _config(args: argparse.Namespace):  # -> HwConfig
    from nash.config.hw import HwConfig
    from nash.config.recipes import resolve_stage_config

    fold, relaxation = _fold_args(args)
    return resolve_stage_config(
        HwConfig,
        "hw",
        path=args.config,
        recipe=args.recipe,
        fold=fold,
        two_pass_relaxation=relaxation,
        target_fps=args.target_fps,
        clock_ns=args.clock_ns,
        device=args.device,
        utilization=args.utilization,
        folding_file=args.folding,
        generation=args.generation,
        mem_mode=args.mem_mode,
        label_select=args.label_select,
    )


def _devices() -> int:
    from nash.hw import load_catalog

    print(f"{'name':<10}{'part':<24}{'LUT':>10}{'FF':>10}{'BRAM18':>8}{'URAM':>6}{'DSP':>7}{'clock_ns':>10}")
    for d in load_catalog().values():
        print(
            f"{d.name:<10}{d.part:<24}{d.lut:>10}{d.ff:>10}{d.bram18:>8}{d.uram:>6}{d.dsp:>7}{d.clock_ns:>10}"
        )
    return 0


def _table(args: argparse.Namespace) -> int:
    """``nash hw table``: build (or load from --cache-dir) the cost table, print it, write --out."""
    from nash.config.hw import HwConfig
    from nash.config.recipes import resolve_stage_config
    from nash.errors import ConfigError
    from nash.hw.table_build import build_cost_table
    from nash.io import ensure_writable

    fps = args.target_fps
    if fps is None or not (math.isfinite(fps) and fps > 0):
        raise ConfigError(
            "nash hw table needs --target-fps N > 0 (SetFolding target of the deployed network)"
        )
    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    if args.out:
        ensure_writable(args.out, kind="file")
    cfg = resolve_stage_config(
        HwConfig,
        "hw",
        path=args.config,
        recipe=args.recipe,
        fold="target_fps",
        target_fps=fps,
        clock_ns=args.clock_ns,
        device=args.device,
        utilization=args.utilization,
        generation=args.generation,
    )
    split = lambda text: [v.strip() for v in text.split(",") if v.strip()] if text else None  # noqa: E731
    settings = dict(
        version=args.strategy,
        bits=args.bits,
        bits_candidates=split(args.bits_candidates),
        input_shape=args.input,
        num_classes=args.classes,
        width=args.width,
        stem=args.stem,
        recipe=cfg.recipe,
        cell_layers=args.cell_layers,
        hw=cfg,
        ops=split(args.ops),
    )
    run = dict(cache_dir=args.cache_dir, progress=not args.no_progress, workers=args.workers)
    if args.fit_levels:
        from nash.hw.fit_ladder import default_levels
        from nash.hw.table_build import build_fit_ladder

        levels = default_levels(fps) if args.fit_levels.strip() == "auto" else split(args.fit_levels)
        table = build_fit_ladder(args.backbone, fps_levels=levels, **settings, **run)
    else:
        table = build_cost_table(args.backbone, **settings, **run)
    print(table.summary())
    if args.out:
        print(f"wrote {table.save(args.out)}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``nash hw estimate``, ``nash hw table`` or ``nash hw devices``."""
    from nash.errors import ConfigError

    if args.hw_command == "devices":
        return _devices()
    if args.hw_command == "table":
        return _table(args)
    from nash.hw import estimate_model, write_estimate

    cfg = _config(args)
    if args.backbone:
        from nash.hw.from_arch import export_arch

        model = export_arch(
            args.backbone,
            bits=args.bits,
            input_shape=args.input,
            num_classes=args.classes,
            genotype=args.genotype,
            strategy=args.strategy,
            width=args.width,
            stem=args.stem,
            out_dir=args.out,
            recipe=cfg.recipe,
        )
    elif args.model:
        model = args.model
    else:
        raise ConfigError("give a model file or --backbone NAME; see `nash hw estimate --help`")
    est = estimate_model(model, cfg, progress=not args.no_progress)
    print(est.table())
    if args.out:
        paths = write_estimate(est, args.out)
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
