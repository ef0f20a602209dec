"""Small ResNet18s trained on real Fashion-MNIST and exported for the FINN+ tests (tests/finn, tests/hw).

``train_export`` trains a w2a2, width-8, 1x32x32 network for ``TRAIN_STEPS`` steps and exports it;
``build_with_check`` compiles it with FINN+ (``nash.finn.build``) at ``TARGET_FPS`` / 5 ns with the
integer check against PyTorch. The session fixture ``finn_original`` (tests/conftest.py) does both
once for the original ResNet18: tests/finn/test_build_resnet.py checks the build and
tests/hw/test_finn_plus.py compares ``nash.hw``'s finn-plus estimate with it, layer by layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TRAIN_STEPS = 60  # enough for non-degenerate logits (about 50-60 % top-1 on Fashion-MNIST)
TARGET_FPS = 2000.0
N_CHECK = 300
N_CHECK_HW = 4  # the HW-layer graph runs FINN+'s Python layer models image by image


def train_export(out: Path, version: str, genotype: str | None, fmnist_dir: Path) -> Path:
    """Train ``version`` (w2a2, width 8, 1x32x32, 10 classes) for ``TRAIN_STEPS`` steps and export it
    to ``out/model.onnx`` (``out/best.pt`` is the checkpoint)."""
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


def build_with_check(run: Path) -> dict[str, Any]:
    """``nash.finn.build`` of a trained run's export into ``run/finn`` at ``TARGET_FPS`` / 5 ns, with
    the integer check on ``N_CHECK`` test images (``N_CHECK_HW`` through the HW-layer graph)."""
    from nash.finn import build

    return build(
        run / "model.onnx",
        run / "finn",
        target_fps=TARGET_FPS,
        clock_ns=5.0,
        checkpoint=run / "best.pt",
        n_check=N_CHECK,
        n_check_hw=N_CHECK_HW,
        progress=False,
    )
