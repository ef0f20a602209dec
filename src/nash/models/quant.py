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

import math
from typing import Any

import torch
from brevitas.core.function_wrapper import Identity, RoundSte, TensorClamp
from brevitas.core.quant import BinaryQuant, IntQuant
from brevitas.core.quant.delay import _NoDelay
from brevitas.core.scaling import ScalingImplType, ScalingPerOutputType
from brevitas.core.stats import AbsPercentile, StatsOp
from brevitas.core.stats.stats_op import register_stats_implementation
from brevitas.quant import (
    Int8ActPerTensorFloat,
    Int8ActPerTensorFloatMinMaxInit,
    Int8WeightPerChannelFloat,
    Int8WeightPerTensorFloat,
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFloat,
)
from torch import Tensor

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
    "TopAbsPercentile",
    "FusedIntQuant",
    "check_bits",
    "weight_quant_kwargs",
    "act_quant_kwargs",
]


class _FakeQuant(torch.autograd.Function):
    """Brevitas's ``IntQuant`` fake quantisation as one autograd node: same values, same gradients
    up to float rounding.

    Brevitas builds ``(clamp(round_ste(x / s + zp), lo, hi) - zp) * s`` from nine autograd nodes;
    the clamp is two ``torch.where`` with 0-dim tensor bounds, whose forward and backward (``where``,
    ``gt``, ``lt`` with boolean masks) run 5-10x slower per element on CPU than float arithmetic.
    This node runs the same float operations in the same order, so the output is bit-identical
    (with ``zp == 0`` the ``+ zp`` / ``- zp`` are skipped: they could only turn an exact ``-0.0``
    into ``+0.0``). The backward uses the closed forms of the derivatives that Brevitas's graph
    evaluates step by step:

    * ``d out / d x = inside`` (1 where the clamp did not act; straight-through ``round``), where
      the graph computes ``(g * s * inside) / s`` -- at most one ulp apart;
    * ``d out / d s = q - inside * x / s`` (``q`` the clamped integer minus the zero point), summed
      over the broadcast dimensions in one reduction, where the graph sums ``g * q`` and
      ``g * s * inside * x / s / s`` separately and subtracts.

    The forward keeps the two tensors the backward needs (the 0/1 mask and the scale factor above)
    and the backward is three elementwise passes instead of nine: for a 1M-element activation on one
    thread, backward 2.6-3.1 -> 1.5-1.7 ms and forward 1.4-1.7 -> 1.2-1.6 ms; a QAT step of the
    w2a2 ResNet18s about 7 % faster.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, scale: Tensor, zero_point: Tensor, lo: Any, hi: Any) -> Tensor:  # type: ignore[override]
        r = x / scale
        cpu = r.device.type == "cpu"
        if cpu and zero_point.numel() == 1 and float(zero_point) == 0.0:
            c = torch.round(r)  # + 0 changes nothing but the sign of an exact -0.0
            zp = None
        else:
            c = r + zero_point
            c.round_()
            zp = zero_point
        q = torch.clamp(c, float(lo), float(hi)) if cpu else torch.clamp(c, lo, hi)
        inside = torch.eq(q, c, out=c)  # 1.0 where the clamp did not act
        if zp is not None:
            q.sub_(zp)  # the integer value minus the zero point
        saved = [inside]
        if ctx.needs_input_grad[1]:
            saved.append(torch.addcmul(q, inside, r, value=-1, out=r))  # d(out)/d(scale) = q - inside * x / s
        ctx.scale_shape = scale.shape
        ctx.save_for_backward(*saved)
        return q.mul_(scale)  # q is not saved: scale it in place (one allocation fewer)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None, None]:  # type: ignore[override]
        inside, *dq = ctx.saved_tensors
        grad_x = grad * inside if ctx.needs_input_grad[0] else None
        grad_scale = (grad * dq[0]).sum_to_size(ctx.scale_shape) if dq else None
        return grad_x, grad_scale, None, None, None


class FusedIntQuant(IntQuant):
    """``IntQuant`` whose training forward is one :class:`_FakeQuant` autograd node.

    Falls back to Brevitas's own forward whenever the fused node would not be the same
    computation: no gradient needed (eval, ``no_grad``), tracing / export / TorchScript, a gradient
    wanted for the zero point or bit width, or a non-default rounding, clamp, view or delay.
    """

    def forward(self, scale: Tensor, zero_point: Tensor, bit_width: Tensor, x: Tensor) -> Tensor:
        if (
            not torch.is_grad_enabled()
            or not (x.requires_grad or scale.requires_grad)
            or zero_point.requires_grad
            or bit_width.requires_grad
            or torch.jit.is_scripting()
            or torch.jit.is_tracing()
            or torch.onnx.is_in_onnx_export()
            or type(self.float_to_int_impl) is not RoundSte
            or type(self.tensor_clamp_impl) is not TensorClamp
            or type(self.input_view_impl) is not Identity
            or type(self.delay_wrapper.delay_impl) is not _NoDelay
        ):
            return super().forward(scale, zero_point, bit_width, x)
        return _FakeQuant.apply(x, scale, zero_point, *self._bounds(bit_width))

    def _bounds(self, bit_width: Tensor) -> tuple[Any, Any]:
        """The clamp bounds ``min_int``, ``max_int`` at ``bit_width``; on CPU as Python floats, cached
        per bit width (Brevitas computes them with a dozen small tensor ops on every call)."""
        if bit_width.device.type != "cpu":
            return self.min_int(bit_width), self.max_int(bit_width)
        cache: dict[float, tuple[float, float]] = self.__dict__.setdefault("_bounds_cache", {})
        key = float(bit_width)
        if key not in cache:
            cache[key] = (float(self.min_int(bit_width)), float(self.max_int(bit_width)))
        return cache[key]


class IntWeightPerChannel(Int8WeightPerChannelFloat):
    """Conv weights, 2..8 bit (default 8) narrow signed int; per-output-channel float scale = max |w|."""

    int_quant = FusedIntQuant


class IntWeightPerTensor(Int8WeightPerTensorFloat):
    """Classifier (linear) weights, 2..8 bit (default 8) narrow signed int; one float scale = max |w|."""

    int_quant = FusedIntQuant


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


_CHUNK = 256  # elements per chunk of the two-stage top-m search


def _top_abs(x: Tensor, m: int) -> tuple[Tensor, Tensor, Tensor]:
    """The ``m``-th largest ``|x|`` over all of ``x`` and its flat index (``x`` without grad).

    Two stages, exact: split ``|x|`` into chunks of ``_CHUNK`` elements and take each chunk's max
    (one vectorised pass); the ``m`` largest elements lie in the ``m`` chunks with the largest
    maxima (any element above the ``m``-th largest chunk maximum lies in a chunk with a larger
    maximum, and those ``m`` chunks hold ``m`` elements at least that large), so a ``topk`` over
    those ``m * _CHUNK`` candidates (plus the tail that fills no whole chunk) gives the same
    ``m``-th largest value as a ``topk`` / ``kthvalue`` over the whole tensor.

    Returns the value, its flat index and ``|x|`` flattened.
    """
    a = x.reshape(-1).abs()
    n = a.numel()
    rows = n // _CHUNK
    if rows <= m:  # small tensor: the candidates would be (nearly) everything
        values, indices = torch.topk(a, m, sorted=True)
        return values[-1], indices[-1], a
    body = a[: rows * _CHUNK].view(rows, _CHUNK)
    chunks = torch.topk(body.amax(dim=1), m, sorted=False)[1]
    cand = body[chunks].reshape(-1)
    cand_index = (chunks.unsqueeze(1) * _CHUNK + torch.arange(_CHUNK, device=a.device)).reshape(-1)
    if rows * _CHUNK < n:
        cand = torch.cat([cand, a[rows * _CHUNK :]])
        cand_index = torch.cat([cand_index, torch.arange(rows * _CHUNK, n, device=a.device)])
    values, pos = torch.topk(cand, m, sorted=True)
    return values[-1], cand_index[pos[-1]], a


class _TopAbsValue(torch.autograd.Function):
    """The ``m``-th largest ``|x|`` over the whole tensor, with the gradient of Brevitas's
    ``kthvalue(x.abs().view(-1), n - m + 1)``: ``sign(x_i)`` at the one selected element, 0 elsewhere."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, m: int) -> Tensor:  # type: ignore[override]
        flat = x.detach().reshape(-1)
        value, index, a = _top_abs(flat, m)
        if torch.count_nonzero(a == value) > 1:
            # Several elements share the value (common where the input is a sum of quantised
            # tensors): which of them gets the gradient is kthvalue's quickselect's choice, spread
            # over the tensor; topk's choice clusters at the first ones, and trained measurably
            # worse (150-step Fashion-MNIST runs, 4 seeds: 3 points lower top-1 on average).
            value, index = torch.kthvalue(a, a.numel() - m + 1)
        ctx.shape, ctx.index = x.shape, index
        ctx.save_for_backward(torch.sgn(flat[index]))
        return value.clone()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (sign,) = ctx.saved_tensors
        out = grad.new_zeros(ctx.shape.numel())
        out[ctx.index] = grad * sign
        return out.view(ctx.shape), None


@register_stats_implementation(signed=False)
class TopAbsPercentile(AbsPercentile):
    """Brevitas's ``AbsPercentile`` (same value, same gradient) computed with ``topk`` instead of ``kthvalue``.

    The 99.999th percentile of a whole activation tensor is one of its few largest values (the 11th
    largest of 1M elements, the largest below 150k elements). Brevitas finds it with
    ``torch.kthvalue``, a quickselect over a copy of the tensor, which on CPU was a third of a
    training step during the statistics phase (the first ``collect_stats_steps`` = 300 steps).
    :func:`_top_abs` finds the same order statistic from per-chunk maxima and a ``topk`` over a few
    candidate chunks (about 0.3 ms instead of 10-25 ms for a 1M-element tensor on one thread), and
    the backward writes the one non-zero gradient directly instead of scattering into zeros and
    multiplying the whole tensor by ``sign(x)``. Exact, no sampling: the value is the one
    ``kthvalue`` returns and so is the element that receives the gradient -- when several elements
    tie at the value, ``kthvalue`` itself is asked which (that costs Brevitas's time again, for the
    tensors with ties only). Per-channel statistics (``stats_reduce_dim`` set) keep Brevitas's
    implementation.
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.stats_reduce_dim is not None:
            return super().forward(x)
        n = x.numel()
        k = int(math.floor(0.01 * self.q * n + 0.5))  # Brevitas's k (1-indexed, rounded half up)
        return _TopAbsValue.apply(x, n - k + 1)


class UintReluAct(Uint8ActPerTensorFloat):
    """ReLU branch activation ("activation1"), 2..8 bit unsigned int; learned per-tensor float scale.

    The scale is initialised from the 99.999th percentile of the first training batches, then learned
    (percentile by :class:`TopAbsPercentile`, Brevitas's value computed faster).
    """

    scaling_stats_impl = TopAbsPercentile
    int_quant = FusedIntQuant


class IntSignedAct(Int8ActPerTensorFloat):
    """Signed activation: identity / HardTanh before an add ("activation2"), the network input and the
    classifier input; 2..8 bit signed int, learned per-tensor float scale initialised from statistics
    (the 99.999th percentile of ``|x|``, by :class:`TopAbsPercentile`)."""

    scaling_stats_impl = TopAbsPercentile
    int_quant = FusedIntQuant


class HardTanhAct(Int8ActPerTensorFloatMinMaxInit):
    """HardTanh before an add ("activation2"), 2..8 bit signed int; learned per-tensor float scale
    initialised so that the range is [-4, 4] (about four standard deviations of a BatchNorm output)."""

    min_val = -4.0
    max_val = 4.0
    int_quant = FusedIntQuant


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
