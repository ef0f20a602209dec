"""What a reviewer checks (issue 15 item 11), on the demo-like experiment of ``demo_fixture``:
export verification, folding target and clock, equal throughput, chance level, stage times,
training/search/alpha curves, grid progress, moved experiments, truncated checkpoints."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from demo_fixture import build_demo_experiment

from nash.analysis import load_results, write_report, write_results
from nash.analysis import review as rv
from nash.analysis.curves import mean_op_probs, plot_alpha_evolution
from nash.analysis.runs import OPS, SearchRecords, cell_records, chance_level, fold_text, search_records
from nash.analysis.sections import artefact_table


@pytest.fixture(scope="module")
def demo(demo_reported):
    """(root, rows, records, report.html text, report.md text)."""
    root, page = demo_reported
    rows = load_results(root)
    records = [cell_records(r, root) for r in rows]
    return root, rows, records, page.read_text(encoding="utf-8"), (page.parent / "report.md").read_text()


def _by_cell(table):
    headers, body = table
    return {f"{r[1]} {r[2]}": dict(zip(headers, r)) for r in body}


def test_export_verification_per_row(demo):
    _, rows, records, html, md = demo
    table = _by_cell(rv.export_table(rows, records))
    ok = table["o w4a4"]
    assert ok["check"] == "ok" and ok["top-1 agree %"] == "100.00" and ok["max |Δlogit|"] == "1.9e-06"
    assert ok["tolerance"] == "0.54" and ok["images"] == "64" and ok["conformance"] == "0 violations"
    assert ok["onnxruntime"] == "skipped" and ok["MACs qonnx / nash"] == "7,200,000 / 7,200,000"
    assert ok["boundary flips"] == "0 / 64 (0.0 %, ≤ 25 % allowed)"
    failed = table["v3 w2a2"]  # the export failed: its check file is still read and shown
    assert failed["check"] == "\u26a0 FAILED" and failed["max |Δlogit|"] == "0.877"
    assert failed["boundary flips"] == "\u26a0 20 / 64 (31.2 %, ≤ 25 % allowed)"
    assert "qonnx logits differ" in failed["why"]
    assert table["v4 w2a2"]["conformance"] == "\u26a0 1: add-inputs"
    assert "Export verification" in html and "## Export verification" in md
    assert "export check FAILED: qonnx logits differ" in html  # in the summary's warnings too


def test_folding_target_and_clock_beside_the_numbers_and_unequal_fps_flagged(demo):
    _, rows, records, html, md = demo
    hw = _by_cell(rv.hardware_table(rows, records))
    assert hw["o w2a2"]["folding"] == "target 2,000 fps" and hw["o w2a2"]["clock"] == "5 ns"
    assert hw["o w2a2"]["fps"] == "2,713.2" and hw["o w2a2"]["vs slowest"] == "\u26a0 +25.0 %"
    assert hw["v4 w4a4"]["vs slowest"] == "="  # the slowest row
    assert hw["v3 w2a2"]["estimate"] == "not produced"
    equal, sentence = rv.throughput_summary(rows, records)
    assert not equal and "target 2,000 fps @ 5 ns (200 MHz)" in sentence and "2,170.1 to 2,713.2" in sentence
    assert "Not at equal throughput" in html and "Rows are not at equal throughput" in html
    assert "these fronts compare designs of different speed" in html.split('id="pareto"')[1].split("<h3>")[0]
    assert rv.fps_delta(1020.0, 1000.0) == "+2.0 %" and rv.fps_delta(None, 1000.0) == "-"


def test_equal_throughput_is_stated_when_rows_agree(tmp_path):
    root = build_demo_experiment(tmp_path / "exp")
    rows = [r for r in load_results(root) if r["fps"] in (None, 2441.4)]
    records = [cell_records(r, root) for r in rows]
    equal, sentence = rv.throughput_summary(rows, records)
    assert equal and "runs at 2,441.4 fps: resources and latency compare at equal throughput" in sentence
    assert "\u26a0" not in sentence


def test_chance_level_warning(demo):
    _, rows, records, html, md = demo
    assert [r.num_classes for r in records] == [10] * 6  # from the classifier layer of estimate.json
    warnings = rv.chance_warnings(rows, records)
    assert len(warnings) == 1 and warnings[0].startswith("resnet18 o w2a2: top-1 10.30 % is at chance level")
    checks = rv.row_checks(rows, records)
    assert checks[0]["note"] == "\u26a0 top-1 at chance level (10 % for 10 classes)"
    assert chance_level(14.9, 10) == 10.0 and chance_level(15.1, 10) is None
    assert (
        chance_level(3.0, 1000) == 0.1 and chance_level(None, 10) is None and chance_level(50, None) is None
    )
    # the row at chance level is in no Pareto set (it would sit on the LUT front) and in no Pareto plot
    row0 = re.search(r"<tr[^>]*><td>resnet18</td><td>o</td><td>w2a2</td>.*?</tr>", html).group(0)
    assert "BRAM" not in row0 and "LUT" not in row0 and 'class="warn"' in row0
    assert "left out of the fronts and their plots: resnet18 o w2a2" in html
    assert "chance (10 %)" in (demo[0] / "report/accuracy_top1.svg").read_text()


def test_dsp_uram_params_columns_and_latency_front(demo):
    _, _, _, html, md = demo
    header = md.split("## Results")[1].splitlines()[2]
    for col in (
        "params",
        "MACs",
        "DSP",
        "URAM",
        "export",
        "fps (target 2,000 @ 5 ns)",
        "vs slowest",
        "latency ms",
        "Pareto",
    ):
        assert f"| {col} |" in header
    assert "### Error vs latency" in md and "pareto_error_latency.png" in md
    assert "| resnet18 | v4 | w2a2 | ok | BRAM, LUT, latency | 78.00 | 98.00 | 220 k | 7.20 M |" in md


def test_stage_times_from_stage_records(demo):
    _, rows, records, html, md = demo
    searches = search_records(rows, demo[0])
    assert [(s.version, s.seconds, len(s.log), len(s.alphas)) for s in searches] == [
        ("v3", 372.0, 3, 3),
        ("v4", 382.0, 3, 3),
    ]
    table, grand = rv.times_table(rows, records, searches)
    times = _by_cell(table)
    assert times["v3 w4a4"]["search"] == "6.2 min" and times["v3 w4a4"]["train"] == "4.8 min"
    assert times["v3 w4a4"]["export"] == "44 s" and times["v3 w4a4"]["hw"] == "3.1 s"
    assert times["v3 w2a2"]["export"] == "42 s" and times["v3 w2a2"]["hw"] == "-"  # from export_check.json
    assert records[2].seconds_source["export"] == "export_check.json"
    assert grand == pytest.approx(372 + 382 + 6 * 290.4 + 5 * 44.2 + 41.7 + 5 * 3.1)
    assert "Run times" in html and "46.2 min" in html
    root = demo[0]
    running = json.loads((root / "hw/resnet18-v4-w4a4/stage.json").read_text()) | {"status": "running"}
    records[5].status["hw"], records[5].seconds["hw"] = (
        running["status"],
        None,
    )  # as a started, unfinished stage
    assert _by_cell(rv.times_table(rows, records, searches)[0])["v4 w4a4"]["hw"] == "\u26a0 interrupted"
    # while another `nash run` holds the experiment the stage may still be running
    assert _by_cell(rv.times_table(rows, records, searches, running=True)[0])["v4 w4a4"]["hw"] == "running"
    records[5].seconds["hw"] = 30.0  # a train stage's time comes from its epoch log even then
    assert (
        _by_cell(rv.times_table(rows, records, searches)[0])["v4 w4a4"]["hw"]
        == "\u26a0 interrupted after 30 s"
    )


def test_curves_are_drawn_into_the_report(demo):
    root, rows, _, html, md = demo
    for search in search_records(rows, root):  # panels share the y axis: no line leaves it
        fig = plot_alpha_evolution(search)
        top = fig.axes[0].get_ylim()[1]
        assert all(max(ln.get_ydata()) <= top for ax in fig.axes for ln in ax.get_lines())
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for name in ("training_curves", "search_curves", "alphas_resnet18-v3", "alphas_resnet18-v4"):
        assert (root / "report" / f"{name}.png").stat().st_size > 5000
        assert f"Files: {name}.png, {name}.svg" in html and f"({name}.png)" in md


def test_alpha_evolution_means_and_single_epoch(tmp_path):
    probs = [[[0.0, 0.0, 0.5, 0.5, 0.0, 0.0], [0.2, 0.2, 0.2, 0.2, 0.1, 0.1]]]
    assert mean_op_probs(probs) == [[0.1, 0.1, 0.35, 0.35, 0.05, 0.05]]
    rec = SearchRecords("resnet18", "v3", None, alphas=[{"epoch": 1, "probs": probs}])
    ax = plot_alpha_evolution(rec).axes[0]
    lines = {ln.get_label(): list(ln.get_ydata()) for ln in ax.get_lines()}
    # epoch 0 is uniform over the allowed ops of each edge: (1/2 + 1/6) / 2 for identity
    assert lines["identity"] == pytest.approx([(0.5 + 1 / 6) / 2, 0.35])
    assert [t.get_text() for t in ax.texts] == ["max shift 0.033"]  # conv_3x3: 1/12 at the start, 0.05 now
    assert len(plot_alpha_evolution(SearchRecords("resnet18", "v4", None)).axes[0].texts) == 1  # "no alphas"


def test_ops_order_matches_the_search_space():
    ops = pytest.importorskip("nash.space.ops")
    assert tuple(ops.OPS) == OPS


def test_grid_progress_lists_pending_cells(tmp_path):
    root = build_demo_experiment(tmp_path / "exp")
    rows = load_results(root)[:4]
    write_results(rows, root)
    assert rv.grid_progress(rows, root) == (4, 6, ["resnet18-v4-w2a2", "resnet18-v4-w4a4"])
    html = write_report(root).read_text(encoding="utf-8")
    assert "Grid: 4 of 6 cells have a result (1 failed)." in html
    assert "2 of 6 grid cells have no result yet: resnet18-v4-w2a2, resnet18-v4-w4a4." in html
    assert "left at the median cell time" in html


def test_moved_experiment_finds_its_files_and_truncated_checkpoint_is_flagged(tmp_path):
    old = build_demo_experiment(tmp_path / "old")
    rows = load_results(old)
    for r in rows:  # paths recorded absolute, then the experiment is moved
        for col in ("genotype_path", "checkpoint_path", "onnx_path", "estimate_path"):
            if r[col]:
                r[col] = str(old / r[col])
    write_results(rows, old)
    new = tmp_path / "new"
    shutil.move(old, new)
    (new / "train/resnet18-v4-w4a4/best.pt").write_bytes(b"PK\x03\x04 cut short")
    rows = load_results(new)
    _, body = artefact_table(rows, new)
    states = [c.rsplit("(", 1)[-1].rstrip(")") for line in body for c in line[3:] if c != "-"]
    assert states.count("truncated") == 1 and set(states) == {"ok", "truncated"}
    records = [cell_records(r, new) for r in rows]
    assert records[5].artefacts["checkpoint_path"] == "truncated" and records[0].estimate is not None
    assert "\u26a0 checkpoint truncated" in rv.row_checks(rows, records)[5]["note"]


def test_fold_text_variants():
    assert fold_text({"fold": "max"}, 5.0) == "max @ 5 ns (200 MHz)"
    assert fold_text({"fold": "max", "two_pass_relaxation": False}, None) == "max (no relaxation)"
    assert fold_text({"fold": "fit", "device": "ZCU104"}, 4.0) == "fit ZCU104 @ 4 ns (250 MHz)"
    assert fold_text({"fold": "file", "folding_file": "/x/fold.json"}, None) == "file fold.json"
    assert fold_text({}, None) == "not recorded in estimate.json"
    assert fold_text({"fold": "target_fps", "target_fps": 2000}, 5.0, short=True) == "target 2,000 @ 5 ns"
    assert (
        fold_text({"fold": "max", "two_pass_relaxation": False}, 5.0, short=True)
        == "max (no relaxation) @ 5 ns"
    )


def test_broken_run_records_are_tolerated(tmp_path):
    root = build_demo_experiment(tmp_path / "exp")
    (root / "export/resnet18-o-w2a2/export_check.json").write_text("{torn")
    (root / "train/resnet18-o-w2a2/metrics.jsonl").write_text('{"epoch": 1, "test_top1": 9.9}\n{"epo')
    (root / "search/resnet18-v3/alphas.jsonl").write_text(json.dumps({"epoch": 1, "probs": "nope"}) + "\n")
    (root / "hw/resnet18-o-w4a4/stage.json").write_text("[]")
    (root / "hw/resnet18-v4-w2a2/stage.json").write_text('{"stage": "hw", "status": "running", "seconds": 9}')
    rows = load_results(root)
    interrupted = cell_records(rows[4], root)
    assert interrupted.status["hw"] == "running" and interrupted.seconds["hw"] is None
    rec = cell_records(rows[0], root)
    assert rec.export_check is None and rec.export_problem == "unreadable (JSONDecodeError)"
    assert [m["epoch"] for m in rec.train_metrics] == [1]
    assert cell_records(rows[1], root).seconds["hw"] is None
    (root / "train/resnet18-o-w4a4/metrics.jsonl").unlink()  # metrics.csv is read instead
    assert [m["test_top1"] for m in cell_records(rows[1], root).train_metrics] == [56.96, 64.08, 71.2]
    html = write_report(root).read_text(encoding="utf-8")
    assert "unreadable (JSONDecodeError)" in html and "alphas_resnet18-v4.svg" in html
    assert "alphas_resnet18-v3.svg" not in html


def test_artefacts_are_checked_against_their_stage_records(tmp_path):
    """Issue 15 item 6: a damaged artefact whose stage record says otherwise was listed ``ok``."""
    from nash.records import file_digest

    root = build_demo_experiment(tmp_path / "exp")
    outputs = {"train/resnet18-o-w4a4": ("checkpoint", "best.pt"),
               "export/resnet18-v4-w2a2": ("onnx", "model.onnx"),
               "hw/resnet18-v4-w2a2": ("estimate", "estimate.json")}  # fmt: skip
    for cell, (key, name) in outputs.items():  # schema-2 records, as `nash run` writes them
        marker = root / cell / "stage.json"
        record = json.loads(marker.read_text()) | {"schema": 2}
        record["files"] = {key: {"path": name, **file_digest(root / cell / name)}}
        marker.write_text(json.dumps(record))
    rows = load_results(root)
    assert all(c.endswith("(ok)") for line in artefact_table(rows, root)[1] for c in line[3:] if c != "-")
    onnx = root / "export/resnet18-v4-w2a2/model.onnx"
    onnx.write_bytes(onnx.read_bytes()[:5])  # cut short, not empty: looked fine before
    estimate = root / "hw/resnet18-v4-w2a2/estimate.json"
    estimate.write_text(estimate.read_text() + "\n")  # edited after the stage wrote it
    marker = root / "train/resnet18-o-w4a4/stage.json"  # a complete archive, but not the one recorded
    record = json.loads(marker.read_text())
    record["files"]["checkpoint"]["size"] += 4096
    marker.write_text(json.dumps(record))
    _, body = artefact_table(rows, root)
    cells = {f"{line[1]} {line[2]}": line[3:] for line in body}
    assert cells["v4 w2a2"][2:] == ["export/resnet18-v4-w2a2/model.onnx (truncated)",
                                    "hw/resnet18-v4-w2a2/estimate.json (changed)"]  # fmt: skip
    assert cells["o w4a4"][1] == "train/resnet18-o-w4a4/best.pt (truncated)"
    states = [c.rsplit("(", 1)[-1] for line in body for c in line[3:] if c != "-"]
    assert states.count("ok)") == len(states) - 3
    records = [cell_records(r, root) for r in rows]
    checks = rv.row_checks(rows, records)
    assert "\u26a0 onnx truncated" in checks[4]["note"] and "\u26a0 checkpoint truncated" in checks[1]["note"]
    html = write_report(root).read_text(encoding="utf-8")
    assert "model.onnx (truncated)" in html and "best.pt (truncated)" in html and "(changed)" in html


def test_chance_level_uses_the_rows_class_count_first(tmp_path):
    """Issue 15 follow-up: ``num_classes`` of the results row (the checkpoint's) before any guess."""
    root = build_demo_experiment(tmp_path / "exp")
    rows = load_results(root)
    assert cell_records(rows[0], root).num_classes == 10  # the estimate's classifier width
    rows[0]["num_classes"] = 100  # 10.3 % is far above chance for 100 classes
    write_results(rows, root)
    rows = load_results(root)
    rec = cell_records(rows[0], root)
    assert rows[0]["num_classes"] == 100 and rec.num_classes == 100
    assert rv.chance_warnings(rows, [rec]) == [] and chance_level(rows[0]["top1"], rec.num_classes) is None
