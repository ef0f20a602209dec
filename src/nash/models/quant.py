"""Every quantizer recipe of the project, in one place (the shape of Brevitas's bnn_pynq ``common.py``).

Each recipe is a subclass of a named Brevitas recipe; layers receive it as ``weight_quant=`` /
``act_quant=`` and get their bit width as a ``weight_bit_width=`` / ``bit_width=`` override, so one
recipe serves every bit width from 2 to 8. One bit is special: it always means *binary*
(values ``+-scale``), never a 1-bit integer, so 1-bit roles use the binary recipes below.

Pick recipes through :func:`weight_quant_kwargs` and :func:`act_quant_kwargs` rather than by hand;
they do the 1-bit switch.

Example:
    >>> from brevitas.nn import QuantConv2d
    >>> conv = QuantConv2d(8, 8, 3, bias=False, **weight_quant_kwargs(4))
    >>> int(conv.quant_weight().bit_width)
    4
"""

from __future__ import annotations

from typing import Any

from brevitas.core.quant import BinaryQuant
from brevitas.core.scaling import ScalingImplType, ScalingPerOutputType
from brevitas.core.stats import StatsOp
from brevitas.quant import (
    Int8ActPerTensorFloat,
    Int8ActPerTensorFloatMinMaxInit,
    Int8WeightPerChannelFloat,
    Int8WeightPerTensorFloat,
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFloat,
)

from nash.errors import ConfigError

__all__ = [
    "IntWeightPerChannel",
    "IntWeightPerTensor",
    "BinaryWeightPerChannel",
    "BinaryWeightPerTensor",
    "UintReluAct",
    "IntSignedAct",
    "HardTanhAct",
    "BipolarAct",
    "check_bits",
    "weight_quant_kwargs",
    "act_quant_kwargs",
]


class IntWeightPerChannel(Int8WeightPerChannelFloat):
    """Conv weights, 2..8 bit (default 8) narrow signed int; per-output-channel float scale = max |w|."""


class IntWeightPerTensor(Int8WeightPerTensorFloat):
    """Classifier (linear) weights, 2..8 bit (default 8) narrow signed int; one float scale = max |w|."""


class BinaryWeightPerChannel(SignedBinaryWeightPerTensorConst):
    """Conv weights, 1 bit: ``sign(w) * scale`` with a per-output-channel scale = mean |w| (XNOR-Net).

    Binary (+-scale), not a 1-bit integer; exports as a QONNX ``BipolarQuant``. The weights are not
    clipped in place (unlike Brevitas's constant-scale recipe) because the scale follows the weights.
    """

    tensor_quant = BinaryQuant
    scaling_impl_type = ScalingImplType.STATS
    scaling_stats_op = StatsOp.AVE
    scaling_per_output_type = ScalingPerOutputType.CHANNEL
    scaling_min_val = 1e-10


class BinaryWeightPerTensor(BinaryWeightPerChannel):
    """Classifier weights, 1 bit: ``sign(w) * scale`` with one scale = mean |w| over the tensor."""

    scaling_per_output_type = ScalingPerOutputType.TENSOR


class UintReluAct(Uint8ActPerTensorFloat):
    """ReLU branch activation ("activation1"), 2..8 bit unsigned int; learned per-tensor float scale.

    The scale is initialised from the 99.999th percentile of the first training batches, then learned.
    """


class IntSignedAct(Int8ActPerTensorFloat):
    """Signed activation: identity / HardTanh before an add ("activation2"), the network input and the
    classifier input; 2..8 bit signed int, learned per-tensor float scale initialised from statistics."""


class HardTanhAct(Int8ActPerTensorFloatMinMaxInit):
    """HardTanh before an add ("activation2"), 2..8 bit signed int; learned per-tensor float scale
    initialised so that the range is [-4, 4] (about four standard deviations of a BatchNorm output)."""

    min_val = -4.0
    max_val = 4.0


class BipolarAct(SignedBinaryActPerTensorConst):
    """Any activation at 1 bit: bipolar ``+-1`` (sign), constant scale 1; exports as ``BipolarQuant``.

    A 1-bit *ReLU* would output a single non-zero level, so 1-bit activations use the sign function,
    as FINN's binarised networks (BNN-PYNQ) do; the BatchNorm in front of it supplies the threshold.
    """


def check_bits(bits: int, role: str) -> int:
    """Return ``bits`` if it is an int in 1..8, else raise ``ConfigError`` naming the role."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 8:
        raise ConfigError(f"{role}: unsupported bit width {bits!r}; use an integer from 1 to 8")
    return bits


def weight_quant_kwargs(bits: int, per_channel: bool = True) -> dict[str, Any]:
    """Keyword arguments for a Brevitas layer with ``bits``-bit weights (1 = binary).

    Args:
        bits: weight bit width, 1..8.
        per_channel: per-output-channel scale (convolutions) or one scale (linear layers).

    Raises:
        ConfigError: ``bits`` outside 1..8.
    """
    check_bits(bits, "weight bits")
    if bits == 1:
        return {"weight_quant": BinaryWeightPerChannel if per_channel else BinaryWeightPerTensor}
    recipe = IntWeightPerChannel if per_channel else IntWeightPerTensor
    return {"weight_quant": recipe, "weight_bit_width": bits}


_ACT_RECIPES = {"relu": UintReluAct, "identity": IntSignedAct, "hardtanh": HardTanhAct}


def act_quant_kwargs(bits: int, kind: str, *, bipolar: bool = True) -> dict[str, Any]:
    """Keyword arguments for a Brevitas activation with ``bits`` bits (1 = bipolar).

    Args:
        bits: activation bit width, 1..8.
        kind: ``"relu"`` (unsigned), ``"identity"`` (signed) or ``"hardtanh"`` (signed, min/max init).
        bipolar: 1 bit means bipolar (default); False gives the kind's own 1-bit recipe
            (an unsigned 1-bit ReLU for ``"relu"``).

    Raises:
        ConfigError: ``bits`` outside 1..8.
    """
    check_bits(bits, "activation bits")
    if bits == 1 and bipolar:
        return {"act_quant": BipolarAct}
    return {"act_quant": _ACT_RECIPES[kind], "bit_width": bits}
