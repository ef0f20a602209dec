"""write_report: self-contained HTML with every row, Pareto sets, genotypes, missing artefacts; plots."""

from __future__ import annotations

import re

import pytest
from analysis_fixtures import BITS, VERSIONS

from nash.analysis import PLOTS, ResultsError, load_results, write_report
from nash.analysis.report import inline_svg
from nash.analysis.sections import estimate_table, genotype_sections

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _row_texts(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "|", tr) for tr in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S)]


def test_report_is_self_contained(reported):
    _, path = reported
    html = path.read_text(encoding="utf-8")
    assert path.name == "report.html" and path.parent.name == "report"
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html, flags=re.I)
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert html.count("<svg") >= len(PLOTS) + 8  # 6 figures + 2 genotypes x 4 cells
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "inline SVG ids must be unique in the page"


def test_report_lists_every_row_including_the_failed_one(reported):
    _, path = reported
    rows = _row_texts(path.read_text(encoding="utf-8"))
    for version in VERSIONS:
        for bits in BITS:
            hit = [r for r in rows if f"|resnet18|{version}|{bits}|" in r.replace("||", "|")]
            assert hit, f"row {version} {bits} missing from report"
    failed = [r for r in rows if "|v2|w8a8|failed|" in r.replace("||", "|")]
    assert failed and "loss became NaN at epoch 3" in failed[0]


def test_report_pareto_sets_genotypes_estimates_and_missing_artefacts(reported):
    root, path = reported
    html = path.read_text(encoding="utf-8")
    md = (path.parent / "report.md").read_text(encoding="utf-8")
    bram_md = md.split("### Error vs BRAM")[1].split("###")[0]
    # o w8a8 (2400 BRAM, 31.1 %) ties v4 w4a4 on error with more BRAM: dominated; v1 w8a8 too
    assert "| v4 | w4a4 |" in bram_md and "| o | w8a8 |" not in bram_md and "| v1 | w8a8 |" not in bram_md
    assert bram_md.count("| resnet18 |") == 16
    assert "search/resnet18-v1/genotype.json" in html and "conv_5x5 /2" in html  # v3 cell 1 edge from x0
    assert "genotype file missing" in html and "search/resnet18-v4/genotype.json" in html
    assert "MVAU_0" in html and "missing" in html  # the one estimate read, the others reported missing
    assert "resnet18 v3 w2a2: 3 layers" in html and "<td>MVAU_2</td>" in html  # per-layer details
    assert "versions: [o, v1, v2, v3, v4]" in html and "seed: 0" in md  # exact config
    assert "latency (ms)" in md and "| w1a1 | latency (ms) | 116.0 | 135.0 | 133.7 | 134.6 | 134.1 |" in md


def test_plots_are_written_as_png_and_svg(reported):
    _, path = reported
    for name in PLOTS:
        png, svg = path.parent / f"{name}.png", path.parent / f"{name}.svg"
        assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5000
        assert "<svg" in svg.read_text(encoding="utf-8")[:2000]


def test_broken_genotype_and_estimate_are_reported_not_raised(experiment_dir):
    (experiment_dir / "search/resnet18-v1/genotype.json").write_text("{not json")
    (experiment_dir / "search/resnet18-v3/genotype.json").write_text('{"cells": [[["conv_3x3", 5]]]}')
    (experiment_dir / "hw/resnet18-v3-w2a2/estimate.json").write_text("[1, 2]")
    rows = load_results(experiment_dir)
    html, md = genotype_sections(rows, experiment_dir)
    assert "genotype file unreadable (JSONDecodeError)" in html
    assert "genotype file malformed" in html and html.count("genotype file missing") == 2
    assert len(md) == 4 and all("**" in line for line in md)
    _, body = estimate_table(rows, experiment_dir)
    states = {(r[1], r[2]): r[3] for r in body}
    assert states[("v3", "w2a2")] == "malformed (not a JSON object)"
    assert states[("v2", "w8a8")] == "not produced" and states[("o", "w1a1")] == "missing"


def test_report_on_bad_directory_raises(tmp_path):
    with pytest.raises(ResultsError, match="not found"):
        write_report(tmp_path / "nowhere")
    with pytest.raises(ResultsError, match=r"no results.json or results.csv; run `nash run "):
        write_report(tmp_path)  # the command is `nash run` (issue 15 item 10)


def test_inline_svg_strips_namespaces_and_prefixes_ids():
    svg = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/x.dtd">'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<metadata><rdf>https://creativecommons.org</rdf></metadata><defs><path id="m1" d="M0 0"/></defs>'
        '<use xlink:href="#m1"/><g clip-path="url(#m1)"/></svg>'
    )
    out = inline_svg(svg, "fig")
    assert "http" not in out and 'id="fig-m1"' in out and 'href="#fig-m1"' in out and "url(#fig-m1)" in out


def test_messages_and_docs_name_nash_run(tmp_path):
    """Issue 15 item 10: the command that writes an experiment is `nash run EXPERIMENT.yaml --out DIR`."""
    from pathlib import Path

    import nash.analysis

    with pytest.raises(ResultsError, match=r"pass the --out DIR of `nash run EXPERIMENT.yaml --out DIR`$"):
        write_report(tmp_path / "nowhere")
    src = Path(nash.analysis.__file__).parent
    docs = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"
    for path in (src / "results.py", src / "report.py", docs):
        assert "nash pipeline" not in path.read_text(encoding="utf-8"), path
    assert "`nash run EXPERIMENT.yaml --out DIR`" in docs.read_text(encoding="utf-8")
