"""Fixtures of the analysis tests: the hand-made experiments of ``analysis_fixtures`` and ``demo_fixture``.

Reports take a few seconds each (a dozen figures as PNG + SVG), so the two shared ones are built once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_fixtures import build_experiment


@pytest.fixture()
def experiment_dir(tmp_path: Path) -> Path:
    """A fresh hand-made experiment directory (no report yet)."""
    return build_experiment(tmp_path / "exp")


@pytest.fixture(scope="session")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(experiment dir, report.html) of the 20-row experiment, written once; tests must not change it."""
    from nash.analysis import write_report

    root = build_experiment(tmp_path_factory.mktemp("reported") / "exp")
    return root, write_report(root)


@pytest.fixture(scope="session")
def demo_reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(experiment dir, report.html) of the demo-like experiment with every run record, written once."""
    from demo_fixture import build_demo_experiment

    from nash.analysis import write_report

    root = build_demo_experiment(tmp_path_factory.mktemp("demo") / "exp")
    return root, write_report(root)
