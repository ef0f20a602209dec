"""The FINN+ back-end: compile our QONNX exports with the real FINN compiler (``finn-plus``).

``nash.finn.build(onnx, out_dir, ...)`` runs FINN+'s transformation flow with our own tidy,
streamlining and HW-conversion steps (``nash.finn.steps``) so that every node of our ResNets,
original or NASH, becomes a FINN+ HW layer in one dataflow partition; it folds the layers (our
folding JSON, FINN+'s SetFolding for a target fps, or a device fit), writes FINN+'s own estimate
reports and, with a checkpoint, the integer-graph check ``finn_check.json``. With Vivado installed
it continues to the stitched IP. FINN+ is optional: importing this package does not import it.

Example:
    >>> from nash.finn import build                                   # doctest: +SKIP
    >>> summary = build("runs/v3/model.onnx", "runs/v3/finn", target_fps=2000, clock_ns=5,
    ...                 checkpoint="runs/v3/best.pt", n_check=1000)
    >>> summary["performance"]["fps"], summary["check"]["top1_agreement"]
"""

from __future__ import annotations

from nash.finn._env import (
    INSTALL_HINT,
    FinnError,
    FinnNotInstalledError,
    UnmappedNodesError,
    finn_version,
    require_finn,
    vivado_available,
)
from nash.finn.flow import DEFAULT_PART, VIVADO_MISSING, build

__all__ = [
    "build",
    "FinnError",
    "FinnNotInstalledError",
    "UnmappedNodesError",
    "require_finn",
    "finn_version",
    "vivado_available",
    "INSTALL_HINT",
    "DEFAULT_PART",
    "VIVADO_MISSING",
]
