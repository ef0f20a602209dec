"""Search checkpoints: everything needed to continue a search bit-for-bit (``checkpoint.pt``).

A checkpoint holds the supernet (weights and ``alpha``), both optimisers, the learning-rate
scheduler, the number of finished epochs, the resolved config and the states of every random
number generator the search touches (torch, numpy, python ``random`` and the path sampler). It is
written atomically at the end of every epoch, so an interrupted search loses at most one epoch.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nash.errors import TrainingError
from nash.io import atomic_path

__all__ = ["rng_state", "set_rng_state", "save_checkpoint", "load_checkpoint"]


def rng_state(sampler: torch.Generator) -> dict[str, Any]:
    """States of the torch (CPU and CUDA), numpy, python and path-sampler generators."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        "sampler": sampler.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], sampler: torch.Generator) -> None:
    """Restore the generators saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    sampler.set_state(state["sampler"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (a crash never leaves a torn checkpoint)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a search checkpoint; a corrupt file raises ``TrainingError`` saying what to do."""
    try:
        # weights_only=False: the state holds numpy/python RNG tuples; the file is our own artefact.
        return torch.load(path, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise TrainingError(
            f"cannot read search checkpoint {path} ({type(exc).__name__}); delete it to restart the search"
        ) from exc
