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
import shlex
import sys
import warnings

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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0 if args.command is None else 2
    # Brevitas warns at import that an optional CUDA kernel package is absent; it is not used here.
    warnings.filterwarnings("ignore", message="fast_hadamard_transform package not found")
    try:
        return int(func(args) or 0)
    except NashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: file not found; check the path", file=sys.stderr)
        return 2
    except (PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: finished artefacts are kept; {resume_hint(args.command, argv)}", file=sys.stderr)
        return 130


def _os_error(exc: OSError) -> str:
    """One line for an output the user cannot write, naming the path and the fix."""
    where = exc.filename or "the output"
    if isinstance(exc, PermissionError):
        return f"cannot write {where}: permission denied; choose a --out you can write"
    if isinstance(exc, IsADirectoryError):
        return f"{where} is a directory where a file is expected; give a file path"
    return f"{where}: a part of the path is a file, not a directory; check --out"


# subcommands that refuse to continue an existing run unless --resume is given
_NEED_RESUME = ("train", "search")


def resume_hint(command: str | None, argv: list[str]) -> str:
    """How to continue after Ctrl-C: the real command, with ``--resume`` where it is needed."""
    words = ["nash", *argv]
    if command in _NEED_RESUME and "--resume" not in argv:
        words.append("--resume")
    if command in (*_NEED_RESUME, "run"):
        return f"resume with: {shlex.join(words)}"
    return f"run it again: {shlex.join(words)}"
