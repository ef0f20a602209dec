"""The ``nash`` command line: argument parsing around one library call per subcommand.

How to add a subcommand:
    Create ``nash/cli/<name>.py`` with ``register(subparsers) -> None`` that adds a parser and sets
    ``func=<run>``; ``run(args) -> int`` calls one library function and prints a summary. Keep
    module-level imports light (argparse only): import torch/onnx inside ``run`` so that
    ``nash --help`` stays fast. Modules are discovered automatically, in alphabetical order.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from nash import __version__
from nash.errors import NashError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every discovered subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="nash",
        description="Hardware-aware NAS for FPGA dataflow accelerators (NASH): "
        "search -> train (QAT) -> export (QONNX) -> hardware estimate -> Pareto report.",
    )
    parser.add_argument("--version", action="version", version=f"nash {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 2 user error, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(func(args) or 0)
    except NashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: file not found; check the path", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished artefacts are kept; rerun the same command to resume", file=sys.stderr)
        return 130
