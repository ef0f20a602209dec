"""``nash pareto RESULTS --x bram --y error``: print the Pareto-optimal rows of a results table."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pareto`` subcommand."""
    p = subparsers.add_parser(
        "pareto",
        help="print the Pareto set of a results table (e.g. error vs BRAM)",
        description="Print the rows no other finished row beats in both objectives. Metrics: error, top1, "
        "top5, bram (=bram18), lut, dsp, uram, latency (=latency_ms), fps, params, macs. top1, top5 and "
        "fps are maximised (negated internally); everything else is minimised.",
    )
    p.add_argument("results", help="results.csv, results.json or an experiment directory")
    p.add_argument("--x", default="bram", help="first objective (default: %(default)s)")
    p.add_argument("--y", default="error", help="second objective (default: %(default)s)")
    p.add_argument("--all", action="store_true", help="print every row, marking the optimal ones with *")
    p.set_defaults(func=run)


def _render(headers: list[str], body: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(line[k]) for line in body)) if body else len(h) for k, h in enumerate(headers)
    ]
    lines = [headers, ["-" * w for w in widths], *body]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def run(args: argparse.Namespace) -> int:
    """Load the table, compute the front, print it; exit 0 (1 when no row has both values)."""
    from nash.analysis import load_results, pareto_front, pareto_table, resolve_metric
    from nash.cli.report import check_results

    check_results(args.results)
    mx, my = resolve_metric(args.x), resolve_metric(args.y)
    rows = [r for r in load_results(args.results) if (r.get("status") or "ok") == "ok"]
    front = pareto_front(rows, mx.column, my.column)
    if args.all:
        order = front + [i for i in range(len(rows)) if i not in set(front)]
        headers, body = pareto_table(rows, order, mx.column, my.column)
        for line, i in zip(body, order):
            line[0] = "*" if i in set(front) else ""
    else:
        headers, body = pareto_table(rows, front, mx.column, my.column)
    sense = {True: "max", False: "min"}
    print(
        f"Pareto set: {my.column} ({sense[my.maximise]}) vs {mx.column} ({sense[mx.maximise]}); "
        f"{len(front)} of {len(rows)} finished rows optimal"
    )
    print(_render(headers, body))
    return 0 if front else 1
