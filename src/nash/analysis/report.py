"""``write_report``: one self-contained ``report.html`` (+ ``report.md`` and plot files) per experiment.

Layout of ``<experiment>/report/``: ``report.html`` (plots as inline SVG, CSS inline, no scripts, no
network references), ``report.md`` (the same tables in Markdown, plots linked as PNG), and every
figure as ``<name>.png`` + ``<name>.svg``.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from nash import __version__
from nash.analysis import review as rv
from nash.analysis import sections as sec
from nash.analysis._common import is_ok, ordered_series, series_label
from nash.analysis.curves import plot_alpha_evolution, plot_search_curves, plot_training_curves
from nash.analysis.plots import PLOTS, write_figures, write_plots
from nash.analysis.results import ResultsError, load_results
from nash.analysis.runs import (
    CellRecords,
    SearchRecords,
    cell_records,
    chance_level,
    damaged_files,
    experiment_running,
    search_records,
)
from nash.analysis.tables import RESULT_LEAD, html_table, latency_table, md_table, pareto_table, results_table
from nash.io import atomic_write_text

__all__ = ["write_report", "inline_svg"]

_CAPTIONS = {
    "pareto_error_bram": "Top-1 error vs BRAM18 blocks; ringed points and the dashed step line form the "
    "Pareto front (paper Fig. 10).",
    "pareto_error_lut": "Top-1 error vs LUTs; ringed points form the Pareto front (paper Fig. 11).",
    "pareto_error_latency": "Top-1 error vs latency (ms); ringed points form the Pareto front.",
    "accuracy_top1": "Top-1 accuracy per bit width and version (paper Fig. 6). The axis starts at 0; "
    "values are printed on the bars; the dashed line is chance level.",
    "accuracy_top5": "Top-5 accuracy per bit width and version (paper Fig. 7). The axis starts at 0.",
    "resources_bram": "BRAM18 blocks per bit width and version (paper Fig. 8).",
    "resources_lut": "LUTs per bit width and version (paper Fig. 9).",
    "training_curves": "Training runs (metrics.jsonl): test top-1 and training loss per epoch; colour = "
    "version, line style = bit width.",
    "search_curves": "Search runs (log.jsonl): loss and accuracy of the weight step (solid) and the "
    "architecture step (dashed) per epoch.",
}
_HW_SEARCH_TEXT = (
    "The hardware term of each hardware-aware search (genotype.json meta.hw): the objective and the "
    "deployment it costs, the normaliser (original: 1.0 = the original ResNet's cost at that deployment; "
    "device: 1.0 = the device), the budget (limit, budget mode) and lambda at the start and the end (a "
    "budget search adapts it); the expected cost the alpha step saw and the cost of the derived network, "
    "both normalised; the per-cell main-branch bits when the search chose them."
)
_NAV = (
    ("summary", "Summary"),
    ("results", "Results"),
    ("pareto", "Pareto sets"),
    ("figures", "Figures"),
    ("export", "Export check"),
    ("hardware", "Hardware"),
    ("hwsearch", "HW-aware search"),  # only when the experiment has hardware-aware searches
    ("latency", "Latency / fps"),
    ("curves", "Curves"),
    ("times", "Run times"),
    ("genotypes", "Genotypes"),
    ("artefacts", "Artefacts"),
    ("config", "Config"),
)


def inline_svg(svg_text: str, prefix: str) -> str:
    """Make a matplotlib SVG safe to inline: drop prolog, metadata and namespaces; prefix its ids.

    Ids are prefixed so that several figures in one page never share an id.
    """
    text = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<metadata>.*?</metadata>", "", svg_text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    for ident in sorted(ids, key=len, reverse=True):
        text = text.replace(f'id="{ident}"', f'id="{prefix}-{ident}"').replace(
            f"#{ident}", f"#{prefix}-{ident}"
        )
    return text.strip()


def _card_html(cards: list[tuple[str, str, str]]) -> str:
    items = "".join(
        f'<div class="card"><div class="k">{html.escape(k)}</div><div class="v">{html.escape(v)}'
        f'</div><div class="d">{html.escape(d)}</div></div>'
        for k, v, d in cards
    )
    return f'<div class="cards">{items}</div>'


def _figures_html(plots: Mapping[str, Mapping[str, Path]], names: Sequence[str], wide: bool = False) -> str:
    figs = []
    for name in names:
        if name not in plots:
            continue
        svg = inline_svg(plots[name]["svg"].read_text(encoding="utf-8"), name)
        figs.append(
            f"<figure>{svg}<figcaption>{html.escape(_caption(name))} "
            f"Files: {name}.png, {name}.svg</figcaption></figure>"
        )
    return f'<div class="figs{" wide" if wide else ""}">{"".join(figs)}</div>'


def _caption(name: str) -> str:
    if name.startswith("alphas_"):
        return (
            f"Search {name.removeprefix('alphas_')} (alphas.jsonl): each op's softmax(α) averaged over the "
            "edges of a cell, per epoch; epoch 0 is the start (α ≈ 0, uniform over the allowed ops). "
            "'max shift' is the largest change of a mean probability since the start: near 0 means the "
            "search has not (yet) preferred any op in that cell."
        )
    return _CAPTIONS.get(name, name)


def _scroll(table_html: str, klass: str = "") -> str:
    return f'<div class="scroll{" " + klass if klass else ""}">{table_html}</div>'


def _results_html(ctx: dict[str, Any]) -> str:
    rows, marks = ctx["rows"], ctx["marks"]
    classes = []
    for i, (r, chk) in enumerate(zip(rows, ctx["checks"])):
        cls = "failed" if not is_ok(r) else ("front" if i in marks else "")
        if is_ok(r) and chk["note"].startswith(rv.WARN):
            cls = (cls + " warnrow").strip()
        classes.append(cls)
    headers, body = results_table(rows, marks, ctx["checks"], ctx["fps_header"])
    # a failed row shows its error across the number columns
    body = [
        cells if "failed" not in cls else cells[:RESULT_LEAD] + [cells[-1]]
        for cells, cls in zip(body, classes)
    ]
    return _scroll(html_table((headers, body), "results", classes), "key")


def _config_text(root: Path) -> str:
    p = root / "experiment.yaml"
    if not p.is_file():
        return "experiment.yaml: missing"
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"experiment.yaml: unreadable ({type(exc).__name__})"


def _warnings(ctx: dict[str, Any]) -> list[str]:
    out = list(ctx["chance"])
    equal, sentence = ctx["throughput"]
    if not equal:
        out.append(sentence.removeprefix(rv.WARN).strip())
    for row, rec in zip(ctx["rows"], ctx["records"]):
        chk = rec.export_check
        if chk is not None and chk.get("ok") is False:
            why = "; ".join(str(f) for f in chk.get("failures") or []) or "see export_check.json"
            out.append(f"{row['backbone']} {row['version']} {row['bits']}: export check FAILED: {why}")
    done, total, pending = ctx["progress"]
    if total and pending:
        out.append(f"{len(pending)} of {total} grid cells have no result yet: {', '.join(pending)}.")
    return out


def _progress_text(ctx: dict[str, Any]) -> str:
    done, total, pending = ctx["progress"]
    text = f"Grid: {done} of {total} cells have a result" if total else f"Grid: {done} cells"
    text += f" ({sum(not is_ok(r) for r in ctx['rows'])} failed)."
    if pending:
        median = rv.median_cell_seconds(ctx["records"])
        if median:
            text += f" About {rv.fmt_seconds(median * len(pending))} left at the median cell time (searches not counted)."
    text += f" Recorded compute time so far: {rv.fmt_seconds(ctx['grand_seconds'] or None)}."
    return text


def _curves_note(ctx: dict[str, Any]) -> str:
    """Which runs have no per-epoch log (so no curve), in one sentence; empty when all have one."""
    no_train = [r.cell for r, row in zip(ctx["records"], ctx["rows"]) if not r.train_metrics]
    no_search = [f"{s.backbone}-{s.version}" + (" (published genotype)" if s.reference else "")
                 for s in ctx["searches"] if not s.log]  # fmt: skip
    no_alpha = [f"{s.backbone}-{s.version}" for s in ctx["searches"] if s.log and not s.alphas]
    parts = []
    for what, names in (("no train metrics.jsonl", no_train), ("no search log.jsonl", no_search),
                        ("no alphas.jsonl", no_alpha)):  # fmt: skip
        if names:
            parts.append(f"{what}: {', '.join(names)}")
    return f"<p>No curve for runs without a log; {'; '.join(parts)}.</p>" if parts else ""


def _unfinished_html(lines: Sequence[str]) -> str:
    if not lines:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f'<p class="warntext">{rv.WARN} Stages that did not finish:</p><ul>{items}</ul>'


def _table_block(table: tuple[list[str], list[list[str]]], key: bool = False) -> str:
    return _scroll(html_table(table), "key" if key else "")


def _html_body(ctx: dict[str, Any]) -> str:
    rows, fronts, root = ctx["rows"], ctx["fronts"], ctx["root"]
    hw_search = ctx["hw_search_table"]
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in _NAV if a != "hwsearch" or hw_search[1])
    pareto = "".join(
        f"<h3>Error vs {name}</h3>"
        + (
            _table_block(pareto_table(rows, idx, *sec.FRONTS[name]), key=True)
            if idx
            else "<p>No finished row has both values.</p>"
        )
        for name, idx in fronts.items()
    )
    warnings = _warnings(ctx)
    warn_html = (
        '<div class="alert"><b>Check before comparing:</b><ul>'
        + "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
        + "</ul></div>"
        if warnings
        else ""
    )
    equal, sentence = ctx["throughput"]
    fps_note = f'<p class="{"" if equal else "warntext"}">{html.escape(sentence)}</p>'
    summary_fps = f"<p>{html.escape(sentence)}</p>" if equal else ""  # else it is in the alert box
    results_fps = (
        "" if equal else f'<p class="warntext">{rv.WARN} Rows are not at equal throughput (see Summary).</p>'
    )
    pareto_fps = (
        ""
        if equal
        else f'<p class="warntext">{rv.WARN} Rows are not at equal throughput (see Summary): these fronts '
        "compare designs of different speed.</p>"
    )
    chance_names = ", ".join(
        f"{rows[i]['backbone']} {rows[i]['version']} {rows[i]['bits']}" for i in sorted(ctx["at_chance"])
    )
    left_out = (
        f" Rows at chance level are left out of the fronts and their plots: {chance_names}."
        if chance_names
        else ""
    )
    plots = ctx["plots"]
    alpha_names = [n for n in plots if n.startswith("alphas_")]
    return "\n".join(
        [
            f"<header><h1>NASH experiment report: {html.escape(root.name)}</h1>"
            f'<p class="sub">{html.escape(str(root))}</p><nav>{nav}</nav></header>',
            f'<h2 id="summary">Summary</h2>{_card_html(ctx["cards"])}{warn_html}'
            f"<p>{html.escape(ctx['overview'])} {html.escape(_progress_text(ctx))}</p>{summary_fps}",
            f'<h2 id="results">Results ({len(rows)} rows)</h2><p>Every grid cell; failed cells are red with their '
            f"error, warnings (⚠) are amber. <b>Pareto</b> names the fronts a row lies on; <b>export</b> is the "
            f"PyTorch-vs-QONNX check; <b>vs slowest</b> is the row's fps above the slowest finished row.</p>"
            f"{results_fps}{_results_html(ctx)}",
            f'<h2 id="pareto">Pareto sets</h2><p>Rows that no other finished row beats in both top-1 error and '
            f"the resource (lower is better in both).{html.escape(left_out)}</p>{pareto_fps}{pareto}",
            f'<h2 id="figures">Figures</h2>{_figures_html(plots, list(PLOTS))}',
            f'<h2 id="export">Export verification</h2><p>export_check.json of each export: PyTorch logits vs '
            f"the QONNX graph executed by qonnx on the checked images (top-1 agreement, largest absolute logit "
            f"difference against its tolerance), dataflow-conformance violations, onnxruntime on the lowered "
            f"graph, MAC counts of qonnx and nash.</p>{_table_block(ctx['export_table'], key=True)}",
            f'<h2 id="hardware">Hardware estimates</h2>{fps_note}'
            f"{_table_block(ctx['hardware_table'], key=True)}{sec.estimate_details(rows, root)}",
            (
                f'<h2 id="hwsearch">Hardware-aware searches</h2><p>{html.escape(_HW_SEARCH_TEXT)}</p>'
                f"{_table_block(hw_search, key=True)}"
                if hw_search[1]
                else ""
            ),
            f'<h2 id="latency">Latency and throughput</h2><p>As in paper Table II.</p>'
            f"{_table_block(latency_table(rows))}",
            f'<h2 id="curves">Training, search and α</h2>{_curves_note(ctx)}'
            f"{_figures_html(plots, ['training_curves', 'search_curves'] + alpha_names, wide=True)}",
            f'<h2 id="times">Run times</h2><p>Seconds of each stage from its stage.json, every attempt '
            f"counted (a stage resumed after an interrupt adds the interrupted part), else summed from the "
            f"run's per-epoch log. <b>failed</b>: the stage raised (its error is below); <b>interrupted</b>: "
            f"it started and never finished (killed or stopped). The search of a version is shared by all "
            f"its bit widths; the grand total counts it once: "
            f"{html.escape(rv.fmt_seconds(ctx['grand_seconds'] or None))}.</p>"
            f"{_table_block(ctx['times_table'], key=True)}{_unfinished_html(ctx['unfinished'])}",
            f'<h2 id="genotypes">Genotypes</h2>{ctx["genotypes_html"]}',
            f'<h2 id="artefacts">Artefacts</h2><p>Paths relative to the experiment directory; '
            f"<b>missing</b> means the row names a file that is not on disk, <b>empty</b> a 0-byte file, "
            f"<b>truncated</b> a checkpoint that is not a complete archive or a file shorter than its stage "
            f"record says, <b>changed</b> a file of another size than recorded.</p>"
            f"{_scroll(html_table(ctx['artefact_table']), 'paths')}",
            f'<h2 id="config">Experiment config</h2><pre>{html.escape(ctx["config"])}</pre>',
            f"<footer>Generated by nash {html.escape(__version__)} from results.json / results.csv and the run "
            f"records under {html.escape(str(root))}.</footer>",
        ]
    )


def _overview(rows: Sequence[Mapping[str, Any]]) -> str:
    def distinct(col: str) -> str:
        return ", ".join(dict.fromkeys(str(r[col]) for r in rows if r.get(col))) or "-"

    return (
        f"Backbones: {distinct('backbone')}. Versions: {distinct('version')}. Bit widths: {distinct('bits')}. "
        f"Device: {distinct('device')}."
    )


def _markdown(ctx: dict[str, Any]) -> str:
    rows, fronts = ctx["rows"], ctx["fronts"]
    out = [f"# NASH experiment report: {ctx['root'].name}", "", "## Summary", ""]
    out += [f"- **{k}**: {v} ({d})" for k, v, d in ctx["cards"]]
    out += ["", ctx["overview"] + " " + _progress_text(ctx), "", ctx["throughput"][1]]
    warnings = _warnings(ctx)
    if warnings:
        out += ["", "**Check before comparing:**", ""] + [f"- {w}" for w in warnings]
    out += [
        "",
        f"## Results ({len(rows)} rows)",
        "",
        md_table(results_table(rows, ctx["marks"], ctx["checks"], ctx["fps_header"])),
    ]
    out += ["", "## Pareto sets"]
    for name, idx in fronts.items():
        body = (
            md_table(pareto_table(rows, idx, *sec.FRONTS[name]))
            if idx
            else "No finished row has both values."
        )
        out += ["", f"### Error vs {name}", "", body]
    out += ["", "## Figures", ""] + [f"![{_caption(n)}]({n}.png)" for n in ctx["plots"]]
    out += ["", "## Export verification", "", md_table(ctx["export_table"])]
    out += ["", "## Hardware estimates", "", md_table(ctx["hardware_table"])]
    if ctx["hw_search_table"][1]:
        out += ["", "## Hardware-aware searches", "", _HW_SEARCH_TEXT, "", md_table(ctx["hw_search_table"])]
    out += ["", "## Latency and throughput", "", md_table(latency_table(rows))]
    out += ["", "## Run times", "", md_table(ctx["times_table"])]
    if ctx["unfinished"]:
        out += ["", "Stages that did not finish:", ""] + [f"- {line}" for line in ctx["unfinished"]]
    out += ["", "## Genotypes", ""] + ctx["genotypes_md"]
    out += ["", "## Experiment config", "", "```yaml", ctx["config"].rstrip(), "```", ""]
    return "\n".join(out)


def _common_chance(records: Sequence[CellRecords]) -> float | None:
    classes = {r.num_classes for r in records if r.num_classes}
    return 100.0 / classes.pop() if len(classes) == 1 else None


def _run_figures(
    rows: Sequence[Mapping[str, Any]], records: Sequence[CellRecords], searches: Sequence[SearchRecords]
) -> dict[str, Callable[[], Any]]:
    series = ordered_series(rows)
    multi = len({b for b, _ in series}) > 1
    curves = []
    for row, rec in zip(rows, records):
        if rec.train_metrics:
            key = (str(row["backbone"]), str(row["version"]))
            label = f"{series_label(key, multi)} {row['bits']}"
            curves.append((label, key[1], str(row["bits"]), series.index(key), rec.train_metrics))
    figures: dict[str, Callable[[], Any]] = {}
    if curves:
        figures["training_curves"] = partial(plot_training_curves, curves, _common_chance(records))
    if any(s.log for s in searches):
        figures["search_curves"] = partial(plot_search_curves, [s for s in searches if s.log])
    for s in searches:
        if s.alphas:
            figures[f"alphas_{s.backbone}-{s.version}"] = partial(plot_alpha_evolution, s)
    return figures


def write_report(experiment_dir: str | os.PathLike[str]) -> Path:
    """Write ``<experiment_dir>/report/report.html`` (+ ``report.md`` and figures) and return its path.

    Raises:
        ResultsError: the directory does not exist or holds no readable results table.
    """
    root = Path(experiment_dir)
    if not root.is_dir():
        raise ResultsError(
            f"experiment directory {root} not found; pass the --out DIR of `nash run EXPERIMENT.yaml --out DIR`"
        )
    rows = load_results(root)
    out = root / "report"
    damaged = damaged_files(root)
    records = [cell_records(r, root, damaged=damaged) for r in rows]
    searches = search_records(rows, root)
    at_chance = {
        i
        for i, (r, c) in enumerate(zip(rows, records))
        if is_ok(r) and chance_level(r.get("top1"), c.num_classes)
    }
    fronts = sec.compute_fronts(rows, at_chance)
    geno_html, geno_md = sec.genotype_sections(rows, root)
    plots = write_plots(rows, out, _common_chance(records), at_chance)
    plots.update(write_figures(_run_figures(rows, records, searches), out))
    running = experiment_running(root)
    times, grand = rv.times_table(rows, records, searches, running)
    ctx = {
        "root": root,
        "rows": rows,
        "records": records,
        "searches": searches,
        "fronts": fronts,
        "marks": sec.front_marks(fronts),
        "checks": rv.row_checks(rows, records),
        "plots": plots,
        "cards": sec.summary_cards(rows, at_chance),
        "at_chance": at_chance,
        "overview": _overview(rows),
        "progress": rv.grid_progress(rows, root),
        "throughput": rv.throughput_summary(rows, records),
        "fps_header": rv.fps_header(rows, records),
        "chance": rv.chance_warnings(rows, records),
        "export_table": rv.export_table(rows, records),
        "hardware_table": rv.hardware_table(rows, records),
        "hw_search_table": sec.hw_search_table(rows, root),
        "times_table": times,
        "unfinished": rv.unfinished_stages(rows, records, searches, running),
        "grand_seconds": grand,
        "genotypes_html": geno_html,
        "genotypes_md": geno_md,
        "config": _config_text(root),
        "artefact_table": sec.artefact_table(rows, root, damaged),
    }
    template = Template(resources.files("nash.analysis").joinpath("report_template.html").read_text("utf-8"))
    page = template.substitute(title=html.escape(f"NASH report: {root.name}"), body=_html_body(ctx))
    atomic_write_text(out / "report.md", _markdown(ctx))
    return atomic_write_text(out / "report.html", page)
