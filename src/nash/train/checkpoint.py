"""Training checkpoints: the ``arch``/``model`` check on load and the quantizer-statistics state.

Saving, loading and RNG state are :mod:`nash.runtime`'s (re-exported here).

A checkpoint holds everything needed to (a) rebuild and evaluate the model (``arch``, ``model``,
``data``; see docs/contracts.md) and (b) continue training with results identical to an
uninterrupted run (``optimizer``, ``scheduler``, ``rng``, ``quant_state``, ``epoch``).
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from nash.errors import ModelError
from nash.runtime import load_checkpoint as _load
from nash.runtime import rng_state, save_checkpoint, set_rng_state

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "rng_state",
    "set_rng_state",
    "quant_state",
    "load_quant_state",
]

REQUIRED = ("arch", "model")  # what evaluation and export need from a training checkpoint


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """:func:`nash.runtime.load_checkpoint` of a training checkpoint (must hold ``arch`` and ``model``).

    Raises:
        ModelError: the file is missing, unreadable, or lacks the ``arch``/``model`` entries.
    """
    return _load(path, map_location, required=REQUIRED)


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
