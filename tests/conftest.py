"""Shared test fixtures. The test device comes from NASH_TEST_DEVICE (default ``cpu``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FMNIST_DIR = Path(os.environ.get("NASH_FMNIST_DIR", "/usr/share/datasets/fashion-mnist"))


@pytest.fixture(scope="session")
def device() -> str:
    """Device for tests that run models."""
    return os.environ.get("NASH_TEST_DEVICE", "cpu")


@pytest.fixture(scope="session")
def fmnist_dir() -> Path:
    """The real Fashion-MNIST IDX directory, or skip with the reason."""
    if (
        not (FMNIST_DIR / "train-images-idx3-ubyte.gz").exists()
        and not (FMNIST_DIR / "train-images-idx3-ubyte").exists()
    ):
        pytest.skip(f"Fashion-MNIST not found at {FMNIST_DIR} (apt-get install dataset-fashion-mnist)")
    return FMNIST_DIR


@pytest.fixture(scope="session")
def reference_genotypes_path() -> Path:
    """The paper's ResNet18 genotypes as shipped with the package (never skips)."""
    from nash.space.reference import PACKAGED_REFERENCE

    return PACKAGED_REFERENCE
