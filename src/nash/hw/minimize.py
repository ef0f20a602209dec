"""Weight and accumulator bit-width minimisation (FINN ``step_minimize_bit_width``, finn-cost-model.md §8)."""

from __future__ import annotations

import math

import numpy as np

from nash.hw.datatypes import DType, int_type, smallest_for

__all__ = ["min_weight_type", "min_acc_type"]


def min_weight_type(values: np.ndarray) -> DType:
    """§8 MinimizeWeightBitWidth: smallest type for wmin (or -wmax-1) if negative weights, else wmax."""
    wmin, wmax = int(values.min()), int(values.max())
    if wmin < 0:
        return smallest_for(wmin) if abs(wmin) > wmax else smallest_for(-wmax - 1)
    return smallest_for(wmax)


def min_acc_type(weights: np.ndarray, x_min: int, x_max: int) -> DType:
    """§8 MinimizeAccumulatorWidth from an integer (MW, MH) weight matrix and the input range.

    Per output column the largest sum is Σ w·(w>0 ? xmax : xmin) and the smallest
    Σ w·(w>0 ? xmin : xmax); the accumulator must hold [min over columns, max over columns].
    """
    w = np.asarray(weights, dtype=np.int64)
    pos = np.clip(w, 0, None).sum(axis=0)
    neg = w.sum(axis=0) - pos
    col_max = pos * x_max + neg * x_min
    col_min = pos * x_min + neg * x_max
    acc_min, acc_max = int(col_min.min()), int(col_max.max())
    if acc_min >= 0:
        return int_type(max(1, math.ceil(math.log2(acc_max + 1))), False)
    return int_type(math.ceil(math.log2(max(-acc_min, 1 + acc_max)) + 1), True)
