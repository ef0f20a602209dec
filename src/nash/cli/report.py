"""``nash report EXPERIMENT_DIR``: write the HTML/Markdown report of an experiment and print its path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="write report/report.html (+ report.md, PNG/SVG plots) for an experiment directory",
        description="Read results.json/results.csv, experiment.yaml, genotypes and estimates of an "
        "experiment directory and write a self-contained report into <dir>/report/.",
    )
    p.add_argument("experiment_dir", help="directory written by `nash run` (holds results.csv)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report and print the path of report.html."""
    from nash.io import ensure_writable

    check_results(args.experiment_dir)
    ensure_writable(Path(args.experiment_dir) / "report", kind="dir", what="report directory")
    from nash.analysis import write_report
    from nash.pipeline.stage import damaged_artefacts

    for path, why in damaged_artefacts(args.experiment_dir).items():
        print(
            f"warning: {path} is damaged ({why}); `nash run` on this experiment redoes that stage",
            file=sys.stderr,
        )
    print(write_report(args.experiment_dir))
    return 0


def check_results(path: str) -> None:
    """Fail early, in one line, on a missing experiment or a torn ``results.csv``."""
    from nash.errors import NashError
    from nash.records import check_results_csv

    p = Path(path)
    if p.is_dir():
        if not any((p / name).is_file() for name in ("results.json", "results.csv")):
            raise NashError(
                f"{p} holds no results.json or results.csv; run `nash run EXPERIMENT.yaml --out {p}` first"
            )
        check_results_csv(p / "results.csv")
    elif p.suffix.lower() == ".csv":
        check_results_csv(p)
