"""``evaluate_checkpoint``: rebuild a trained model from its checkpoint and measure top-1/top-5."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nash.errors import ModelError
from nash.models.layout import training_layout
from nash.train import checkpoint as ck
from nash.train.build import build_from_arch
from nash.train.distributed import DistContext, resolve_device
from nash.train.engine import evaluate
from nash.train.loader import eval_loader

__all__ = ["evaluate_checkpoint", "load_trained_model"]


def load_trained_model(ckpt_path: str | Path, device: str | None = "cpu") -> tuple[Any, dict[str, Any]]:
    """The model of a checkpoint with its trained weights (eval mode) and the checkpoint dict.

    Raises:
        ModelError: missing or corrupt checkpoint, or weights that do not fit the stored ``arch``.
    """
    dev = resolve_device(device)
    ckpt = ck.load_checkpoint(ckpt_path, dev)
    model = build_from_arch(ckpt["arch"]).to(dev)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"checkpoint {ckpt_path}: weights do not fit its arch ({first}); retrain") from None
    ck.load_quant_state(model, ckpt.get("quant_state", {}))
    return model.eval(), ckpt


def evaluate_checkpoint(
    ckpt_path: str | Path,
    dataset: str | None = None,
    data_root: str | None = None,
    device: str | None = None,
    *,
    full_test: bool = False,
    batch_size: int = 256,
) -> dict[str, Any]:
    """Top-1 / top-5 accuracy (percent) of a checkpoint on a test split.

    By default the test split (and subset) the run was evaluated on is used, so the reported
    top-1 is reproduced exactly; ``full_test=True`` evaluates on the whole test split.

    Args:
        ckpt_path: ``last.pt`` or ``best.pt`` of a training run.
        dataset: dataset name (default: the one the model was trained on).
        data_root: dataset directory (default: the training run's).
        device: "cpu" | "cuda" | None (auto).
        full_test: ignore the run's ``test_subset``.
        batch_size: evaluation batch size.

    Returns:
        ``{"top1", "top5", "loss", "n", "dataset", "epoch"}``.

    Raises:
        ModelError: missing/corrupt checkpoint, or a dataset whose class count differs.
    """
    model, ckpt = load_trained_model(ckpt_path, device)
    data, arch = ckpt.get("data", {}), ckpt["arch"]
    test = _test_split(ckpt, dataset, data_root, full_test)
    dev = next(model.parameters()).device
    loader = eval_loader(test, batch_size)
    # the layout training evaluated in, so that the training log's top-1 is reproduced exactly
    stats = evaluate(training_layout(model, dev), loader, DistContext(device=dev))
    return {
        "top1": stats.top1,
        "top5": stats.top5,
        "loss": stats.loss,
        "n": stats.n,
        "dataset": dataset or data.get("dataset"),
        "epoch": ckpt.get("epoch"),
        "num_classes": arch["num_classes"],
    }


def _test_split(ckpt: dict[str, Any], dataset: str | None, data_root: str | None, full_test: bool) -> Any:
    from nash.data.build import build_test_split

    data, arch = ckpt.get("data", {}), ckpt["arch"]
    name = dataset or data.get("dataset")
    if name is None:
        raise ModelError("the checkpoint does not record its dataset; pass --dataset")
    channels, height, _ = arch["input_shape"]
    test, num_classes = build_test_split(  # the test split only: eval needs no training images
        name,
        data_root or data.get("data_root"),
        image_size=height,
        channels=channels,
        test_subset=None if full_test else data.get("test_subset"),
        seed=data.get("seed", 0),
    )
    if int(num_classes) != int(arch["num_classes"]):
        raise ModelError(
            f"dataset {name} has {num_classes} classes but the checkpoint was trained for "
            f"{arch['num_classes']}; pass the dataset it was trained on"
        )
    return test
