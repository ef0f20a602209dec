"""Fixtures of the FINN+ tests: skip without FINN+, small trained-and-exported ResNet18s."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("finn", reason="FINN+ (finn-plus) is not installed: pip install -e '.[finn]'")

TRAIN_STEPS = 60  # enough for non-degenerate logits (about 50-60 % top-1 on Fashion-MNIST)


def _train_export(out: Path, version: str, genotype: str | None, fmnist_dir: Path) -> Path:
    import torch

    from nash.config.train import TrainConfig
    from nash.export import export_model, load_checkpoint, model_from_checkpoint
    from nash.train import run_training

    torch.manual_seed(0)
    # one thread: on a shared 2-core machine OpenMP spinning over two threads made these 60 steps
    # several times slower than one thread
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = TrainConfig(
        backbone="resnet18",
        version=version,
        genotype=genotype,
        bits="w2a2",
        dataset="fashion-mnist",
        data_root=str(fmnist_dir),
        image_size=32,
        width=8,
        stem="small",
        epochs=1,
        max_steps_per_epoch=TRAIN_STEPS,
        batch_size=32,
        lr=0.05,
        train_subset=TRAIN_STEPS * 32,
        test_subset=200,
        device="cpu",
    )
    try:
        run_training(cfg, out, progress=False)
    finally:
        torch.set_num_threads(threads)
    # export without nash.export's own equivalence check (the FINN+ check below compares with
    # PyTorch anyway); the metadata carries the normalisation the FINN+ build folds into the input
    ckpt = load_checkpoint(out / "best.pt")
    data = ckpt["data"]
    meta = {
        "backbone": "resnet18",
        "version": version,
        "bits": "w2a2",
        "dataset": data["dataset"],
        "mean": data["mean"],
        "std": data["std"],
    }
    export_model(model_from_checkpoint(ckpt), (1, 32, 32), out / "model.onnx", meta)
    return out


@pytest.fixture(scope="session")
def trained_original(tmp_path_factory: pytest.TempPathFactory, fmnist_dir: Path) -> Path:
    """Original ResNet18, w2a2, width 8, 1x32x32, 10 classes, trained 60 steps, exported."""
    return _train_export(tmp_path_factory.mktemp("finn_o"), "o", None, fmnist_dir)


@pytest.fixture(scope="session")
def trained_v3(tmp_path_factory: pytest.TempPathFactory, fmnist_dir: Path) -> Path:
    """NASH-v3 ResNet18 (the paper's genotype), w2a2, width 8, 1x32x32, trained 60 steps, exported."""
    from nash.space.reference import default_reference_path, load_reference_genotypes

    out = tmp_path_factory.mktemp("finn_v3")
    geno = load_reference_genotypes(default_reference_path())["v3"].save(out / "genotype.json")
    return _train_export(out, "v3", str(geno), fmnist_dir)
