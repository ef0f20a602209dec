"""CLI smoke tests: the entry point exists, lists subcommands, maps errors to exit codes."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import nash.cli
from nash.cli import build_parser, main

# The stages of the README; more subcommands may be added (each nash/cli/<name>.py is one).
CORE = {"data", "search", "genotype", "models", "train", "eval", "export", "hw", "run", "pareto", "report"}


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    # the subcommand rows of the help text: "    <name>   <help>" between "COMMAND" and "options:"
    section = out.split("COMMAND\n", 1)[1].split("\noptions:", 1)[0]
    listed = {
        line.split()[0]
        for line in section.splitlines()
        if line.startswith("    ") and not line.startswith("     ")
    }
    modules = {m.name for m in pkgutil.iter_modules(nash.cli.__path__) if not m.name.startswith("_")}
    assert listed == modules and CORE <= listed, (listed, modules)
    choices = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert set(choices) == modules


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "nash.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.startswith("nash ")
