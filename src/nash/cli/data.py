"""``nash data info``: what a dataset directory holds (sizes, classes, shape, statistics)."""

from __future__ import annotations

import argparse
import json

from nash.cli._common import add_data_args

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nash data info``."""
    parser = subparsers.add_parser("data", help="inspect datasets (nash data info --dataset fashion-mnist)")
    parser.set_defaults(func=lambda _args: _usage(parser))
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    info = sub.add_parser("info", help="read a dataset and print sizes, classes, shape, mean/std")
    add_data_args(info)
    info.add_argument("--image-size", type=int, default=None, help="output side, e.g. 32 (28 -> 32 pads)")
    info.add_argument("--channels", type=int, default=None, help="3 repeats a grey channel")
    info.add_argument("--json", action="store_true", help="print the info as JSON")
    info.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the datasets once and print a summary; returns 0."""
    from nash.config.base import override
    from nash.config.data import DataConfig
    from nash.data import ArrayDataset, pixel_stats

    cfg = override(DataConfig(), dataset=args.dataset, root=args.data, image_size=args.image_size,
                   channels=args.channels)  # fmt: skip
    train, test, info = cfg.build()
    measured = pixel_stats(train) if isinstance(train, ArrayDataset) else None
    if args.json:
        out = info.to_dict() | {"measured_train_mean_std": measured}
        print(json.dumps(out, indent=2))
        return 0
    print(f"dataset   {info.name}")
    print(f"train     {info.n_train} samples")
    print(f"test      {info.n_test} samples")
    print(f"shape     {'x'.join(str(d) for d in info.shape)} (C x H x W)")
    print(f"classes   {info.num_classes}: {', '.join(info.classes)}")
    print(f"mean/std  {_fmt(info.mean)} / {_fmt(info.std)} (used for normalisation)")
    if measured is not None:
        print(f"measured  {_fmt(measured[0])} / {_fmt(measured[1])} (train pixels, stored channels)")
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _fmt(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:.4f}" for v in values) + ")"
