"""Tiny real models for the export tests, built and exported once per session.

Models are randomly initialised, then their BatchNorm statistics are calibrated by two forward
passes in train mode on random images (no SGD steps: equivalence does not depend on accuracy).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

SIZE = 28  # Fashion-MNIST image side
WIDTH = 4  # first-stage channels


def build_tiny(version: str, tag: str, genotypes: dict, seed: int = 0) -> torch.nn.Module:
    """A calibrated width-4, small-stem ResNet18 (original or NASH) for 1x28x28 inputs."""
    from nash.models import QuantSpec, build_model

    torch.manual_seed(seed)
    genotype = None if version == "o" else genotypes[version]
    model = build_model(
        "resnet18",
        genotype,
        QuantSpec.from_tag(tag, version=version),
        10,
        in_channels=1,
        width=WIDTH,
        stem="small",
    )
    model.train()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(16, 1, SIZE, SIZE, generator=gen))
    return model.eval()


@pytest.fixture(scope="session")
def genotypes(reference_genotypes_path: Path) -> dict:
    """The paper's reference ResNet18 genotypes v1..v4."""
    from nash.space.reference import load_reference_genotypes

    return load_reference_genotypes(reference_genotypes_path)


@pytest.fixture(scope="session")
def exported(genotypes: dict, tmp_path_factory: pytest.TempPathFactory):
    """``exported(version, tag) -> (model, onnx_path)``, each pair built and exported once."""
    from nash.export import export_model

    cache: dict[tuple[str, str], tuple[torch.nn.Module, Path]] = {}
    root = tmp_path_factory.mktemp("exported")

    def get(version: str, tag: str) -> tuple[torch.nn.Module, Path]:
        if (version, tag) not in cache:
            model = build_tiny(version, tag, genotypes)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                path = export_model(
                    model,
                    (1, SIZE, SIZE),
                    root / f"{version}_{tag}.onnx",
                    {"backbone": "resnet18", "version": version, "bits": tag},
                )
            cache[version, tag] = (model, path)
        return cache[version, tag]

    return get


@pytest.fixture(scope="session")
def images() -> np.ndarray:
    """32 normalised-looking 1x28x28 images (seeded)."""
    return np.random.default_rng(0).normal(size=(32, 1, SIZE, SIZE)).astype(np.float32)
