"""Checkpoint files: atomic save, one-line errors on load, RNG and quantizer-statistics state.

A checkpoint holds everything needed to (a) rebuild and evaluate the model (``arch``, ``model``,
``data``; see docs/contracts.md) and (b) continue training with results identical to an
uninterrupted run (``optimizer``, ``scheduler``, ``rng``, ``quant_state``, ``epoch``).
"""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nash.errors import ModelError
from nash.io import atomic_path

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "rng_state",
    "set_rng_state",
    "quant_state",
    "load_quant_state",
]

_REQUIRED = ("arch", "model")


def save_checkpoint(payload: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``payload`` with ``torch.save`` atomically (a crash never leaves a torn file)."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        ModelError: the file is missing, unreadable, or lacks the ``arch``/``model`` entries.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"checkpoint {p} not found; pass the last.pt or best.pt of a training run")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=False)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(
            f"checkpoint {p} is corrupt or not a torch file ({reason}); retrain or use best.pt"
        ) from None
    missing = [k for k in _REQUIRED if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise ModelError(f"checkpoint {p} lacks {', '.join(missing)}; it was not written by nash train")
    return ckpt


def rng_state() -> dict[str, Any]:
    """The states of every random generator training touches (python, numpy, torch, CUDA)."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore generator states captured by :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _stats_modules(model: nn.Module) -> dict[str, nn.Module]:
    # Brevitas statistics-based quantizers keep a python-int ``counter`` (and for
    # ParameterFromRuntimeStatsScaling a ``buffer`` left out of state_dict); loading a state_dict
    # marks their statistics collection as finished, which would change a resumed run.
    return {name: m for name, m in model.named_modules() if isinstance(getattr(m, "counter", None), int)}


def quant_state(model: nn.Module) -> dict[str, dict[str, Any]]:
    """Capture the statistics-collection state of every Brevitas runtime-stats module."""
    out: dict[str, dict[str, Any]] = {}
    for name, module in _stats_modules(model).items():
        entry: dict[str, Any] = {"counter": module.counter}
        for attr in ("buffer", "value", "running_stats"):
            tensor = getattr(module, attr, None)
            if isinstance(tensor, torch.Tensor):
                entry[attr] = tensor.detach().cpu().clone()
        out[name] = entry
    return out


def load_quant_state(model: nn.Module, state: dict[str, dict[str, Any]]) -> None:
    """Restore what :func:`quant_state` captured (call after ``load_state_dict``)."""
    modules = _stats_modules(model)
    for name, entry in state.items():
        module = modules.get(name)
        if module is None:
            raise ModelError(f"checkpoint quantizer state names unknown module {name!r}; the model changed")
        module.counter = entry["counter"]
        with torch.no_grad():
            for attr in ("buffer", "value", "running_stats"):
                if attr in entry:
                    getattr(module, attr).copy_(entry[attr])
