"""Hardware-aware search variants (hw-l0.3, hw-budget, ...) in tables, plots and the report's hw table."""

from __future__ import annotations

import json
from pathlib import Path

from analysis_fixtures import CELL_V3

from nash.analysis._common import HW_STYLES, VERSION_STYLES, ordered_series, series_styles, version_key
from nash.analysis.plots import plot_pareto
from nash.analysis.sections import cell_bits_text, genotype_sections, hw_search_table
from nash.analysis.tables import latency_table, results_table

VERSIONS = ("o", "v3", "hw-l3", "hw-l0.3", "hw-budget", "hw-nohw")


def _rows() -> list[dict]:
    rows = []
    for k, version in enumerate(VERSIONS):
        for j, bits in enumerate(("w2a2", "w4a4")):
            top1 = 60.0 + k + 3 * j
            row = {"backbone": "resnet18", "version": version, "bits": bits, "status": "ok",
                   "top1": top1, "error": 100 - top1, "lut": 1e5 * (1 + 0.1 * k + j), "bram18": 300.0 + 10 * k,
                   "latency_ms": 1.0 + k, "fps": 324.5}  # fmt: skip
            if version != "o":
                row["genotype_path"] = f"search/resnet18-{version}/genotype.json"
            rows.append(row)
    return rows


def _genotypes(root: Path) -> None:
    hw = {"objective": "bram18", "limit": None, "hw_lambda": 0.3, "hw_expected": 0.91, "hw_derived": 0.8766,
          "hw_derived_resources": {"bram18": 0.8766}, "history": []}  # fmt: skip
    search_config = {
        "hw_input": "3x224x224",
        "hw_bits": "w2a2",
        "hw_target_fps": 324.5,
        "hw_norm": "original",
    }
    metas = {
        "v3": {},
        "hw-l3": {"hw": {**hw, "hw_lambda": 3.0}, "search_config": {**search_config, "hw_weight": 3.0}},
        "hw-l0.3": {"hw": hw, "search_config": {**search_config, "hw_weight": 0.3}},
        "hw-budget": {
            "hw": {**hw, "limit": 0.85, "hw_lambda": 0.1331},
            "search_config": {**search_config, "hw_weight": 0.3},
        },  # fmt: skip
        "hw-nohw": {},
    }
    for version, meta in metas.items():
        data = {"schema": 1, "backbone": "resnet18", "strategy": "v3", "cells": CELL_V3, "meta": meta}
        if version == "hw-budget":
            data.update(schema=2, bits=[[2, 2], [4, 4], [4, 4], [8, 8]])
        p = root / f"search/resnet18-{version}/genotype.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(data), encoding="utf-8")


def test_variants_sort_after_the_nash_versions_numbers_as_numbers():
    names = ["hw-l10", "v4", "hw-l0.3", "zz", "o", "hw-l3", "v1", "hw-budget", "hw-l1"]
    assert sorted(names, key=version_key) == [
        "o", "v1", "v4", "hw-budget", "hw-l0.3", "hw-l1", "hw-l3", "hw-l10", "zz"]  # fmt: skip
    assert [k[1] for k in ordered_series(_rows())] == ["o", "v3", "hw-budget", "hw-l0.3", "hw-l3", "hw-nohw"]


def test_variants_get_their_own_style_family():
    styles = series_styles(VERSIONS)
    for v in ("o", "v3"):
        assert styles[v] == VERSION_STYLES[v]
    hw = [styles[v] for v in ("hw-budget", "hw-l0.3", "hw-l3", "hw-nohw")]
    assert hw == list(HW_STYLES[:4])  # in version order, all distinct
    assert not {c for c, _ in hw} & {c for c, _ in VERSION_STYLES.values()}
    assert not {m for _, m in hw} & {m for _, m in VERSION_STYLES.values()}


def test_tables_and_pareto_plot_carry_the_variants():
    rows = _rows()
    headers, body = results_table(rows)
    assert [line[1] for line in body if line[2] == "w2a2"] == list(VERSIONS)
    lat_headers, _ = latency_table(rows)
    assert lat_headers[-4:] == ["hw-budget", "hw-l0.3", "hw-l3", "hw-nohw"]
    fig = plot_pareto(rows, "lut", "error")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[:6] == ["o", "v3", "hw-budget", "hw-l0.3", "hw-l3", "hw-nohw"]


def test_hw_search_table_reads_meta_hw_and_cell_bits(tmp_path):
    _genotypes(tmp_path)
    headers, body = hw_search_table(_rows(), tmp_path)
    by_version = {line[1]: dict(zip(headers, line)) for line in body}
    assert list(by_version) == ["hw-budget", "hw-l0.3", "hw-l3", "hw-nohw"]  # v3: no hardware term
    budget = by_version["hw-budget"]
    assert budget["limit"] == "0.850" and budget["λ final"] == "0.133" and budget["meets limit"] == "no"
    assert budget["derived cost"] == "0.877" and budget["derived per resource"] == "bram18 0.877"
    assert budget["cell bits"] == "w2a2 | w4a4 | w4a4 | w8a8"
    assert budget["deployment"] == "3x224x224 w2a2 @ 324.5 fps" and budget["norm"] == "original"
    l03 = by_version["hw-l0.3"]
    assert (l03["limit"], l03["λ start"], l03["λ final"], l03["cell bits"]) == ("-", "0.300", "0.300", "-")
    assert by_version["hw-nohw"]["objective"] == "no meta.hw in the genotype"


def test_hw_search_table_is_empty_without_hardware_aware_searches(tmp_path):
    _genotypes(tmp_path)
    rows = [r for r in _rows() if not r["version"].startswith("hw")]
    assert hw_search_table(rows, tmp_path)[1] == []


def test_genotype_section_names_the_cell_bits(tmp_path):
    _genotypes(tmp_path)
    html, md = genotype_sections(_rows(), tmp_path)
    assert "main-branch bits per cell: w2a2 | w4a4 | w4a4 | w8a8" in html
    assert any("hw-budget" in line or "w8a8" in line for line in md)
    assert cell_bits_text({"bits": None}) == "" and cell_bits_text({}) == ""
