"""Quantization-aware training of original and NASH models (paper Algorithm 2).

Example:
    >>> from nash.config.train import TrainConfig                       # doctest: +SKIP
    >>> from nash.train import run_training, evaluate_checkpoint        # doctest: +SKIP
    >>> metrics = run_training(TrainConfig(bits="w2a2", width=16, epochs=5), "runs/train-o-w2a2")
    >>> evaluate_checkpoint("runs/train-o-w2a2/best.pt")["top1"]
"""

from nash.train.checkpoint import load_checkpoint, save_checkpoint
from nash.train.distributed import DistContext, init_distributed
from nash.train.engine import EpochStats, evaluate, topk_correct, train_one_epoch
from nash.train.evaluation import evaluate_checkpoint, load_trained_model
from nash.train.optim import build_optimizer, build_scheduler, cosine_factor, param_groups
from nash.train.runner import METRIC_FIELDS, run_training

__all__ = [
    "run_training",
    "evaluate_checkpoint",
    "load_trained_model",
    "load_checkpoint",
    "save_checkpoint",
    "train_one_epoch",
    "evaluate",
    "EpochStats",
    "topk_correct",
    "build_optimizer",
    "build_scheduler",
    "cosine_factor",
    "param_groups",
    "DistContext",
    "init_distributed",
    "METRIC_FIELDS",
]
