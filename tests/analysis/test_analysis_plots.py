"""Figures and cell diagrams without writing a whole report: series, fronts, downsample marks."""

from __future__ import annotations

import re

from analysis_fixtures import CELL_V3, make_rows

from nash.analysis import plot_grouped_bars, plot_pareto
from nash.analysis.cells import cell_svg, downsample_flags, genotype_table


def _two_backbones() -> list[dict]:
    rows = make_rows()
    rows.append(
        {
            "backbone": "resnet34",
            "version": "v3",
            "bits": "w2a2",
            "top1": 64.0,
            "error": 36.0,
            "bram18": 2000.0,
            "lut": 400e3,
            "status": "ok",
        }
    )
    return rows


def test_pareto_plot_series_and_front():
    fig = plot_pareto(_two_backbones(), "bram", "error")
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [
        "resnet18 o",
        "resnet18 v1",
        "resnet18 v2",
        "resnet18 v3",
        "resnet18 v4",
        "resnet34 v3",
        "Pareto front",
    ]
    front_line = [ln for ln in ax.get_lines() if ln.get_label() == "Pareto front"][0]
    xs = list(front_line.get_xdata())
    assert xs[0] == 300.0 and xs[-1] == 4160.0 and len(xs) == 16  # resnet34 (2000, 36 %) is dominated
    assert ax.get_xlabel() == "BRAM (18 Kb blocks)" and ax.get_ylabel() == "top-1 error (%)"


def test_grouped_bars_one_bar_per_finished_row_and_na_for_failed():
    fig = plot_grouped_bars(make_rows(), "top1")
    ax = fig.axes[0]
    assert len(ax.patches) == 19  # 20 rows, v2 w8a8 failed
    assert [t.get_text() for t in ax.get_xticklabels()] == ["w1a1", "w2a2", "w4a4", "w8a8"]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("n/a") == 1 and "71.4" in texts and "52.1" in texts  # values printed on the bars
    assert max(p.get_height() for p in ax.patches) == 71.4
    assert ax.get_ylim()[0] == 0.0  # accuracy axis starts at zero (issue 15: no exaggerated gaps)
    assert 71.4 < ax.get_ylim()[1] <= 100.0


def test_accuracy_bars_draw_chance_level_and_resource_bars_start_at_zero():
    ax = plot_grouped_bars(make_rows(), "top1", chance=10.0).axes[0]
    assert any(
        ln.get_label() == "chance (10 %)" and list(ln.get_ydata()) == [10.0, 10.0] for ln in ax.get_lines()
    )
    assert plot_grouped_bars(make_rows(), "bram18").axes[0].get_ylim()[0] == 0.0


def test_pareto_legend_lies_outside_the_axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_pareto(_two_backbones(), "lut", "error")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    legend_box, axes_box = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert legend_box.x0 >= axes_box.x1 - 1  # right of the plotting area: it can cover no point
    assert legend_box.x1 <= fig.bbox.x1 + 1  # and still inside the figure


def test_downsample_flags_follow_the_stage_split():
    assert downsample_flags("resnet18", 4) == [False, True, True, True]
    assert downsample_flags("resnet34", 6) == [False, True, False, True, False, True]
    assert downsample_flags("unknownnet", 3) == [False, False, False]


def test_cell_svg_marks_size_changing_edges_only_in_downsampling_cells():
    cell = CELL_V3[1]  # conv_3x3<-x0, conv_5x5<-x1, identity<-x2, conv_1x1<-x0
    plain, down = cell_svg(cell, False, "cell 1"), cell_svg(cell, True, "cell 1")
    assert plain.count("<circle") == 5 and len(re.findall(r"<path ", plain)) == 4
    assert "/2" not in plain
    assert "conv_3x3 /2" in down and "conv_1x1 /2" in down and "conv3x3 /2" in down
    assert "conv_5x5 /2" not in down and "http" not in down
    assert genotype_table(CELL_V3)[1][3][1] == "zero \u2190 x3"
