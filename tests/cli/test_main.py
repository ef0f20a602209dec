"""CLI smoke tests: the entry point exists, lists subcommands, maps errors to exit codes."""

from __future__ import annotations

import subprocess
import sys

from nash.cli import main


def test_help_lists_subcommands(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    assert "COMMAND" in out
    assert "data" in out


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "nash.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.startswith("nash ")
