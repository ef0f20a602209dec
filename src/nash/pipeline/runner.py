"""Run an experiment grid end to end: the steps of ``STEPS`` in order, then results and the report.

Resumable and incremental: finished stages are skipped (``stage.json`` records), interrupted ones
resume, and ``results.csv``/``results.json`` are rewritten after every grid cell. A failing grid
cell is recorded with its error and the others go on. Changed stage settings are refused before
anything runs (``--rerun STAGE`` accepts them); one ``nash run`` per directory at a time.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from nash.config.base import save_config
from nash.config.pipeline import ExperimentConfig
from nash.errors import ConfigError
from nash.io import append_jsonl, ensure_writable
from nash.pipeline.lock import experiment_lock
from nash.pipeline.stage import StageChanged, StageResult, one_line_error
from nash.pipeline.steps import STEPS, Cell, Context, Step, check_sections, planned_conflicts, step_cells
from nash.records import format_diff

__all__ = ["run_experiment"]


def run_experiment(
    cfg: ExperimentConfig,
    root: str | Path,
    *,
    to: str = "report",
    progress: bool = True,
    log: Callable[[str], None] = print,
    rerun: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Run (or resume) the experiment in ``root`` and return the result rows.

    Args:
        cfg: the experiment grid and stage settings.
        root: experiment directory (created; reused on re-runs; may be moved between runs).
        to: last stage to run: search | train | export | hw | finn | report.
        progress: show tqdm bars inside stages.
        log: where one-line progress messages go.
        rerun: stages whose changed settings are accepted: their cells run again from scratch.

    Raises:
        ConfigError: bad config or stage section; ``StageChanged``: a finished stage would now run
            with other settings (names the keys and the fix); ``LockError``: another run holds
            ``root``; ``OutputError``: ``root`` cannot be written.
    """
    names = [s.name for s in STEPS] + ["report"]
    if to not in names:
        raise ConfigError(f"--to {to!r}: use one of {', '.join(names)}")
    rerun = frozenset(rerun)
    unknown = sorted(rerun - {s.name for s in STEPS})
    if unknown:
        raise ConfigError(f"--rerun {unknown[0]!r}: use one of {', '.join(s.name for s in STEPS)}")
    check_sections(cfg, to)
    root = ensure_writable(root, kind="dir")
    ctx = Context(cfg, root, progress, rerun, log)
    # the table's order is the run order; optional stages (finn without a `finn:` section) are off
    steps = tuple(s for s in STEPS[: names.index(to) + 1] if s.enabled(cfg))
    with experiment_lock(root, log):
        _refuse_changes(ctx, steps)
        save_config(cfg, root / "experiment.yaml")
        rows = _run_grid(ctx, steps, log)
        if to == "report" and rows:
            from nash.analysis import write_report

            log(f"report: {write_report(root)}")
    return rows


def _refuse_changes(ctx: Context, steps: tuple[Step, ...]) -> None:
    conflicts = planned_conflicts(ctx, steps)
    if not conflicts:
        return
    step, cell, diffs = conflicts[0]
    same = [c for s, c, _ in conflicts if s.name == step.name]
    others = f" (and {len(same) - 1} more cells)" if len(same) > 1 else ""
    raise StageChanged(
        f"{step.name} {'-'.join(cell)}{others} ran with other settings than the experiment config now "
        f"asks for ({format_diff(diffs)}); pass --rerun {step.name} to run those cells again with the "
        "new settings (their old results are replaced), restore the old values, or use a new --out"
    )


def _run_grid(ctx: Context, steps: tuple[Step, ...], log: Callable[[str], None]) -> list[dict[str, Any]]:
    shared = [s for s in steps if s.scope == "strategy"]
    per_cell = [s for s in steps if s.scope == "cell"]
    done: dict[tuple[str, Cell], StageResult] = {}
    errors: dict[tuple[str, Cell], str] = {}
    for step in shared:
        for cell in step_cells(ctx, step):
            try:
                done[(step.name, cell)] = _timed(ctx, step, cell, {}, log)
            except Exception as exc:  # noqa: BLE001 - one failed search must not stop the grid
                errors[(step.name, cell)] = _describe(step.name, exc)
                _event(ctx, step.name, cell, "failed", errors[(step.name, cell)])
                log(f"[{step.name} {'-'.join(cell)}] FAILED: {errors[(step.name, cell)]}")
    rows: list[dict[str, Any]] = []
    if not per_cell:
        return rows
    grid = ctx.cfg.grid()
    start, worked = time.perf_counter(), 0
    for i, cell in enumerate(grid, start=1):
        row, ran = _run_cell(ctx, cell, shared, per_cell, done, errors, log)
        rows.append(row)
        _write_rows(ctx, rows)
        worked += ran
        log(_progress(i, len(grid), time.perf_counter() - start, worked))
    return rows


def _progress(i: int, n: int, elapsed: float, worked: int) -> str:
    text = f"[grid {i}/{n} cells, {100 * i / n:.0f} %, {_duration(elapsed)} so far"
    if worked and i < n:
        text += f", about {_duration(elapsed / worked * (n - i))} left"
    return text + "]"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _run_cell(ctx, cell, shared, per_cell, done, errors, log) -> tuple[dict[str, Any], bool]:
    backbone, version, bits = cell
    row: dict[str, Any] = {
        "backbone": backbone,
        "version": version,
        "bits": bits,
        "status": "ok",
        "error_message": "",
    }
    ran = False
    try:
        upstream: dict[str, StageResult] = {}
        if version != "o":
            for step in shared:
                key = (step.name, (backbone, version))
                if key in errors:
                    raise RuntimeError(errors[key])
                upstream[step.name] = done[key]
                step.fill(row, done[key], ctx)
        for step in per_cell:
            res = _timed(ctx, step, cell, upstream, log)
            ran = ran or not res.skipped
            upstream[step.name] = res
            step.fill(row, res, ctx)
    except StageChanged:
        raise
    except Exception as exc:  # noqa: BLE001 - a failed grid cell is recorded, the others go on
        row["status"] = "failed"
        row["error_message"] = _describe("", exc)
        _event(ctx, "cell", cell, "failed", row["error_message"], traceback.format_exc())
        log(f"[{'-'.join(cell)}] FAILED: {row['error_message']}")
        ran = True
    return row, ran


def _timed(ctx: Context, step: Step, cell: Cell, upstream: Mapping[str, StageResult], log) -> StageResult:
    name = "-".join(cell)
    start = time.perf_counter()
    res = step.run(ctx, cell, upstream)
    if res.skipped:
        log(f"[{step.name} {name}] done already, skipped")
    else:
        log(f"[{step.name} {name}] finished in {time.perf_counter() - start:.1f} s")
    _event(ctx, step.name, cell, "skipped" if res.skipped else "ok")
    return res


def _write_rows(ctx: Context, rows: list[dict[str, Any]]) -> None:
    from nash.analysis import write_results

    write_results(rows, ctx.root)


def _event(ctx: Context, stage: str, key: tuple, status: str, message: str = "", tb: str = "") -> None:
    rec = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "stage": stage,
        "cell": "-".join(key),
        "status": status,
    }
    if message:
        rec["error"] = message
    if tb:
        rec["traceback"] = tb
    append_jsonl(ctx.root / "pipeline.jsonl", rec)


def _describe(stage: str, exc: BaseException) -> str:
    return f"{stage + ': ' if stage else ''}{one_line_error(exc)}"
