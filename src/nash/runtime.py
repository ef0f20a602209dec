"""Run plumbing shared by search and training: seeding, devices, RNG state, checkpoint files.

One implementation of each, so that a search and a training run seed, pick devices, save and
resume the same way:

* :func:`seed_everything` -- python ``random``, numpy and torch from one integer seed.
* :func:`resolve_device` -- ``None`` -> CUDA when available, else CPU; ``"cuda"`` -> the local
  rank's GPU; one-line ``ConfigError`` for a bad or unavailable device.
* :func:`rng_state` / :func:`set_rng_state` -- every generator a run touches (python, numpy,
  torch, CUDA and optionally a dedicated ``torch.Generator`` such as the search's path sampler).
* :func:`save_checkpoint` / :func:`load_checkpoint` -- atomic ``torch.save`` and a loader whose
  every failure (missing, corrupt, foreign file) is one ``ModelError`` line.
* :func:`env_switch` -- a ``NASH_*`` on/off environment variable (1 or unset = on, 0 = off, anything
  else a one-line ``ConfigError``).
"""

from __future__ import annotations

import os
import pickle
import random
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nash.errors import ConfigError, ModelError
from nash.io import atomic_path

__all__ = [
    "env_switch",
    "quiet_brevitas",
    "seed_everything",
    "resolve_device",
    "rng_state",
    "set_rng_state",
    "save_checkpoint",
    "load_checkpoint",
]

PathLike = str | os.PathLike[str]


def env_switch(name: str, on: str, off: str) -> bool:
    """The on/off environment variable ``name``: True for 1 or unset, False for 0.

    ``on`` and ``off`` say what 1 and 0 mean, for the error message.

    Raises:
        ConfigError: any other value (a typo must not silently pick a side).
    """
    value = os.environ.get(name, "").strip() or "1"
    if value not in ("0", "1"):
        raise ConfigError(f"{name}={value!r}: use 1 ({on}, the default) or 0 ({off})")
    return value == "1"


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy (modulo 2**32) and torch (all devices) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str | None, local_rank: int = 0) -> torch.device:
    """The torch device for ``device``: ``None`` -> CUDA if available else CPU; ``"cuda"`` -> ``cuda:local_rank``.

    Raises:
        ConfigError: not a device name, or CUDA requested where there is none.
    """
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device {device!r} is not a torch device; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} requested but CUDA is not available; use --device cpu")
        if dev.index is None:
            dev = torch.device("cuda", local_rank)
    return dev


def rng_state(sampler: torch.Generator | None = None) -> dict[str, Any]:
    """States of the python, numpy, torch (CPU, CUDA) generators, plus ``sampler``'s when given."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if sampler is not None:
        state["sampler"] = sampler.get_state()
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], sampler: torch.Generator | None = None) -> None:
    """Restore what :func:`rng_state` captured (``sampler`` gets its saved state when given)."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if sampler is not None:
        sampler.set_state(state["sampler"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def save_checkpoint(payload: dict[str, Any], path: PathLike) -> Path:
    """Write ``payload`` with ``torch.save`` atomically (a crash never leaves a torn file)."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(
    path: PathLike, map_location: str | torch.device = "cpu", *, required: Sequence[str] = ()
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Args:
        path: the ``.pt`` file.
        map_location: device the tensors are loaded onto.
        required: top-level keys the file must have (e.g. ``("arch", "model")``).

    Raises:
        ModelError: missing file, unreadable / truncated / non-torch file, or a missing key.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(
            f"checkpoint {p} not found; pass a file written by nash (last.pt/best.pt of a training run, "
            "checkpoint.pt of a search)"
        )
    try:
        # weights_only=False: checkpoints hold numpy/python RNG state; they are our own artefacts.
        ckpt = torch.load(p, map_location=map_location, weights_only=False)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(
            f"checkpoint {p} is corrupt or not a torch file ({reason}); delete it and re-run the stage "
            "that wrote it"
        ) from None
    missing = [k for k in required if not isinstance(ckpt, dict) or k not in ckpt]
    if not isinstance(ckpt, dict) or missing:
        lacking = ", ".join(missing) or "a dict of entries"
        raise ModelError(f"checkpoint {p} lacks {lacking}; it was not written by this stage of nash")
    return ckpt


def quiet_brevitas() -> None:
    """Silence export-time noise: Brevitas' note that an optional CUDA kernel package is absent, and
    torch's named-tensor notice triggered by Brevitas' QONNX export (neither says anything about
    the user's model). Called by every command that exports or compiles a model."""
    import warnings

    warnings.filterwarnings("ignore", message="fast_hadamard_transform package not found")
    warnings.filterwarnings("ignore", message="Named tensors and all their associated APIs")
