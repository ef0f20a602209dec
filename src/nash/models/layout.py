"""The memory layout that networks are trained and searched in: channels-last (NHWC) on CPU.

PyTorch's default layout for 4-D tensors is NCHW. On CPU, oneDNN's convolutions work in NHWC (an
NCHW conv reorders its input, weight and output gradient on every call) and the max-pool kernel is
vectorised over channels only in NHWC. With the conv weights in channels-last layout, every conv
output is channels-last and the elementwise ops, BatchNorms, pools and quantisers downstream keep
that layout, so the whole network runs in NHWC without a conversion per layer (a grey-image stem
needs one conversion of its output, see ``training_layout``).

Measured (``bench/train_bench.py``, w2a2 ResNet18, width 16, 32x32, batch 64, one thread): a
training step 7-14 % faster in QAT and 20-25 % faster in plain float, for the original ResNet and
NASH-v3 alike. Values are the same up to rounding: oneDNN accumulates the conv sums in another
order, so a run trained in one layout is not bit-identical to one trained in the other.

CUDA keeps PyTorch's default layout (channels-last pays off there only with mixed precision on
tensor cores, which is a separate choice). ``NASH_CHANNELS_LAST=0`` in the environment keeps NCHW
on CPU too: to reproduce a run made before this layout was the default, bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nash.models.ops import exporting
from nash.runtime import env_switch

__all__ = ["training_layout"]


def training_layout(model: nn.Module, device: torch.device | str) -> nn.Module:
    """``model`` with its conv weights in the layout it trains fastest in on ``device``.

    Channels-last on CPU (unless ``NASH_CHANNELS_LAST=0``), unchanged elsewhere; any other value of
    ``NASH_CHANNELS_LAST`` than 0 or 1 is a ``ConfigError``. In place (like
    ``Module.to``); returns ``model``. Call it before the optimizer is built, so that its state
    (momentum) takes the same layout. Checkpoints are unaffected: ``load_state_dict`` copies values
    into whatever layout the receiving model has.
    """
    if torch.device(device).type != "cpu" or not env_switch(
        "NASH_CHANNELS_LAST", "channels-last on CPU", "PyTorch's NCHW"
    ):
        return model
    for param in model.parameters():
        # 1x1 kernels stay as they are: NCHW and NHWC strides describe the same memory order for
        # them, autograd returns their gradients in NCHW strides (DDP wants the two to match), and
        # their channels-last inputs already make the conv run in NHWC. ``to`` rather than
        # ``contiguous``: it sets NHWC strides also where both layouts fit (a 1-channel 3x3 weight).
        if param.dim() == 4 and tuple(param.shape[-2:]) != (1, 1):
            param.data = param.data.to(memory_format=torch.channels_last)
    for module in model.modules():
        # A conv of a 1-channel input (the stem on grey images): the input fits both layouts, and
        # so does a quantised copy of the weight (Brevitas's output takes NCHW strides), so the conv
        # would stay in NCHW and hand the first cell an NCHW input. Its output is made NHWC.
        if isinstance(module, nn.Conv2d) and module.in_channels == 1 and not hasattr(module, "_nash_nhwc"):
            module.register_forward_hook(_channels_last_output)
            module._nash_nhwc = True  # one hook, however often the layout is applied
    return model


def _channels_last_output(module: nn.Module, args: tuple[Any, ...], out: Any) -> Any:
    """``out`` with NHWC strides (CPU, not while tracing or exporting); None leaves it unchanged."""
    if not isinstance(out, torch.Tensor) or out.dim() != 4 or out.device.type != "cpu" or exporting():
        return None
    return out.contiguous(memory_format=torch.channels_last)
