"""``nash eval``: top-1 / top-5 accuracy of a training checkpoint."""

from __future__ import annotations

import argparse
import json

from nash.cli._common import add_data_args

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` subcommand."""
    p = subparsers.add_parser("eval", help="evaluate a checkpoint (top-1/top-5 on the test split)")
    p.add_argument("checkpoint", help="last.pt or best.pt of a `nash train` run")
    add_data_args(p, default=None)
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: cuda if available)")
    p.add_argument("--full-test", action="store_true", help="whole test split, not the run's test subset")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print top-1 / top-5."""
    from nash.train import evaluate_checkpoint

    r = evaluate_checkpoint(
        args.checkpoint,
        args.dataset,
        args.data,
        args.device,
        full_test=args.full_test,
        batch_size=args.batch_size,
    )
    if args.json:
        print(json.dumps(r))
    else:
        print(
            f"{args.checkpoint}: top-1 {r['top1']:.2f}% top-5 {r['top5']:.2f}% on {r['n']} {r['dataset']} "
            f"test images (epoch {r['epoch']})"
        )
    return 0
