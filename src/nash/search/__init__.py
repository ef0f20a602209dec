"""Architecture search (paper Algorithm 1): single-path supernet, binary-gate alpha step, derivation.

Example:
    >>> from nash.config.search import SearchConfig          # doctest: +SKIP
    >>> from nash.search import run_search
    >>> cfg = SearchConfig(strategy="v3", epochs=1, width=8, train_subset=512, steps_per_epoch=20)
    >>> genotype = run_search(cfg, "runs/search-v3")
"""

from __future__ import annotations

from nash.runtime import resolve_device  # re-exported: used to live here
from nash.search.architect import Architect, WeightTrainer
from nash.search.build import build_loaders, build_strategy, build_supernet
from nash.search.loop import SearchRun, run_search

__all__ = [
    "run_search",
    "SearchRun",
    "Architect",
    "WeightTrainer",
    "build_strategy",
    "build_supernet",
    "build_loaders",
    "resolve_device",
]
