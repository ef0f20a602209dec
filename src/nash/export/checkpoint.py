"""Checkpoint -> verified QONNX: rebuild, export, check equivalence and conformance, write the report.

Layout written beside ``out_path`` (e.g. ``model.onnx``):

* ``model.onnx``: only once the equivalence check has passed (a pipeline never picks up an
  unverified model);
* ``model.unverified.onnx``: the exported graph while it is being checked, and left behind for
  inspection when the check fails;
* ``export_check.json``: the check report, always written, with ``"ok": false`` on failure.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nash.errors import ExportError, ModelError
from nash.export.qonnx_export import export_model
from nash.export.report import check_exported
from nash.runtime import load_checkpoint as runtime_load_checkpoint

__all__ = ["export_checkpoint", "load_checkpoint", "model_from_checkpoint", "check_images"]


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a training checkpoint (``nash.runtime.load_checkpoint``: missing, corrupt or foreign
    files raise one ``ModelError`` line, as everywhere in nash)."""
    return runtime_load_checkpoint(path, "cpu", required=("arch", "model"))


def model_from_checkpoint(ckpt: dict[str, Any]) -> torch.nn.Module:
    """Rebuild the model from ``ckpt['arch']`` and load its weights strictly (eval mode).

    Raises:
        ModelError: the state dict does not match the architecture.
    """
    from nash.models import model_from_arch

    model = model_from_arch(ckpt["arch"])
    own = model.state_dict()
    bad_shapes = [k for k, v in ckpt["model"].items() if k in own and tuple(own[k].shape) != tuple(v.shape)]
    keep = {k: v for k, v in ckpt["model"].items() if k not in bad_shapes}
    result = model.load_state_dict(keep, strict=False)
    if result.missing_keys or result.unexpected_keys or bad_shapes:
        example = (result.missing_keys or result.unexpected_keys or bad_shapes)[0]
        raise ModelError(
            f"checkpoint weights do not match its architecture ({len(result.missing_keys)} missing, "
            f"{len(result.unexpected_keys)} unexpected, {len(bad_shapes)} wrong-shape tensors, e.g. "
            f"{example!r}); export the checkpoint with the arch it was trained with"
        )
    return model.eval()


def check_images(ckpt: dict[str, Any], n: int, data_root: str | None = None) -> np.ndarray:
    """The first ``n`` test images (normalised, N x C x H x W float32) of the checkpoint's dataset."""
    from nash.data import build_datasets

    c, h, _ = _input_shape(ckpt)
    name = (ckpt.get("data") or {}).get("dataset")
    if not name:
        raise ExportError("checkpoint has no data.dataset entry; pass the check images explicitly")
    root = data_root or (ckpt.get("data") or {}).get("data_root")  # as evaluation: the run's data
    _, test, _ = build_datasets(name, root, image_size=h, channels=c, augment=False, test_subset=n)
    return np.stack([np.asarray(test[i][0], np.float32) for i in range(min(n, len(test)))])


def _input_shape(ckpt: dict[str, Any]) -> tuple[int, int, int]:
    shape = ckpt["arch"].get("input_shape")
    if not shape or len(shape) != 3:
        raise ExportError(f"checkpoint arch has no valid input_shape [C, H, W] (got {shape!r}); re-save it")
    return tuple(int(d) for d in shape)


def _metadata(ckpt: dict[str, Any]) -> dict[str, Any]:
    arch, data = ckpt["arch"], ckpt.get("data") or {}
    meta = {k: arch.get(k) for k in ("backbone", "version", "bits", "genotype", "num_classes", "input_shape")}
    if arch.get("bits") is not None:
        from nash.models import arch_bits_label

        meta["bits"] = arch_bits_label(arch)  # the base tag, or per-cell tags "w2a2|w4a4|..."
    meta.update({k: data.get(k) for k in ("dataset", "mean", "std") if k in data})
    return {k: v for k, v in meta.items() if v is not None}


def export_checkpoint(
    ckpt_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    n_check: int = 64,
    data_root: str | None = None,
    images: np.ndarray | None = None,
    strict: bool = False,
    onnxruntime: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Export a checkpoint to QONNX, verify it against PyTorch, check dataflow conformance.

    Args:
        ckpt_path: ``last.pt``/``best.pt`` written by ``nash train``.
        out_path: the ``.onnx`` file to produce; ``export_check.json`` goes beside it.
        n_check: number of test images for the equivalence check.
        data_root: dataset directory (default: the training run's, else the dataset's standard location).
        images: N x C x H x W normalised images to use instead of the dataset.
        strict: conformance violations fail the export.
        onnxruntime: also run the graph lowered to standard ONNX in onnxruntime (second runtime).
        progress: show tqdm progress bars.

    Returns:
        The check dict (also in ``export_check.json``): ``max_abs_diff``, ``top1_agreement``,
        ``n``, ``conformance``, ``ok`` and more.

    Raises:
        ExportError: bad checkpoint, failed export, failed equivalence (or conformance if strict).
        ModelError: the weights do not match the architecture.
    """
    if n_check < 1:
        raise ExportError(f"n_check must be >= 1, got {n_check}")
    ckpt = load_checkpoint(ckpt_path)
    model = model_from_checkpoint(ckpt)
    input_shape = _input_shape(ckpt)
    if images is None:
        images = check_images(ckpt, n_check, data_root)
    out = Path(out_path)
    unverified = out.with_name(out.stem + ".unverified" + (out.suffix or ".onnx"))
    export_model(model, input_shape, unverified, _metadata(ckpt))
    from nash.models import count_params_macs

    _, macs = count_params_macs(model, input_shape)
    check = check_exported(
        model,
        unverified,
        images[:n_check],
        strict=strict,
        onnxruntime=onnxruntime,
        progress=progress,
        nash_macs=macs,
        report_path=out.parent / "export_check.json",
        extra={"checkpoint": str(ckpt_path), "onnx_path": str(out)},
    )
    os.replace(unverified, out)
    return check
