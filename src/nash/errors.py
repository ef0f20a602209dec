"""Error hierarchy: every error a user can cause is a ``NashError`` with an actionable message.

The CLI prints ``error: <message>`` on one line and exits with code 2 for any ``NashError``.
Messages say what is wrong *and* what to do about it.
"""

from __future__ import annotations

__all__ = [
    "NashError",
    "ConfigError",
    "DataError",
    "GenotypeError",
    "ModelError",
    "TrainingError",
    "ExportError",
    "HardwareError",
    "UnsupportedOpError",
    "FoldingError",
    "OutputError",
    "LockError",
]


class NashError(Exception):
    """Base class of every user-facing error of the toolkit."""


class ConfigError(NashError, ValueError):
    """A configuration value or key is invalid (unknown key, bad type, out of range)."""


class DataError(NashError):
    """A dataset is missing, truncated, corrupt or inconsistent."""


class GenotypeError(NashError, ValueError):
    """A genotype is malformed or does not fit its backbone."""


class ModelError(NashError, ValueError):
    """A model cannot be built or a checkpoint does not match its architecture."""


class TrainingError(NashError):
    """Training or search cannot continue (NaN loss, incompatible resume state)."""


class ExportError(NashError):
    """Export to QONNX failed or the exported graph disagrees with PyTorch."""


class HardwareError(NashError):
    """The hardware model cannot lower, fold or estimate the given graph."""


class UnsupportedOpError(HardwareError):
    """The graph holds op types the dataflow lowering does not support."""


class FoldingError(HardwareError):
    """A folding (PE/SIMD) violates FINN's divisibility rules."""


class OutputError(NashError):
    """An output path cannot be written (no permission, a directory where a file belongs, ...)."""


class LockError(NashError):
    """Another process is working in the same experiment directory."""
