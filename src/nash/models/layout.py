"""The memory layout that networks are trained and searched in: channels-last (NHWC) on CPU.

PyTorch's default layout for 4-D tensors is NCHW. On CPU, oneDNN's convolutions work in NHWC (an
NCHW conv reorders its input, weight and output gradient on every call) and the max-pool kernel is
vectorised over channels only in NHWC. With the conv weights in channels-last layout, every conv
output is channels-last and the elementwise ops, BatchNorms, pools and quantisers downstream keep
that layout, so the whole network runs in NHWC without a conversion per layer.

Measured (``bench/train_bench.py``, w2a2 ResNet18, width 16, 32x32, batch 64, one thread): a
training step 7-14 % faster in QAT and 20-25 % faster in plain float, for the original ResNet and
NASH-v3 alike. Values are the same up to rounding: oneDNN accumulates the conv sums in another
order, so a run trained in one layout is not bit-identical to one trained in the other.

CUDA keeps PyTorch's default layout (channels-last pays off there only with mixed precision on
tensor cores, which is a separate choice). ``NASH_CHANNELS_LAST=0`` in the environment keeps NCHW
on CPU too: to reproduce a run made before this layout was the default, bit for bit.
"""

from __future__ import annotations

import os

import torch
from torch import nn

__all__ = ["training_layout"]


def training_layout(model: nn.Module, device: torch.device | str) -> nn.Module:
    """``model`` with its 4-D parameters and buffers in the layout it trains fastest in on ``device``.

    Channels-last on CPU (unless ``NASH_CHANNELS_LAST=0``), unchanged elsewhere. In place (like
    ``Module.to``); returns ``model``. Call it before the optimizer is built, so that its state
    (momentum) takes the same layout.
    Checkpoints are unaffected: ``load_state_dict`` copies values into whatever layout the
    receiving model has.
    """
    if torch.device(device).type == "cpu" and os.environ.get("NASH_CHANNELS_LAST", "1") != "0":
        model.to(memory_format=torch.channels_last)
    return model
