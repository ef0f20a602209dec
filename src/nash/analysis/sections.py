"""Content of the report that depends on artefacts on disk: fronts, genotypes, estimates, artefact checks.

Everything here is robust to missing or broken files: a missing artefact is reported as ``missing``
(or ``unreadable``), never raised.
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from nash.analysis._common import fmt, fmt_column, is_ok, version_key
from nash.analysis.cells import OP_COLOURS, cell_svg, downsample_flags, genotype_table, read_genotype
from nash.analysis.pareto import pareto_front
from nash.analysis.results import PATH_COLUMNS
from nash.analysis.runs import artefact_state, damaged_files, resolve_path
from nash.analysis.tables import html_table

__all__ = [
    "FRONTS",
    "compute_fronts",
    "front_marks",
    "resolve_artefact",
    "artefact_table",
    "genotype_sections",
    "cell_bits_text",
    "hw_search_table",
    "estimate_table",
    "estimate_details",
    "summary_cards",
]

# name -> (x metric, y metric) of the Pareto sets shown in the report
FRONTS: dict[str, tuple[str, str]] = {
    "BRAM": ("bram18", "error"),
    "LUT": ("lut", "error"),
    "latency": ("latency_ms", "error"),
}


def compute_fronts(rows: Sequence[Mapping[str, Any]], exclude: Collection[int] = ()) -> dict[str, list[int]]:
    """Pareto sets over the ``ok`` rows not in ``exclude``, as indices into ``rows`` in front order."""
    ok = [i for i, r in enumerate(rows) if is_ok(r) and i not in exclude]
    out = {}
    for name, (x, y) in FRONTS.items():
        out[name] = [ok[k] for k in pareto_front([rows[i] for i in ok], x, y)]
    return out


def front_marks(fronts: Mapping[str, list[int]]) -> dict[int, str]:
    """Row index -> "BRAM, LUT" naming the fronts the row lies on."""
    marks: dict[int, list[str]] = {}
    for name, idx in fronts.items():
        for i in idx:
            marks.setdefault(i, []).append(name)
    return {i: ", ".join(names) for i, names in marks.items()}


def resolve_artefact(base: Path, value: Any) -> Path | None:
    """Absolute path of an artefact column (relative to the experiment dir; re-rooted when moved)."""
    return resolve_path(base, value)


def artefact_table(
    rows: Sequence[Mapping[str, Any]], base: Path, damaged: Mapping[str, str] | None = None
) -> tuple[list[str], list[list[str]]]:
    """Per row: each artefact path with its state (``ok``, ``missing``, ``empty``, ``truncated``,
    ``changed``; see ``nash.analysis.runs.artefact_state``) or ``-`` (not produced).

    A file is ``ok`` only when it also matches the size its stage record holds (``damaged``:
    ``nash.analysis.runs.damaged_files(base)``, computed here when not given).
    """
    damaged = damaged_files(base) if damaged is None else damaged
    headers = ["backbone", "version", "bits"] + [c.removesuffix("_path") for c in PATH_COLUMNS]
    body = []
    for r in rows:
        cells = []
        for c in PATH_COLUMNS:
            state = artefact_state(resolve_artefact(base, r.get(c)), damaged, base)
            cells.append("-" if state == "-" else f"{r.get(c)} ({state})")
        body.append([str(r["backbone"]), str(r["version"]), str(r["bits"])] + cells)
    return headers, body


def _genotype_users(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    users: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get("genotype_path"):
            users.setdefault(str(r["genotype_path"]), []).append(r)
    return dict(
        sorted(users.items(), key=lambda kv: (kv[1][0]["backbone"], version_key(kv[1][0]["version"])))
    )


def _legend() -> str:
    items = "".join(
        f'<span><i style="background:{c}"></i>{html.escape(op)}</span>' for op, c in OP_COLOURS.items()
    )
    return (
        f'<p class="legend">{items}<span><i style="background:#D55E00"></i>size-changing edge (/2)</span></p>'
    )


def genotype_sections(rows: Sequence[Mapping[str, Any]], base: Path) -> tuple[str, list[str]]:
    """HTML of every distinct genotype used (cell diagrams + table) and Markdown lines summarising them."""
    parts, md = [_legend()], []
    users = _genotype_users(rows)
    if not users:
        return "<p>No genotype files are referenced (only original models?).</p>", ["No genotype files."]
    for path, rs in users.items():
        used_by = ", ".join(sorted({f"{r['backbone']} {r['version']} {r['bits']}" for r in rs}))
        head = f"<h3>{html.escape(str(rs[0]['version']))} &mdash; <code>{html.escape(path)}</code></h3>"
        data, problem = read_genotype(resolve_artefact(base, path))
        if data is None:
            parts.append(f'{head}<p class="missing">genotype file {problem}</p>')
            md.append(f"- `{path}`: **{problem}** (used by {used_by})")
            continue
        backbone = str(data.get("backbone", rs[0]["backbone"]))
        flags = downsample_flags(backbone, len(data["cells"]), data.get("cell_layers"))
        svgs = "".join(
            cell_svg(c, flags[k], f"cell {k}" + (" (downsample)" if flags[k] else ""))
            for k, c in enumerate(data["cells"])
        )
        table = html_table(genotype_table(data["cells"]), "geno-table")
        bits = cell_bits_text(data)
        bits_note = f"; main-branch bits per cell: {bits}" if bits else ""
        parts.append(
            f'<div class="geno">{head}<p class="sub">{html.escape(backbone)}, strategy '
            f"{html.escape(str(data.get('strategy', '?')))}{html.escape(bits_note)}; used by "
            f"{html.escape(used_by)}</p>"
            f'<div class="cellrow">{svgs}</div><div class="scroll">{table}</div></div>'
        )
        md.append(
            f"- `{path}` ({backbone}, strategy {data.get('strategy', '?')}{bits_note}): "
            + "; ".join(" ".join(f"{op}<-x{p}" for op, p in c) for c in data["cells"])
        )
    return "".join(parts), md


def cell_bits_text(genotype: Mapping[str, Any]) -> str:
    """``w2a2 | w4a4 | ...`` from a schema-2 genotype's per-cell ``bits``; empty when it has none."""
    bits = genotype.get("bits")
    if not isinstance(bits, list) or not bits:
        return ""
    tags = [
        f"w{pair[0]}a{pair[1]}" if isinstance(pair, list | tuple) and len(pair) == 2 else "?" for pair in bits
    ]
    return " | ".join(tags)


HW_SEARCH_HEADERS = [
    "backbone",
    "version",
    "strategy",
    "objective",
    "deployment",
    "norm",
    "limit",
    "λ start",
    "λ final",
    "expected cost",
    "derived cost",
    "derived per resource",
    "meets limit",
    "cell bits",
]


def _search_setting(data: Mapping[str, Any], key: str) -> Any:
    cfg = (data.get("meta") or {}).get("search_config") if isinstance(data.get("meta"), dict) else None
    return cfg.get(key) if isinstance(cfg, dict) else None


def hw_search_table(rows: Sequence[Mapping[str, Any]], base: Path) -> tuple[list[str], list[list[str]]]:
    """Per hardware-aware search (a genotype with ``meta["hw"]``, or a ``hw...`` version): its figures.

    Costs are normalised (1.0 = the normaliser, ``norm``: the original ResNet's cost or the device);
    ``derived`` is the cost of the derived (argmax) network at the end of the search, ``expected``
    the softmax-weighted one the alpha step saw; ``λ final`` is the last lambda (budget mode adapts it).
    """
    from nash.analysis._common import is_hw_version

    body = []
    for path, rs in _genotype_users(rows).items():
        version = str(rs[0]["version"])
        data, problem = read_genotype(resolve_artefact(base, path))
        meta = data.get("meta") if data is not None else None
        hw = meta.get("hw") if isinstance(meta, dict) else None
        if not isinstance(hw, dict):
            if is_hw_version(version):
                why = f"genotype file {problem}" if data is None else "no meta.hw in the genotype"
                lead = [str(rs[0]["backbone"]), version, str((data or {}).get("strategy", "?")), why]
                body.append(lead + ["-"] * (len(HW_SEARCH_HEADERS) - len(lead)))
            continue
        limit = hw.get("limit")
        derived = hw.get("hw_derived")
        per = hw.get("hw_derived_resources")
        per_text = ", ".join(f"{k} {fmt(v, 3)}" for k, v in per.items()) if isinstance(per, dict) else "-"
        meets = None
        if isinstance(limit, int | float) and isinstance(derived, int | float):
            meets = derived <= limit
        deploy = [_search_setting(data, k) for k in ("hw_input", "hw_bits", "hw_target_fps")]
        deployment = (
            f"{deploy[0]} {deploy[1]} @ {fmt(deploy[2], 1)} fps"
            if all(v is not None for v in deploy)
            else "-"
        )
        body.append(
            [str(rs[0]["backbone"]), version, str(data.get("strategy", "?")), fmt(hw.get("objective"))]
            + [deployment, fmt(_search_setting(data, "hw_norm")), fmt(limit, 3)]
            + [fmt(_search_setting(data, "hw_weight"), 3), fmt(hw.get("hw_lambda"), 3)]
            + [fmt(hw.get("hw_expected"), 3), fmt(derived, 3), per_text, fmt(meets)]
            + [cell_bits_text(data) or "-"]
        )
    return list(HW_SEARCH_HEADERS), body


def _read_estimate(path: Path | None) -> tuple[dict[str, Any] | None, str]:
    if path is None:
        return None, "not produced"
    if not path.is_file():
        return None, "missing"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"unreadable ({type(exc).__name__})"
    return (data, "") if isinstance(data, dict) else (None, "malformed (not a JSON object)")


def _device_name(device: Any) -> str:
    return str(device.get("name", "?")) if isinstance(device, dict) else fmt(device)


def estimate_table(rows: Sequence[Mapping[str, Any]], base: Path) -> tuple[list[str], list[list[str]]]:
    """Per row: the hardware estimate's totals, layer count, bottleneck and device fit, or why absent."""
    keys = ("lut", "bram18", "dsp", "uram")
    headers = ["backbone", "version", "bits", "estimate", "layers", "bottleneck", *keys, "fps", "latency ms"]
    headers += ["device", "fits", "estimated"]
    body = []
    for r in rows:
        data, problem = _read_estimate(resolve_artefact(base, r.get("estimate_path")))
        lead = [str(r["backbone"]), str(r["version"]), str(r["bits"])]
        if data is None:
            body.append(lead + [problem] + ["-"] * (len(headers) - 4))
            continue
        totals = data.get("totals") if isinstance(data.get("totals"), dict) else {}
        layers = data.get("layers")
        fits = data.get("fits_device", data.get("fits"))
        body.append(
            lead
            + ["ok", fmt(len(layers)) if isinstance(layers, list) else "-", fmt(data.get("bottleneck"))]
            + [fmt_column(k, totals.get(k)) for k in keys]
            + [fmt_column("fps", data.get("fps")), fmt_column("latency_ms", data.get("latency_ms"))]
            + [_device_name(data.get("device")), fmt(fits if isinstance(fits, bool) else None)]
            + [str(r.get("hw_scale") or "trained export")]
        )
    return headers, body


_LAYER_COLUMNS = ("name", "op_type", "PE", "SIMD", "cycles", "lut", "bram18", "dsp", "uram")


def estimate_details(rows: Sequence[Mapping[str, Any]], base: Path) -> str:
    """Collapsible per-layer tables (name, op, PE, SIMD, cycles, resources) of every readable estimate."""
    parts = []
    for r in rows:
        data, _ = _read_estimate(resolve_artefact(base, r.get("estimate_path")))
        layers = data.get("layers") if data else None
        if not isinstance(layers, list):
            continue
        body = []
        for la in (x for x in layers if isinstance(x, dict)):
            body.append([fmt_column(c, la.get(c, la.get(c.lower()))) for c in _LAYER_COLUMNS])
        title = f"{r['backbone']} {r['version']} {r['bits']}: {len(body)} layers"
        table = html_table((list(_LAYER_COLUMNS), body), "layers")
        parts.append(
            f'<details><summary>{html.escape(title)}</summary><div class="scroll">{table}</div></details>'
        )
    return "".join(parts)


def summary_cards(
    rows: Sequence[Mapping[str, Any]], exclude: Collection[int] = ()
) -> list[tuple[str, str, str]]:
    """Key numbers as (title, value, detail): row counts, best accuracy, smallest BRAM/LUT, best fps.

    Rows in ``exclude`` (e.g. at chance level) count as ok but compete for no card.
    """
    n_ok = sum(is_ok(r) for r in rows)
    ok = [r for i, r in enumerate(rows) if is_ok(r) and i not in exclude]
    cards = [("rows", f"{n_ok} ok / {len(rows) - n_ok} failed", f"{len(rows)} grid cells")]
    for title, col, best in (
        ("best top-1", "top1", max),
        ("fewest BRAM18", "bram18", min),
        ("fewest LUTs", "lut", min),
        ("highest throughput", "fps", max),
    ):
        have = [r for r in ok if r.get(col) is not None]
        if not have:
            cards.append((title, "-", "no values"))
            continue
        r = best(have, key=lambda row, c=col: row[c])
        unit = {"top1": " %", "fps": " fps"}.get(col, "")
        cards.append((title, fmt_column(col, r[col]) + unit, f"{r['backbone']} {r['version']} {r['bits']}"))
    return cards
