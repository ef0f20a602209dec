"""``nash report EXPERIMENT_DIR``: write the HTML/Markdown report of an experiment and print its path."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="write report/report.html (+ report.md, PNG/SVG plots) for an experiment directory",
        description="Read results.json/results.csv, experiment.yaml, genotypes and estimates of an "
        "experiment directory and write a self-contained report into <dir>/report/.",
    )
    p.add_argument("experiment_dir", help="directory written by `nash pipeline` (holds results.csv)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report and print the path of report.html."""
    from nash.analysis import write_report

    print(write_report(args.experiment_dir))
    return 0
