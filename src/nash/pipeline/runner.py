"""Run an experiment grid end to end: search -> train -> export -> hw -> results -> report.

Resumable and incremental: finished stages are skipped (``stage.json`` markers), interrupted ones
resume, and ``results.csv``/``results.json`` are rewritten after every grid cell. A failing grid
cell is recorded with its error and the others go on.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nash.config.base import save_config
from nash.config.pipeline import STAGES, ExperimentConfig
from nash.errors import ConfigError
from nash.io import append_jsonl
from nash.pipeline.steps import Context, check_sections, export_step, hw_step, search_step, train_step

__all__ = ["run_experiment"]


def run_experiment(
    cfg: ExperimentConfig,
    root: str | Path,
    *,
    to: str = "report",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Run (or resume) the experiment in ``root`` and return the result rows.

    Args:
        cfg: the experiment grid and stage settings.
        root: experiment directory (created; reused on re-runs).
        to: last stage to run: search | train | export | hw | report.
        progress: show tqdm bars inside stages.
        log: where one-line progress messages go.
    """
    if to not in STAGES:
        raise ConfigError(f"--to {to!r}: use one of {', '.join(STAGES)}")
    check_sections(cfg)
    ctx = Context(cfg, Path(root), progress)
    ctx.root.mkdir(parents=True, exist_ok=True)
    save_config(cfg, ctx.root / "experiment.yaml")
    last = STAGES.index(to)
    genotypes, search_errors = _search_all(ctx, log)
    rows: list[dict[str, Any]] = []
    if last >= STAGES.index("train"):
        for backbone, version, bits in cfg.grid():
            rows.append(_run_cell(ctx, backbone, version, bits, genotypes, search_errors, last, log))
            _write_rows(ctx, rows)
    if last >= STAGES.index("report") and rows:
        from nash.analysis import write_report

        path = write_report(ctx.root)
        log(f"report: {path}")
    return rows


def _search_all(ctx: Context, log: Callable[[str], None]) -> tuple[dict, dict]:
    genotypes: dict[tuple[str, str], str] = {}
    errors: dict[tuple[str, str], str] = {}
    for backbone in ctx.cfg.backbones:
        for strategy in ctx.cfg.strategies():
            key = (backbone, strategy)
            try:
                res = _timed(ctx, "search", key, lambda b=backbone, s=strategy: search_step(ctx, b, s), log)
                genotypes[key] = res.outputs["genotype"]
            except Exception as exc:  # noqa: BLE001 - one failed search must not stop the grid
                errors[key] = _describe("search", exc)
                _event(ctx, "search", key, "failed", errors[key])
                log(f"[search {backbone}-{strategy}] FAILED: {errors[key]}")
    return genotypes, errors


def _run_cell(ctx, backbone, version, bits, genotypes, search_errors, last, log) -> dict[str, Any]:
    row: dict[str, Any] = {
        "backbone": backbone,
        "version": version,
        "bits": bits,
        "status": "ok",
        "error_message": "",
    }
    key = (backbone, version, bits)
    try:
        genotype = None
        if version != "o":
            if (backbone, version) in search_errors:
                raise RuntimeError(search_errors[(backbone, version)])
            genotype = genotypes[(backbone, version)]
            row["genotype_path"] = _rel(ctx, genotype)
        tr = _timed(ctx, "train", key, lambda: train_step(ctx, backbone, version, bits, genotype), log)
        _fill_train(row, tr.outputs, ctx)
        if last >= 2:
            ex = _timed(
                ctx,
                "export",
                key,
                lambda: export_step(ctx, backbone, version, bits, tr.outputs["checkpoint"]),
                log,
            )
            row["onnx_path"] = _rel(ctx, ex.outputs["onnx"])
        if last >= 3:
            hw = _timed(
                ctx, "hw", key, lambda: hw_step(ctx, backbone, version, bits, ex.outputs["onnx"]), log
            )
            _fill_hw(row, hw.outputs, ctx)
    except Exception as exc:  # noqa: BLE001 - a failed grid cell is recorded, the others go on
        row["status"] = "failed"
        row["error_message"] = _describe("", exc)
        _event(ctx, "cell", key, "failed", row["error_message"], traceback.format_exc())
        log(f"[{'-'.join(key)}] FAILED: {row['error_message']}")
    return row


def _fill_train(row: dict[str, Any], out: dict[str, Any], ctx: Context) -> None:
    top1 = out.get("top1")
    row.update(
        {
            "top1": top1,
            "top5": out.get("top5"),
            "error": None if top1 is None else round(100.0 - float(top1), 4),
            "params": out.get("params"),
            "macs": out.get("macs"),
            "checkpoint_path": _rel(ctx, out["checkpoint"]),
        }
    )


def _fill_hw(row: dict[str, Any], out: dict[str, Any], ctx: Context) -> None:
    for k in ("fps", "latency_ms", "lut", "bram18", "dsp", "uram", "fits_device", "device"):
        row[k] = out.get(k)
    row["estimate_path"] = _rel(ctx, out["estimate"])


def _timed(ctx: Context, stage: str, key: tuple, fn: Callable, log: Callable[[str], None]):
    name = "-".join(key)
    start = time.perf_counter()
    res = fn()
    if res.skipped:
        log(f"[{stage} {name}] done already, skipped")
    else:
        log(f"[{stage} {name}] finished in {time.perf_counter() - start:.1f} s")
    _event(ctx, stage, key, "skipped" if res.skipped else "ok")
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
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{stage + ': ' if stage else ''}{type(exc).__name__}: {text}"


def _rel(ctx: Context, path: str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(ctx.root.resolve()))
    except ValueError:
        return str(p)
