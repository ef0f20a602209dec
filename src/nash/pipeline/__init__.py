"""The experiment pipeline: the paper's whole grid (Section IV) as one resumable command.

``run_experiment(cfg, root)`` runs the steps of ``nash.pipeline.steps.STEPS`` in order: searches
each strategy once, then for every (backbone, version, bit tag) trains, exports, verifies and
estimates, writing ``results.csv``/``results.json`` and a report. See ``configs/*.yaml``.
"""

from nash.pipeline.runner import run_experiment
from nash.pipeline.stage import StageChanged, StageResult, fingerprint, run_stage

__all__ = ["run_experiment", "run_stage", "fingerprint", "StageResult", "StageChanged"]
