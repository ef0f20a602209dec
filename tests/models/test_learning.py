"""A NASH network learns: gradients reach every layer and a real Fashion-MNIST batch is fitted."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from torch import nn

from nash.models import QuantSpec, build_model


def _fmnist_batch(root, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    # the first n test images, read straight from the IDX files (16- and 8-byte headers)
    if not (root / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"gzipped Fashion-MNIST test files not found in {root}")
    with gzip.open(root / "t10k-images-idx3-ubyte.gz", "rb") as fh:
        images = np.frombuffer(fh.read(16 + n * 784)[16:], dtype=np.uint8).reshape(n, 1, 28, 28)
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz", "rb") as fh:
        labels = np.frombuffer(fh.read(8 + n)[8:], dtype=np.uint8)
    x = (torch.from_numpy(images.astype(np.float32)) / 255.0 - 0.286) / 0.353
    return x, torch.from_numpy(labels.astype(np.int64))


def _model(reference_genotypes, bits: str) -> nn.Module:
    torch.manual_seed(0)
    spec = QuantSpec.from_tag(bits, version="v1")
    return build_model("resnet18", reference_genotypes["v1"], spec, 10, in_channels=1, width=4, stem="small")


@pytest.mark.parametrize("bits", ["w1a1", "w2a2"])
def test_every_layer_gets_gradients(fmnist_dir, reference_genotypes, bits):
    x, y = _fmnist_batch(fmnist_dir, 16)
    model = _model(reference_genotypes, bits)
    nn.functional.cross_entropy(model(x), y).backward()
    weights = [(n, m.weight) for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert len(weights) == 20 + 4 + 1  # backbone + shortcut + stem convs, v1's NAS convs, classifier
    dead = [n for n, w in weights if not w.grad.abs().sum() > 0]
    assert not dead, f"no gradient reaches {dead[:3]}"
    scales = [n for n, p in model.named_parameters() if "scaling_impl" in n]
    assert scales and all(dict(model.named_parameters())[n].grad is not None for n in scales)


def test_fits_a_real_batch(fmnist_dir, reference_genotypes):
    x, y = _fmnist_batch(fmnist_dir, 16)
    model = _model(reference_genotypes, "w2a2")
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(12):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 2.0  # about ln(10) at initialisation
    assert min(losses[-3:]) < 0.6 * losses[0]
