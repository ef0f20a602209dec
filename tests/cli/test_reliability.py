"""Issue 15 items 9, 10 and 12 at the command line: one-line errors, right advice, quiet logs."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from nash.cli import build_parser, main, resume_hint

# /sys refuses new entries even to root (tests run as root here, so chmod would not do)
UNWRITABLE = Path("/sys/nash-test-unwritable")


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def _experiment(tmp_path: Path) -> Path:
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("versions: [o]\nbits: [w2a2]\ntrain: {width: 4, epochs: 1}\n")
    return cfg


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs /sys")
def test_unwritable_out_is_one_line_error(tmp_path, capsys):
    """Item 9: PermissionError tracebacks from run, export, genotype reference, report."""
    assert main(["run", str(_experiment(tmp_path)), "--out", str(UNWRITABLE / "exp")]) == 2
    assert "cannot write --out /sys/nash-test-unwritable/exp" in _one_line_error(capsys)
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"x")
    assert main(["export", str(ckpt), "--out", str(UNWRITABLE / "m.onnx")]) == 2
    assert "cannot write --out" in _one_line_error(capsys)
    # any PermissionError that reaches main (train, search, hw, genotype reference ...) is one line
    assert main(["genotype", "reference", "--version", "v3", "--out", str(UNWRITABLE / "g.json")]) == 2
    assert "/sys/nash-test-unwritable" in _one_line_error(capsys)


def test_report_on_unwritable_directory(tmp_path, capsys):
    (tmp_path / "results.csv").write_text("backbone,version,bits,status\nresnet18,o,w2a2,ok\n")
    (tmp_path / "report").write_text("a file where the report directory belongs")
    assert main(["report", str(tmp_path)]) == 2
    assert "report directory" in _one_line_error(capsys)


def test_export_to_an_existing_directory_fails_before_exporting(tmp_path, capsys, monkeypatch):
    """Item 9: `--out <dir>` ran the whole export, then IsADirectoryError, leaving *.unverified.onnx."""
    import nash.export

    def never(*a, **kw):
        raise AssertionError("the export must not start")

    monkeypatch.setattr(nash.export, "export_checkpoint", never)
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"x")
    out = tmp_path / "onnx-dir"
    out.mkdir()
    assert main(["export", str(ckpt), "--out", str(out)]) == 2
    assert f"--out {out} is a directory; give a file name" in _one_line_error(capsys)
    assert not list(tmp_path.rglob("*.onnx"))


def test_interrupt_names_the_real_command(monkeypatch, capsys):
    """Item 10: 'rerun the same command to resume', but train/search refuse it without --resume."""
    assert resume_hint("train", ["train", "--out", "r 1"]) == "resume with: nash train --out 'r 1' --resume"
    assert (
        resume_hint("search", ["search", "--out", "r", "--resume"])
        == "resume with: nash search --out r --resume"
    )
    assert resume_hint("run", ["run", "e.yaml", "--out", "x"]) == "resume with: nash run e.yaml --out x"

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args",
                        lambda self, argv=None: argparse.Namespace(command="train", func=interrupted))  # fmt: skip
    assert main(["train", "--out", "runs/t"]) == 130
    err = capsys.readouterr().err
    assert "resume with: nash train --out runs/t --resume" in err and "same command" not in err


def test_report_without_results_names_nash_run(tmp_path, capsys):
    """Item 10: `nash report` said 'run `nash pipeline` first'; the command is `nash run`."""
    assert main(["report", str(tmp_path)]) == 2
    err = _one_line_error(capsys)
    assert "`nash run EXPERIMENT.yaml --out" in err and "nash pipeline" not in err
    assert main(["pareto", str(tmp_path)]) == 2
    assert "nash run" in _one_line_error(capsys)


def test_help_texts_name_what_is_used(capsys):
    """Item 10: `genotype reference --help` named a ../shared default; report named `nash pipeline`."""
    parser = build_parser()
    for argv in (["genotype", "reference", "--help"], ["report", "--help"], ["run", "--help"]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        out = capsys.readouterr().out
        assert "../shared" not in out and "nash pipeline" not in out
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    assert "--rerun STAGE" in capsys.readouterr().out


def test_lr_nan_is_refused_before_training(tmp_path, capsys):
    """Item 10: `--lr nan` trained and then blamed the lr."""
    import nash.train

    assert main(["train", "--out", str(tmp_path / "t"), "--lr", "nan", "--width", "4"]) == 2
    assert "lr: nan is not a number" in _one_line_error(capsys)
    assert not (tmp_path / "t").exists()
    assert nash.train  # imported only to make sure nothing ran


def test_run_without_a_terminal_has_no_progress_bars(tmp_path, monkeypatch, capsys):
    """Item 12: non-terminal logs filled with \\r bars; --no-progress still prints a line per stage."""
    import nash.pipeline

    seen = {}

    def fake_run(cfg, out, *, to, progress, log, rerun, jobs):
        seen["progress"], seen["jobs"] = progress, jobs
        log("[train resnet18-o-w2a2] training")
        return []

    monkeypatch.setattr(nash.pipeline, "run_experiment", fake_run)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert main(["run", str(_experiment(tmp_path)), "--out", str(tmp_path / "e")]) == 0
    assert seen["progress"] is False and seen["jobs"] == 1
    assert "[train resnet18-o-w2a2] training" in capsys.readouterr().out
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    main(["run", str(_experiment(tmp_path)), "--out", str(tmp_path / "e")])
    assert seen["progress"] is True
    main(["run", str(_experiment(tmp_path)), "--out", str(tmp_path / "e"), "--no-progress"])
    assert seen["progress"] is False


def test_brevitas_hadamard_warning_is_silenced():
    """Item 12: every export printed Brevitas' fast_hadamard_transform warning."""
    code = (
        "import warnings, sys\n"
        "from nash.pipeline.steps import quiet_brevitas\n"
        "quiet_brevitas()\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('default')\n"
        "    quiet_brevitas()\n"
        "    import brevitas.graph.equalize\n"
        "print(sum('fast_hadamard' in str(x.message) for x in w))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0" and "fast_hadamard" not in out.stderr
