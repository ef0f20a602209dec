"""Importing FINN+ safely: one-line errors when it is missing, its settings, and the Vivado check.

FINN+ (``finn-plus``, import name ``finn``) needs a global settings object before most of its
transformations run; outside its own command-line entry point ``initialize_dummy_settings()``
provides one. ``finn.builder.build_dataflow_steps`` imports the Vivado simulator binding
(``finn.xsi``) at import time and raises without ``XILINX_VIVADO``, so this package never imports
that module for the estimate flow: it calls the underlying transformations and analysis passes
itself (see ``nash.finn.steps``) and imports the builder steps only when Vivado is present.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache

from nash.errors import HardwareError

__all__ = [
    "FinnError",
    "FinnNotInstalledError",
    "UnmappedNodesError",
    "require_finn",
    "finn_version",
    "vivado_available",
    "INSTALL_HINT",
]

INSTALL_HINT = 'pip install -e ".[finn]"'


class FinnError(HardwareError):
    """The FINN+ flow cannot compile the given model."""


class FinnNotInstalledError(FinnError):
    """FINN+ (the ``finn-plus`` package) is not importable in this environment."""


class UnmappedNodesError(FinnError):
    """Nodes remain outside the dataflow partition (or are not FINN+ HW layers)."""

    def __init__(self, message: str, nodes: list[str]) -> None:
        super().__init__(message)
        self.nodes = list(nodes)


@lru_cache(maxsize=1)
def require_finn() -> str:
    """Import FINN+, initialise its settings once, return its version; else ``FinnNotInstalledError``."""
    try:
        from finn.util import settings

        import finn  # noqa: F401
    except ImportError as exc:  # finn itself, or one of its undeclared imports (psutil)
        raise FinnNotInstalledError(
            f"FINN+ is not installed or incomplete ({exc.name or exc}); install it with: {INSTALL_HINT}"
        ) from None
    settings.initialize_dummy_settings()
    from nash.qonnx_speed import install

    install()  # linear-time qonnx clean-up passes (same graphs), run by every FINN+ transformation
    return finn_version()


def finn_version() -> str:
    """The installed ``finn-plus`` version ('unknown' when the metadata is missing)."""
    from importlib import metadata

    try:
        return metadata.version("finn-plus")
    except metadata.PackageNotFoundError:
        return "unknown"


def vivado_available() -> bool:
    """True when Vivado is set up (``XILINX_VIVADO`` points at an installation with ``bin/vivado``)."""
    root = os.environ.get("XILINX_VIVADO")
    if not root:
        return False
    return os.path.exists(os.path.join(root, "bin", "vivado")) or shutil.which("vivado") is not None
