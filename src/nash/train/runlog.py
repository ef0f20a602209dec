"""Per-epoch metrics files of a training run: ``metrics.jsonl`` (appended) and ``metrics.csv``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nash.io import append_jsonl, atomic_write_text

__all__ = ["METRIC_FIELDS", "reset_metrics", "append_metrics", "format_row"]

METRIC_FIELDS = (
    "epoch",  # 1-based epoch number
    "train_loss",  # mean training cross-entropy of the epoch (with label smoothing if set)
    "train_top1",  # training top-1 in percent, measured on the fly (train-mode model)
    "test_loss",  # mean test cross-entropy
    "test_top1",  # test top-1 in percent
    "test_top5",  # test top-5 in percent
    "lr",  # learning rate after the epoch's last step
    "seconds",  # wall-clock seconds of the epoch (training + evaluation)
    "images_per_s",  # training images per second (all ranks)
    "steps",  # optimizer steps in the epoch
)


def reset_metrics(out: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite both files atomically to hold exactly ``rows`` (fresh start or resume)."""
    atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    _write_csv(out, rows)


def append_metrics(out: Path, rows: list[dict[str, Any]]) -> None:
    """Append the newest row to ``metrics.jsonl`` and rewrite ``metrics.csv``."""
    append_jsonl(out / "metrics.jsonl", rows[-1])
    _write_csv(out, rows)


def _write_csv(out: Path, rows: list[dict[str, Any]]) -> None:
    lines = [",".join(METRIC_FIELDS)]
    lines += [",".join(str(r.get(k, "")) for k in METRIC_FIELDS) for r in rows]
    atomic_write_text(out / "metrics.csv", "\n".join(lines) + "\n")


def format_row(row: dict[str, Any]) -> str:
    """One human-readable progress line for an epoch."""
    return (
        f"epoch {row['epoch']}: train loss {row['train_loss']:.4f} top1 {row['train_top1']:.2f} | "
        f"test top1 {row['test_top1']:.2f} top5 {row['test_top5']:.2f} | {row['images_per_s']:.0f} img/s"
    )
