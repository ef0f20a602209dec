"""Argument helpers shared by subcommands (dataset flags, device, seed)."""

from __future__ import annotations

import argparse

__all__ = ["add_data_args", "add_runtime_args"]


def add_data_args(parser: argparse.ArgumentParser, default: str | None = "fashion-mnist") -> None:
    """``--dataset`` and ``--data``: which dataset and where its files are."""
    parser.add_argument(
        "--dataset",
        default=default,
        help="fashion-mnist | mnist | cifar10 | imagefolder (default: %(default)s)",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="directory with the dataset files (default for fashion-mnist: /usr/share/datasets/fashion-mnist)",
    )


def add_runtime_args(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--seed``."""
    parser.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: cuda if available)")
    parser.add_argument("--seed", type=int, default=None, help="random seed")
