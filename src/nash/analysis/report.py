"""``write_report``: one self-contained ``report.html`` (+ ``report.md`` and plot files) per experiment.

Layout of ``<experiment>/report/``: ``report.html`` (plots as inline SVG, CSS inline, no network
references), ``report.md`` (the same tables in Markdown, plots linked as PNG), and every figure as
``<name>.png`` + ``<name>.svg``.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from nash import __version__
from nash.analysis import sections as sec
from nash.analysis.plots import PLOTS, write_plots
from nash.analysis.results import ResultsError, load_results
from nash.analysis.tables import html_table, latency_table, md_table, pareto_table, results_table
from nash.io import atomic_write_text

__all__ = ["write_report", "inline_svg"]

_CAPTIONS = {
    "pareto_error_bram": "Top-1 error vs BRAM18 blocks; ringed points and the dashed step line form the "
    "Pareto front (paper Fig. 10).",
    "pareto_error_lut": "Top-1 error vs LUTs; ringed points form the Pareto front (paper Fig. 11).",
    "accuracy_top1": "Top-1 accuracy per bit width and version (paper Fig. 6).",
    "accuracy_top5": "Top-5 accuracy per bit width and version (paper Fig. 7).",
    "resources_bram": "BRAM18 blocks per bit width and version (paper Fig. 8).",
    "resources_lut": "LUTs per bit width and version (paper Fig. 9).",
}


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


def _figures_html(plots: Mapping[str, Mapping[str, Path]]) -> str:
    figs = []
    for name in PLOTS:
        svg = inline_svg(plots[name]["svg"].read_text(encoding="utf-8"), name)
        figs.append(
            f"<figure>{svg}<figcaption>{html.escape(_CAPTIONS.get(name, name))} "
            f"Files: {name}.png, {name}.svg</figcaption></figure>"
        )
    return f'<div class="figs">{"".join(figs)}</div>'


def _scroll(table_html: str) -> str:
    return f'<div class="scroll">{table_html}</div>'


def _results_html(rows: Sequence[Mapping[str, Any]], marks: Mapping[int, str]) -> str:
    classes = [
        "failed" if str(r.get("status") or "ok") != "ok" else ("front" if i in marks else "")
        for i, r in enumerate(rows)
    ]
    headers, body = results_table(rows, marks)
    n_lead = 4  # backbone, version, bits, status; a failed row shows its error across the number columns
    body = [cells if cls != "failed" else cells[:n_lead] + [cells[-1]] for cells, cls in zip(body, classes)]
    return _scroll(html_table((headers, body), "results", classes))


def _config_text(root: Path) -> str:
    p = root / "experiment.yaml"
    if not p.is_file():
        return "experiment.yaml: missing"
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"experiment.yaml: unreadable ({type(exc).__name__})"


def _html_body(ctx: dict[str, Any]) -> str:
    rows, fronts, root = ctx["rows"], ctx["fronts"], ctx["root"]
    nav = "".join(
        f'<a href="#{a}">{t}</a>'
        for a, t in (
            ("summary", "Summary"),
            ("pareto", "Pareto sets"),
            ("figures", "Figures"),
            ("results", "Results"),
            ("latency", "Latency / throughput"),
            ("hardware", "Hardware"),
            ("genotypes", "Genotypes"),
            ("artefacts", "Artefacts"),
            ("config", "Config"),
        )
    )
    pareto = "".join(
        f"<h3>Error vs {name}</h3>"
        + (
            _scroll(html_table(pareto_table(rows, idx, *sec.FRONTS[name])))
            if idx
            else "<p>No finished row has both values.</p>"
        )
        for name, idx in fronts.items()
    )
    return "\n".join(
        [
            f"<header><h1>NASH experiment report: {html.escape(root.name)}</h1>"
            f'<p class="sub">{html.escape(str(root))}</p><nav>{nav}</nav></header>',
            f'<h2 id="summary">Summary</h2>{_card_html(ctx["cards"])}<p>{html.escape(ctx["overview"])}</p>',
            f'<h2 id="pareto">Pareto sets</h2><p>Rows that no other finished row beats in both top-1 error and '
            f"the resource (lower is better in both).</p>{pareto}",
            f'<h2 id="figures">Figures</h2>{_figures_html(ctx["plots"])}',
            f'<h2 id="results">Results ({len(rows)} rows)</h2><p>Every grid cell; failed cells are red with their '
            f"error. Column Pareto names the fronts a row lies on.</p>{_results_html(rows, ctx['marks'])}",
            f'<h2 id="latency">Latency and throughput</h2><p>As in paper Table II.</p>'
            f"{_scroll(html_table(latency_table(rows)))}",
            f'<h2 id="hardware">Hardware estimates</h2>{_scroll(html_table(sec.estimate_table(rows, root)))}'
            f"{sec.estimate_details(rows, root)}",
            f'<h2 id="genotypes">Genotypes</h2>{ctx["genotypes_html"]}',
            f'<h2 id="artefacts">Artefacts</h2><p>Paths relative to the experiment directory; '
            f"<b>missing</b> means the row names a file that is not on disk.</p>"
            f"{_scroll(html_table(sec.artefact_table(rows, root)))}",
            f'<h2 id="config">Experiment config</h2><pre>{html.escape(ctx["config"])}</pre>',
            f"<footer>Generated by nash {html.escape(__version__)} from results.json / results.csv.</footer>",
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
    out += [f"- **{k}**: {v} ({d})" for k, v, d in ctx["cards"]] + ["", ctx["overview"], "", "## Pareto sets"]
    for name, idx in fronts.items():
        body = (
            md_table(pareto_table(rows, idx, *sec.FRONTS[name]))
            if idx
            else "No finished row has both values."
        )
        out += ["", f"### Error vs {name}", "", body]
    out += ["", "## Figures", ""] + [f"![{_CAPTIONS.get(n, n)}]({n}.png)" for n in PLOTS]
    out += ["", f"## Results ({len(rows)} rows)", "", md_table(results_table(rows, ctx["marks"]))]
    out += ["", "## Latency and throughput", "", md_table(latency_table(rows))]
    out += ["", "## Hardware estimates", "", md_table(sec.estimate_table(rows, ctx["root"]))]
    out += ["", "## Genotypes", ""] + ctx["genotypes_md"]
    out += ["", "## Experiment config", "", "```yaml", ctx["config"].rstrip(), "```", ""]
    return "\n".join(out)


def write_report(experiment_dir: str | os.PathLike[str]) -> Path:
    """Write ``<experiment_dir>/report/report.html`` (+ ``report.md`` and figures) and return its path.

    Raises:
        ResultsError: the directory does not exist or holds no readable results table.
    """
    root = Path(experiment_dir)
    if not root.is_dir():
        raise ResultsError(f"experiment directory {root} not found; pass the directory `nash pipeline` wrote")
    rows = load_results(root)
    out = root / "report"
    fronts = sec.compute_fronts(rows)
    geno_html, geno_md = sec.genotype_sections(rows, root)
    ctx = {
        "root": root,
        "rows": rows,
        "fronts": fronts,
        "marks": sec.front_marks(fronts),
        "plots": write_plots(rows, out),
        "cards": sec.summary_cards(rows),
        "overview": _overview(rows),
        "genotypes_html": geno_html,
        "genotypes_md": geno_md,
        "config": _config_text(root),
    }
    template = Template(resources.files("nash.analysis").joinpath("report_template.html").read_text("utf-8"))
    page = template.substitute(title=html.escape(f"NASH report: {root.name}"), body=_html_body(ctx))
    atomic_write_text(out / "report.md", _markdown(ctx))
    return atomic_write_text(out / "report.html", page)
