"""The experiment pipeline: the paper's whole grid (Section IV) as one resumable command.

``run_experiment(cfg, root)`` searches each strategy once, then for every (backbone, version,
bit tag) trains, exports, verifies and estimates, writing ``results.csv``/``results.json`` and a
report. See ``configs/*.yaml`` for examples.
"""

from nash.pipeline.runner import run_experiment
from nash.pipeline.stage import StageResult, fingerprint, run_stage

__all__ = ["run_experiment", "run_stage", "fingerprint", "StageResult"]
