"""Fixtures of the FINN+ tests: skip without FINN+, small trained-and-exported ResNet18s.

The original ResNet18's trained export and FINN+ build is the session fixture ``finn_original`` of
tests/conftest.py (shared with tests/hw/test_finn_plus.py); the helpers are in tests/finn_runs.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("finn", reason="FINN+ (finn-plus) is not installed: pip install -e '.[finn]'")


@pytest.fixture(scope="session")
def trained_v3(tmp_path_factory: pytest.TempPathFactory, fmnist_dir: Path) -> Path:
    """NASH-v3 ResNet18 (the paper's genotype), w2a2, width 8, 1x32x32, trained 60 steps, exported."""
    from finn_runs import train_export
    from nash.space.reference import default_reference_path, load_reference_genotypes

    out = tmp_path_factory.mktemp("finn_v3")
    geno = load_reference_genotypes(default_reference_path())["v3"].save(out / "genotype.json")
    return train_export(out, "v3", str(geno), fmnist_dir)
