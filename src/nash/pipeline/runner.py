"""Run an experiment grid end to end: the steps of ``STEPS`` in order, then results and the report.

Resumable and incremental: finished stages are skipped (``stage.json`` records), interrupted ones
resume, and ``results.csv``/``results.json`` are rewritten after every grid cell. A failing grid
cell is recorded with its error and the others go on. Changed stage settings are refused before
anything runs (``--rerun STAGE`` accepts them); one ``nash run`` per directory at a time.

``jobs > 1`` (``nash run --jobs N``) runs the searches, then the grid cells, ``N`` at a time in
worker processes (spawned; each cell is independent and seeded, so its results are those of a
sequential run). Each worker runs torch on ``cpu_count // N`` threads unless ``OMP_NUM_THREADS``
is set; NASH versions start before the original ResNets (they take longer), and the result rows
stay in grid order. Inside workers the stages show no progress bars; their one-line messages are
printed as they happen (with a ``log`` other than ``print`` / :func:`stdout_log`, handed to it as
each job ends).
"""

from __future__ import annotations

import os
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

__all__ = ["run_experiment", "stdout_log"]


def stdout_log(message: str) -> None:
    """Print one progress line and flush it (the CLI's log; workers of ``jobs > 1`` print alike)."""
    print(message, flush=True)


def run_experiment(
    cfg: ExperimentConfig,
    root: str | Path,
    *,
    to: str = "report",
    progress: bool = True,
    log: Callable[[str], None] = print,
    rerun: Iterable[str] = (),
    jobs: int = 1,
) -> list[dict[str, Any]]:
    """Run (or resume) the experiment in ``root`` and return the result rows.

    Args:
        cfg: the experiment grid and stage settings.
        root: experiment directory (created; reused on re-runs; may be moved between runs).
        to: last stage to run: search | train | export | hw | finn | report.
        progress: show tqdm bars inside stages.
        log: where one-line progress messages go.
        rerun: stages whose changed settings are accepted: their cells run again from scratch.
        jobs: searches / grid cells run at a time (worker processes when > 1).

    Raises:
        ConfigError: bad config or stage section; ``StageChanged``: a finished stage would now run
            with other settings (names the keys and the fix); ``LockError``: another run holds
            ``root``; ``OutputError``: ``root`` cannot be written.
    """
    names = [s.name for s in STEPS] + ["report"]
    if to not in names:
        raise ConfigError(f"--to {to!r}: use one of {', '.join(names)}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs {jobs!r}: give a whole number of parallel jobs, 1 or more")
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
        rows = _run_grid(ctx, steps, log, jobs)
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


def _run_grid(
    ctx: Context, steps: tuple[Step, ...], log: Callable[[str], None], jobs: int = 1
) -> list[dict[str, Any]]:
    shared = [s for s in steps if s.scope == "strategy"]
    per_cell = [s for s in steps if s.scope == "cell"]
    done: dict[tuple[str, Cell], StageResult] = {}
    errors: dict[tuple[str, Cell], str] = {}
    pool = _Pool(ctx, jobs, log) if jobs > 1 else None
    try:
        for step in shared:
            cells = step_cells(ctx, step)
            if pool is not None and len(cells) > 1:
                outcomes = pool.map(_shared_job, [(step.name, cell) for cell in cells])
            else:
                outcomes = (_shared_job((step.name, cell), ctx) for cell in cells)
            for cell, (res, error) in zip(cells, outcomes):
                if error is None:
                    done[(step.name, cell)] = res
                else:
                    errors[(step.name, cell)] = error
        rows: list[dict[str, Any]] = []
        if not per_cell:
            return rows
        grid = ctx.cfg.grid()
        start, worked = time.perf_counter(), 0
        names = tuple(s.name for s in shared), tuple(s.name for s in per_cell)
        jobs_of = [(cell, *names, done, errors) for cell in grid]
        if pool is None or len(grid) == 1:
            outcomes = (_cell_job(job, ctx) for job in jobs_of)
            order = range(len(grid))
        else:  # NASH cells first (longer), rows still written in grid order
            order = sorted(range(len(grid)), key=lambda n: grid[n][1] == "o")
            outcomes = pool.map(_cell_job, [jobs_of[n] for n in order])
        by_index: dict[int, dict[str, Any]] = {}
        for i, (n, (row, ran)) in enumerate(zip(order, outcomes), start=1):
            by_index[n] = row
            rows = [by_index[k] for k in sorted(by_index)]
            _write_rows(ctx, rows)
            worked += ran
            log(_progress(i, len(grid), time.perf_counter() - start, worked, jobs))
        return rows
    finally:
        if pool is not None:
            pool.close()


def _shared_job(job: tuple[str, Cell], ctx: Context | None = None) -> tuple[StageResult | None, str | None]:
    """One strategy-scope stage (a search) of one cell: (result, None) or (None, one-line error)."""
    ctx = ctx or _WORKER["ctx"]
    name, cell = job
    step = next(s for s in STEPS if s.name == name)
    try:
        return _timed(ctx, step, cell, {}, ctx.log), None
    except Exception as exc:  # noqa: BLE001 - one failed search must not stop the grid
        error = _describe(step.name, exc)
        _event(ctx, step.name, cell, "failed", error)
        ctx.log(f"[{step.name} {'-'.join(cell)}] FAILED: {error}")
        return None, error


def _cell_job(job: tuple, ctx: Context | None = None) -> tuple[dict[str, Any], bool]:
    """Every per-cell stage of one grid cell: (result row, whether anything ran)."""
    ctx = ctx or _WORKER["ctx"]
    cell, shared_names, cell_names, done, errors = job
    shared = [s for s in STEPS if s.name in shared_names]
    per_cell = [s for s in STEPS if s.name in cell_names]
    return _run_cell(ctx, cell, shared, per_cell, done, errors, ctx.log)


_WORKER: dict[str, Any] = {}  # the Context of a worker process


def _init_worker(cfg: ExperimentConfig, root: Path, rerun: frozenset[str], threads: int | None) -> None:
    from nash.runtime import quiet_brevitas

    quiet_brevitas()  # as the CLI does in the parent: no export-time notices from every worker
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    _WORKER["ctx"] = Context(cfg, root, False, rerun, stdout_log)


def _collecting(func: Callable, job: Any) -> tuple[Any, list[str]]:
    """Run ``func(job)`` in a worker, collecting its log lines instead of printing them."""
    lines: list[str] = []
    ctx = _WORKER["ctx"]
    _WORKER["ctx"] = Context(ctx.cfg, ctx.root, False, ctx.rerun, lines.append)
    try:
        return func(job), lines
    finally:
        _WORKER["ctx"] = ctx


class _Pool:
    """``jobs`` spawned worker processes that run pipeline jobs (see the module docstring)."""

    def __init__(self, ctx: Context, jobs: int, log: Callable[[str], None]) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        threads = None if os.environ.get("OMP_NUM_THREADS") else max(1, (os.cpu_count() or 1) // jobs)
        self.direct = log in (print, stdout_log)  # workers print their lines; else they are collected
        self.log = log
        self.executor = ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(ctx.cfg, ctx.root, ctx.rerun, threads),
        )

    def map(self, func: Callable, jobs: list[Any]) -> Iterable[Any]:
        """Results of ``func(job)`` in the order of ``jobs``, each as soon as it and those before are done."""
        if self.direct:
            yield from self.executor.map(func, jobs)
            return
        for result, lines in self.executor.map(_collecting, [func] * len(jobs), jobs):
            for line in lines:
                self.log(line)
            yield result

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def _progress(i: int, n: int, elapsed: float, worked: int, jobs: int = 1) -> str:
    text = f"[grid {i}/{n} cells, {100 * i / n:.0f} %, {_duration(elapsed)} so far"
    if worked and i < n:  # with jobs > 1 the cells finished so far ran side by side
        per_cell = elapsed * min(jobs, i) / worked
        text += f", about {_duration(per_cell * (n - i) / min(jobs, n - i))} left"
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
