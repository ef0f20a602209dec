"""Fixtures of the model tests: one torch thread (the CI box has 2 shared cores), reference genotypes."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny models run ~10x faster single-threaded on a loaded 2-core machine; restore afterwards.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def reference_genotypes(reference_genotypes_path):
    """The paper's ResNet18 genotypes v1..v4 as ``nash.space.Genotype`` objects."""
    from nash.space import load_reference_genotypes

    return load_reference_genotypes(reference_genotypes_path)
