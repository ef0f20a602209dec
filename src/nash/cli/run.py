"""``nash run EXPERIMENT.yaml``: the whole experiment grid, resumable."""

from __future__ import annotations

import argparse
from pathlib import Path

from nash.config.pipeline import STAGES  # search, train, export, hw, finn (the pipeline's STEPS), report

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser(
        "run",
        help="run an experiment grid end to end (search, train, export, estimate, report)",
        description="Run versions x bit tags x backbones from an experiment YAML. Finished stages are "
        "skipped, interrupted ones resume, failed grid cells are recorded and the rest goes on.",
    )
    p.add_argument("config", help="experiment YAML (see configs/demo.yaml)")
    p.add_argument("--out", required=True, help="experiment directory (reused on re-runs)")
    p.add_argument(
        "--to",
        default="report",
        choices=STAGES,
        help="last stage to run (default: report)",
    )
    p.add_argument(
        "--rerun",
        action="append",
        default=[],
        choices=STAGES[:-1],
        metavar="STAGE",
        help="accept changed settings of STAGE (search or train; repeatable): its finished cells whose "
        "settings differ from the config run again from scratch, later stages follow. Without it a "
        "changed search/train setting is refused, naming the key; changed export/hw settings always re-run",
    )
    p.add_argument(
        "--recipe",
        default=None,
        help="default | reference: preset under the config's stage sections (overrides the file's "
        "'recipe:'; docs/recipe.md)",
    )
    p.add_argument(
        "--plan",
        action="store_true",
        help="resolve and validate the config (recipe included), print each stage's settings, run nothing",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="searches / grid cells to run at a time, in worker processes (default 1; each cell is "
        "seeded, so results do not depend on it). Each worker gets cpu_count/JOBS torch threads "
        "unless OMP_NUM_THREADS is set",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars, one line per stage (bars are also off when stderr is not a terminal)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the config, run the grid, print the results and the Pareto sets."""
    import sys
    import time

    from nash.config.pipeline import ExperimentConfig, load_experiment
    from nash.pipeline import run_experiment
    from nash.pipeline.runner import stdout_log
    from nash.runtime import quiet_brevitas

    cfg: ExperimentConfig = load_experiment(args.config, recipe=args.recipe)
    if args.plan:
        return _plan(cfg, args.to)
    quiet_brevitas()
    start = time.perf_counter()
    progress = not args.no_progress and sys.stderr.isatty()  # no \r bars in log files
    rows = run_experiment(
        cfg, args.out, to=args.to, progress=progress, log=stdout_log, rerun=args.rerun, jobs=args.jobs
    )
    minutes = (time.perf_counter() - start) / 60
    failed = [r for r in rows if r.get("status") != "ok"]
    print(
        f"\n{len(rows)} grid cells, {len(failed)} failed, {minutes:.1f} min; results in {args.out}/results.csv"
    )
    if any(r.get("lut") is not None for r in rows):
        _print_pareto_sets(rows)
    if args.to == "report" and rows:
        print(f"report: {Path(args.out) / 'report' / 'report.html'}")
    return 1 if failed else 0


def _plan(cfg, to: str) -> int:
    """Validate every stage section as the pipeline will (``nash.pipeline.steps.check_sections``) and print them."""
    from nash.config.base import dumps_yaml
    from nash.pipeline.steps import check_sections, plan_lines

    check_sections(cfg, to)
    print(dumps_yaml(cfg), end="")
    for line in plan_lines(cfg, to):
        print(line)
    print(f"plan ok: {len(cfg.grid())} grid cells, recipe {cfg.recipe}")
    return 0


def _print_pareto_sets(rows: list[dict]) -> None:
    """The Pareto-optimal (version, bits) of error vs BRAM and error vs LUT (paper Figures 10-11)."""
    from nash.analysis import pareto_front

    ok = [r for r in rows if r.get("status") == "ok"]
    width = max([3, *(len(str(r["version"])) for r in ok)])  # hardware-aware variants: hw-l0.3
    for x in ("bram18", "lut"):
        front = pareto_front(ok, x=x, y="error")
        print(f"Pareto set, error vs {x}:")
        for i in front:
            r = ok[i]
            print(
                f"  {r['backbone']:<9} {r['version']:<{width}} {r['bits']:<5} error {r['error']:6.2f}%  "
                f"{x} {r[x]:,.0f}"
            )
