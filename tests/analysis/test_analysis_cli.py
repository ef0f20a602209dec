"""CLI smoke: ``nash report DIR`` and ``nash pareto results.csv --x --y``."""

from __future__ import annotations

from nash.cli import main


def test_cli_report_writes_and_prints_path(experiment_dir, capsys):
    (experiment_dir / "experiment.yaml").unlink()  # a missing config is reported, not fatal
    assert main(["report", str(experiment_dir)]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(experiment_dir / "report" / "report.html")
    assert (experiment_dir / "report" / "report.md").stat().st_size > 1000
    assert "experiment.yaml: missing" in (experiment_dir / "report" / "report.html").read_text(
        encoding="utf-8"
    )


def test_cli_pareto_prints_front_table(experiment_dir, capsys):
    assert main(["pareto", str(experiment_dir / "results.csv"), "--x", "lut", "--y", "error"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Pareto set: error (min) vs lut (min); 9 of 19 finished rows optimal"
    body = lines[3:]
    assert len(body) == 9
    assert body[0].split()[:4] == ["1", "resnet18", "o", "w1a1"]
    assert body[-1].split()[2:6] == ["v4", "w8a8", "374,000", "28.60"]


def test_cli_pareto_all_marks_optimal_rows(experiment_dir, capsys):
    assert main(["pareto", str(experiment_dir), "--x", "bram", "--y", "top1", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()[3:]
    assert len(lines) == 19 and sum(line.startswith("*") for line in lines) == 16


def test_cli_pareto_bad_metric_is_a_one_line_error(experiment_dir, capsys):
    assert main(["pareto", str(experiment_dir), "--x", "watts"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown metric 'watts'") and len(err.strip().splitlines()) == 1
