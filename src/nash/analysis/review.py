"""What a reviewer checks beside the headline numbers: export verification, equal throughput, chance
level, stage run times and grid progress. Tables are ``(headers, rows of text)`` like :mod:`tables`.

A cell text starting with ``⚠`` is a warning (the HTML renderer highlights it).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from nash.analysis._common import fmt, fmt_column, is_ok
from nash.analysis.runs import (
    EQUAL_FPS_TOLERANCE,
    CellRecords,
    SearchRecords,
    chance_level,
    fold_text,
    throughput_spread,
)
from nash.analysis.tables import Table

__all__ = [
    "WARN",
    "row_checks",
    "export_table",
    "hardware_table",
    "times_table",
    "unfinished_stages",
    "fps_header",
    "throughput_summary",
    "chance_warnings",
    "grid_progress",
    "fmt_seconds",
]

WARN = "\u26a0"


def _lead(row: Mapping[str, Any]) -> list[str]:
    return [str(row["backbone"]), str(row["version"]), str(row["bits"])]


def _fps(row: Mapping[str, Any], rec: CellRecords) -> float | None:
    v = (rec.estimate or {}).get("fps", row.get("fps"))
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _slowest(rows: Sequence[Mapping[str, Any]], recs: Sequence[CellRecords]) -> tuple[float | None, float]:
    return throughput_spread([_fps(r, c) for r, c in zip(rows, recs) if is_ok(r)])


def fps_delta(fps: float | None, slowest: float | None) -> str:
    """``=`` / ``+3.1 %`` / ``⚠ +11.1 %``: the row's fps above the slowest finished row."""
    if fps is None or not slowest:
        return "-"
    rel = fps / slowest - 1.0
    if rel < 5e-4:
        return "="
    text = f"+{100 * rel:.1f} %"
    return f"{WARN} {text}" if rel > EQUAL_FPS_TOLERANCE else text


def export_state(rec: CellRecords) -> str:
    """``ok`` / ``⚠ FAILED`` / ``⚠ N viol.`` (conformance) / ``missing`` / ``-`` for the results table."""
    chk = rec.export_check
    if chk is None:
        return "-" if rec.export_problem == "not produced" else rec.export_problem
    if chk.get("ok") is False:
        return f"{WARN} FAILED"
    n_viol = len(chk.get("conformance") or [])
    return f"{WARN} {n_viol} viol." if n_viol else "ok"


def row_checks(rows: Sequence[Mapping[str, Any]], recs: Sequence[CellRecords]) -> list[dict[str, str]]:
    """Per row: ``export`` state, ``fps_delta`` vs the slowest row, and ``note`` (warnings / error)."""
    slowest, _ = _slowest(rows, recs)
    out = []
    for row, rec in zip(rows, recs):
        notes = []
        chance = chance_level(row.get("top1"), rec.num_classes) if is_ok(row) else None
        if chance is not None:
            notes.append(f"{WARN} top-1 at chance level ({chance:g} % for {rec.num_classes} classes)")
        if not is_ok(row):
            notes.append(str(row.get("error_message") or "failed (no message recorded)"))
        for col, path_col in (("checkpoint", "checkpoint_path"), ("onnx", "onnx_path")):
            state = rec.artefacts.get(path_col, "-")
            if state not in ("ok", "-"):
                notes.append(f"{WARN} {col} {state}")
        out.append(
            {
                "export": export_state(rec),
                "fps_delta": fps_delta(_fps(row, rec), slowest) if is_ok(row) else "-",
                "note": "; ".join(notes),
            }
        )
    return out


def _pct(v: Any) -> str:
    return f"{100 * float(v):.2f}" if isinstance(v, int | float) and not isinstance(v, bool) else "-"


def _sci(v: Any) -> str:
    if not isinstance(v, int | float) or isinstance(v, bool):
        return "-"
    return "0" if v == 0 else f"{v:.2g}" if abs(v) < 1e-2 else f"{v:.3g}"


def export_table(rows: Sequence[Mapping[str, Any]], recs: Sequence[CellRecords]) -> Table:
    """Per row: verdict, top-1 agreement, max |logit diff| vs tolerance, conformance, onnxruntime, MACs."""
    headers = ["backbone", "version", "bits", "check", "top-1 agree %", "max |Δlogit|", "tolerance",
               "boundary flips", "images", "conformance", "onnxruntime", "MACs qonnx / nash", "why"]  # fmt: skip
    body = []
    for row, rec in zip(rows, recs):
        chk = rec.export_check
        if chk is None:
            body.append(_lead(row) + [rec.export_problem] + ["-"] * (len(headers) - 4))
            continue
        q = chk.get("qonnx") if isinstance(chk.get("qonnx"), dict) else {}
        tol = q.get(
            "tolerance",
            (chk.get("tolerance") or {}).get("atol") if isinstance(chk.get("tolerance"), dict) else None,
        )
        viol = chk.get("conformance") or []
        rules = sorted({str(v.get("rule", "?")) for v in viol if isinstance(v, dict)})
        ort = chk.get("onnxruntime") if isinstance(chk.get("onnxruntime"), dict) else {}
        ort_text = (
            "skipped" if "skipped" in ort else ("ok" if ort.get("ok") else f"{WARN} differs" if ort else "-")
        )
        macs = chk.get("macs") if isinstance(chk.get("macs"), dict) else {}
        mq, mn = macs.get("qonnx_inference_cost"), macs.get("nash")
        mac_text = "-" if mq is None and mn is None else f"{fmt(mq)} / {fmt(mn)}"
        if mq is not None and mn is not None and mq != mn:
            mac_text = f"{WARN} {mac_text}"
        verdict = "ok" if chk.get("ok") else f"{WARN} FAILED"
        body.append(
            _lead(row)
            + [
                verdict,
                _pct(chk.get("top1_agreement", q.get("top1_agreement"))),
                _sci(chk.get("max_abs_diff", q.get("max_abs_diff"))),
                _sci(tol),
                _flips(q),
                fmt(chk.get("n", q.get("n"))),
                (f"{WARN} {len(viol)}: {', '.join(rules)}" if viol else "0 violations"),
                ort_text,
                mac_text,
                "; ".join(str(f) for f in chk.get("failures") or []) or "-",
            ]  # fmt: skip
        )
    return headers, body


def _flips(q: Mapping[str, Any]) -> str:
    """``3 / 64 (4.7 %, ≤ 25 % allowed)``: images beyond the float-noise bound (rounding-boundary
    flips) and the share the check allowed (from PyTorch's own float32-vs-float64 noise)."""
    flips, n = q.get("flips"), q.get("n")
    if not isinstance(flips, int) or isinstance(flips, bool):
        return "-"
    share, allowed = q.get("flip_share"), q.get("allowed_flip_share")
    text = f"{flips} / {n}" if isinstance(n, int) else str(flips)
    if isinstance(share, float) and isinstance(allowed, float):
        text += f" ({100 * share:.1f} %, ≤ {100 * allowed:.0f} % allowed)"
        return f"{WARN} {text}" if share > allowed else text
    return text


def hardware_table(rows: Sequence[Mapping[str, Any]], recs: Sequence[CellRecords]) -> Table:
    """Per row: folding target and clock beside fps, latency and resources of ``estimate.json``."""
    keys = ("lut", "bram18", "dsp", "uram")
    headers = ["backbone", "version", "bits", "estimate", "folding", "clock", "fps", "vs slowest",
               "latency ms", "LUT", "BRAM18", "DSP", "URAM", "layers", "bottleneck", "device", "fits"]  # fmt: skip
    slowest, _ = _slowest(rows, recs)
    body = []
    for row, rec in zip(rows, recs):
        data = rec.estimate
        if data is None:
            body.append(_lead(row) + [rec.estimate_problem] + ["-"] * (len(headers) - 4))
            continue
        totals = data.get("totals") if isinstance(data.get("totals"), dict) else {}
        layers = data.get("layers")
        fits = data.get("fits_device", data.get("fits"))
        clock = rec.clock_ns
        device = data.get("device")
        body.append(
            _lead(row)
            + [
                "ok",
                fold_text(rec.settings, None),
                f"{clock:g} ns" if clock else "-",
                fmt_column("fps", data.get("fps")),
                fps_delta(_fps(row, rec), slowest) if is_ok(row) else "-",
                fmt_column("latency_ms", data.get("latency_ms")),
            ]
            + [fmt_column(k, totals.get(k)) for k in keys]
            + [
                fmt(len(layers)) if isinstance(layers, list) else "-",
                fmt(data.get("bottleneck")),
                str(device.get("name", "?")) if isinstance(device, dict) else fmt(device),
                fmt(fits if isinstance(fits, bool) else None),
            ]  # fmt: skip
        )
    return headers, body


def fps_header(rows: Sequence[Mapping[str, Any]], recs: Sequence[CellRecords]) -> str:
    """``fps (target 2,000 @ 5 ns)`` when every estimate shares one folding and clock, else a pointer."""
    folds = {
        fold_text(c.settings, c.clock_ns, short=True) for r, c in zip(rows, recs) if is_ok(r) and c.estimate
    }
    if len(folds) == 1:
        return f"fps ({folds.pop()})"
    return "fps (foldings differ: see Hardware)" if folds else "fps"


def throughput_summary(rows: Sequence[Mapping[str, Any]], recs: Sequence[CellRecords]) -> tuple[bool, str]:
    """``(equal, sentence)``: are the finished rows at equal throughput, and the folding(s) used."""
    ok = [(r, c) for r, c in zip(rows, recs) if is_ok(r) and _fps(r, c) is not None]
    if not ok:
        return True, "No hardware estimate yet."
    folds = sorted({fold_text(c.settings, c.clock_ns) for _, c in ok if c.estimate})
    fold = "; ".join(folds) if folds else "unknown (no estimate.json read)"
    slowest, spread = throughput_spread([_fps(r, c) for r, c in ok])
    fastest = slowest * spread if slowest else None
    if spread <= 1 + EQUAL_FPS_TOLERANCE:
        speed = fmt(slowest, 1)
        if spread > 1 + 5e-4:
            speed = f"{fmt(slowest, 1)} to {fmt(fastest, 1)} (within {100 * EQUAL_FPS_TOLERANCE:.0f} %)"
        return True, (
            f"Folding: {fold}. Every finished row runs at {speed} fps: resources and latency compare at "
            f"equal throughput."
        )
    return False, (
        f"{WARN} Not at equal throughput: folding {fold}, but the achieved fps range from {fmt(slowest, 1)} to "
        f"{fmt(fastest, 1)} ({100 * (spread - 1):.0f} % apart). A faster row pays resources for its extra speed; "
        f"compare LUT/BRAM/latency only between rows whose 'vs slowest' is within "
        f"{100 * EQUAL_FPS_TOLERANCE:.0f} %."
    )


def chance_warnings(rows: Sequence[Mapping[str, Any]], recs: Sequence[CellRecords]) -> list[str]:
    """One sentence per finished row whose top-1 is within a few points of chance."""
    out = []
    for row, rec in zip(rows, recs):
        chance = chance_level(row.get("top1"), rec.num_classes) if is_ok(row) else None
        if chance is not None:
            out.append(
                f"{' '.join(_lead(row))}: top-1 {fmt(row.get('top1'))} % is at chance level "
                f"({chance:g} % for {rec.num_classes} classes); the model has not learned, its hardware "
                f"numbers say nothing about accuracy per resource."
            )
    return out


def fmt_seconds(s: float | None) -> str:
    """``-``, ``42 s``, ``6.2 min``, ``1.5 h``."""
    if s is None:
        return "-"
    if s < 100:
        return f"{s:.0f} s" if s >= 10 else f"{s:.1f} s"
    return f"{s / 60:.1f} min" if s < 6000 else f"{s / 3600:.1f} h"


def times_table(
    rows: Sequence[Mapping[str, Any]],
    recs: Sequence[CellRecords],
    searches: Sequence[SearchRecords],
    running: bool = False,
) -> tuple[Table, float]:
    """Per row: search (shared by all bit widths of a version), train, export, hw, total; + grand total.

    Seconds are every attempt of a stage (``seconds_total`` of ``stage.json``: a resumed stage counts
    its interrupted attempts too). A failed stage reads ``failed after 12 s``; one that started and
    did not finish reads ``interrupted``, or ``running`` while ``running`` (another ``nash run`` holds
    the experiment). The grand total counts each search once.
    """
    search_s = {(s.backbone, s.version): s for s in searches}
    headers = ["backbone", "version", "bits", "search", "train", "export", "hw", "cell total"]
    body, grand = [], sum(s.seconds for s in searches if s.seconds)
    for row, rec in zip(rows, recs):
        secs = [rec.seconds.get(st) for st in ("train", "export", "hw")]
        states = [rec.status.get(st) for st in ("train", "export", "hw")]
        grand += sum(v for v in secs if v)
        search = search_s.get((str(row["backbone"]), str(row["version"])))
        shared = search.seconds if search else None
        cell = sum(v for v in [shared, *secs] if v)
        texts = [_time_text(shared, search.status if search else None, running)]
        texts += [_time_text(v, st, running) for v, st in zip(secs, states)]
        body.append(_lead(row) + texts + [fmt_seconds(cell or None)])
    return (headers, body), grand


def unfinished_stages(
    rows: Sequence[Mapping[str, Any]],
    recs: Sequence[CellRecords],
    searches: Sequence[SearchRecords],
    running: bool = False,
) -> list[str]:
    """One sentence per stage record that is not ``ok``: failed (with its error) or interrupted."""
    found: list[tuple[str, str, str | None, float | None, str]] = [
        ("search", f"{s.backbone}-{s.version}", s.status, s.seconds, s.error) for s in searches
    ]
    for rec in recs:
        found += [(st, rec.cell, rec.status.get(st), rec.seconds.get(st), rec.errors.get(st, ""))
                  for st in ("train", "export", "hw")]  # fmt: skip
    out = []
    for stage, cell, status, seconds, error in found:
        if status == "failed":
            after = f" after {fmt_seconds(seconds)}" if seconds is not None else ""
            out.append(f"{stage} {cell} failed{after}: {error or 'no error recorded'}")
        elif status == "running":
            out.append(
                f"{stage} {cell} is running (another nash run holds the experiment)"
                if running
                else f"{stage} {cell} was interrupted (started, never finished: killed or stopped); "
                "`nash run` on the experiment resumes it"
            )
    return out


def _time_text(seconds: float | None, status: str | None, running: bool = False) -> str:
    if status == "failed":
        return f"{WARN} failed" + (f" after {fmt_seconds(seconds)}" if seconds is not None else "")
    if status == "running":
        after = f" after {fmt_seconds(seconds)}" if seconds is not None else ""  # from the epoch log
        return "running" if running else f"{WARN} interrupted{after}"
    return fmt_seconds(seconds)


def grid_progress(rows: Sequence[Mapping[str, Any]], root: Path) -> tuple[int, int, list[str]]:
    """``(cells with a row, cells in experiment.yaml's grid, pending cell names)``; total 0 when unknown."""
    try:
        cfg = yaml.safe_load((root / "experiment.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return len(rows), 0, []
    if not isinstance(cfg, dict):
        return len(rows), 0, []
    lists = [cfg.get(k) for k in ("backbones", "versions", "bits")]
    if not all(isinstance(x, list) and x for x in lists):
        return len(rows), 0, []
    grid = ["-".join(map(str, t)) for t in itertools.product(*lists)]
    have = {f"{r['backbone']}-{r['version']}-{r['bits']}" for r in rows}
    return sum(g in have for g in grid), len(grid), [g for g in grid if g not in have]


def median_cell_seconds(recs: Sequence[CellRecords]) -> float | None:
    """Median train+export+hw seconds of the cells that have all three (for an ETA)."""
    totals = [
        sum(r.seconds[s] for s in ("train", "export", "hw"))  # type: ignore[misc]
        for r in recs
        if all(r.seconds.get(s) is not None for s in ("train", "export", "hw"))
    ]
    return statistics.median(totals) if totals else None
