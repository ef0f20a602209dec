"""Fixtures of the analysis tests: the hand-made experiment of ``analysis_fixtures``."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_fixtures import build_experiment


@pytest.fixture()
def experiment_dir(tmp_path: Path) -> Path:
    """A fresh hand-made experiment directory (no report yet)."""
    return build_experiment(tmp_path / "exp")


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(experiment dir, report.html) written once per test module; report writing takes ~3 s."""
    from nash.analysis import write_report

    root = build_experiment(tmp_path_factory.mktemp("reported") / "exp")
    return root, write_report(root)
