"""``nash models summary``: build a quantized original / NASH ResNet and print its roles, size and adds."""

from __future__ import annotations

import argparse
import json

__all__ = ["register", "run", "format_summary"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``models summary`` to the CLI."""
    parser = subparsers.add_parser("models", help="inspect quantized original / NASH models")
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    p = sub.add_parser("summary", help="bit width per role, params, MACs, adds and NAS edges of a model")
    p.add_argument("--backbone", default="resnet18", help="resnet18 | resnet34 (default: %(default)s)")
    p.add_argument(
        "--genotype", default=None, help="genotype.json of a NASH network (default: original ResNet)"
    )
    p.add_argument("--bits", default="w2a2", help="main-branch bits wXaY, 1<=X,Y<=8 (default: %(default)s)")
    p.add_argument("--version", default=None, help="o | v1..v4 (default: o, or the genotype's strategy)")
    p.add_argument("--width", type=int, default=64, help="channels of the first stage (default: %(default)s)")
    p.add_argument("--input", default="3x224x224", help="input shape CxHxW (default: %(default)s)")
    p.add_argument("--classes", type=int, default=1000, help="number of classes (default: %(default)s)")
    p.add_argument("--stem", default=None, help="imagenet | small (default: small below 64 px)")
    p.add_argument("--add-act", default=None, help="identity | hardtanh before every add (default: hardtanh)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the model, count it and print the summary."""
    from nash.models.summary import parse_input_shape, summarize_build

    info = summarize_build(
        args.backbone,
        args.bits,
        parse_input_shape(args.input),
        args.classes,
        genotype_path=args.genotype,
        version=args.version,
        width=args.width,
        stem=args.stem,
        add_act=args.add_act,
    )
    print(json.dumps(info, indent=2) if args.json else format_summary(info))
    return 0


def format_summary(info: dict) -> str:
    """Human-readable lines of a ``summarize_build`` result."""
    shape = "x".join(str(d) for d in info["input_shape"])
    lines = [
        f"{info['backbone']} version={info['version']} bits={info['bits']} width={info['width']} "
        f"stem={info['stem']} input={shape} classes={info['num_classes']}",
        "bit widths per role:",
        *(f"  {role:<22} {value}" for role, value in info["roles"].items()),
        f"params: {info['params']:,}",
        f"MACs:   {info['macs']:,}",
        f"adds (2-input, quantized operands): {info['adds']}",
        "NAS edges by op: "
        + (", ".join(f"{op}={n}" for op, n in info["nas_edges"].items()) or "none (original)"),
    ]
    return "\n".join(lines)
