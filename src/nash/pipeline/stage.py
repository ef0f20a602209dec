"""Stage bookkeeping: a finished stage leaves a ``stage.json`` marker with its config fingerprint.

A stage is skipped when its marker exists and the fingerprint of the config it would run with is
unchanged; a stage without a marker but with partial output is resumed by the stage itself.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nash.io import atomic_write_json

__all__ = ["StageResult", "fingerprint", "run_stage", "MARKER"]

MARKER = "stage.json"


@dataclass(frozen=True)
class StageResult:
    """What one stage produced (``outputs``) and whether it ran now or was found done."""

    name: str
    directory: Path
    outputs: dict[str, Any]
    skipped: bool
    seconds: float


def fingerprint(settings: dict[str, Any]) -> str:
    """A short stable hash of a stage's settings (JSON, sorted keys)."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def run_stage(
    name: str, directory: Path, settings: dict[str, Any], work: Callable[[bool], dict[str, Any]]
) -> StageResult:
    """Run ``work(resume)`` unless ``directory`` holds a marker for the same settings.

    Args:
        name: stage name for logs and the marker.
        directory: the stage's run directory.
        settings: everything that determines the stage's result (fingerprinted).
        work: does the stage; receives ``resume=True`` when partial output exists; returns the
            outputs to record (paths relative to nothing, numbers).
    """
    marker = directory / MARKER
    fp = fingerprint(settings)
    if marker.exists():
        try:
            done = json.loads(marker.read_text())
        except json.JSONDecodeError:
            done = {}
        if done.get("fingerprint") == fp and done.get("status") == "ok":
            return StageResult(name, directory, done.get("outputs", {}), True, 0.0)
    resume = directory.exists() and any(directory.iterdir())
    start = time.perf_counter()
    outputs = work(resume)
    seconds = time.perf_counter() - start
    atomic_write_json(
        marker,
        {
            "stage": name,
            "status": "ok",
            "fingerprint": fp,
            "settings": settings,
            "outputs": outputs,
            "seconds": round(seconds, 2),
        },
    )
    return StageResult(name, directory, outputs, False, seconds)
