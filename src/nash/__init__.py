"""NASH: hardware-aware neural architecture search for FPGA dataflow accelerators.

Stages (each a subpackage, each writing files into a run directory):
``nash.data`` → ``nash.search`` → ``nash.space`` (genotypes, strategies) → ``nash.models`` →
``nash.train`` → ``nash.export`` → ``nash.hw`` → ``nash.analysis``; ``nash.pipeline`` runs the grid.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
