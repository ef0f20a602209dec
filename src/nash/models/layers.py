"""Quantized building blocks shared by stems, cells and NAS ops.

* :func:`branch_act` -- "activation1": the quantized ReLU at the input of every branch
  (bipolar sign at 1 bit).
* :class:`QuantAdd` -- "activation2" + addition: both operands go through the *same* quantized
  identity/HardTanh, so the two inputs of every add share one scale (what FINN's ``AddStreams``
  needs, and what keeps the QONNX export of the add well defined).
* :func:`conv2d` -- a bias-free ``k x k`` convolution: Brevitas ``QuantConv2d`` with ``weight_bits``,
  or a float ``nn.Conv2d`` when ``weight_bits`` is ``None`` (the float search supernet).
* :class:`ConvBN` -- that convolution followed by ``BatchNorm2d``.
"""

from __future__ import annotations

from brevitas.nn import QuantConv2d, QuantHardTanh, QuantIdentity, QuantReLU
from torch import Tensor, nn

from nash.errors import ModelError
from nash.models.quant import act_quant_kwargs, weight_quant_kwargs

__all__ = ["branch_act", "signed_act", "add_act", "QuantAdd", "ConvBN", "conv2d"]


def branch_act(bits: int, relu1: bool = False) -> nn.Module:
    """Quantized ReLU with ``bits`` bits ("activation1"); 1 bit gives a bipolar sign activation.

    ``relu1``: at 1 bit, an unsigned 1-bit ReLU (levels 0 and the scale), as the paper asks of
    activation1 (``ModelOptions.act1_relu``), instead of the bipolar sign.
    """
    if bits == 1 and relu1:
        return QuantReLU(**act_quant_kwargs(1, "relu", bipolar=False))
    if bits == 1:
        return QuantIdentity(**act_quant_kwargs(1, "relu"))
    return QuantReLU(**act_quant_kwargs(bits, "relu"))


def signed_act(bits: int) -> nn.Module:
    """Quantized signed identity with ``bits`` bits (network input, classifier input)."""
    return QuantIdentity(**act_quant_kwargs(bits, "identity"))


def add_act(kind: str, bits: int) -> nn.Module:
    """The activation before an addition ("activation2"): quantized ``identity`` or ``hardtanh``.

    Raises:
        ModelError: ``kind`` is neither (never silently an identity).
    """
    if kind == "hardtanh":
        return QuantHardTanh(**act_quant_kwargs(bits, "hardtanh"))
    if kind == "identity":
        return QuantIdentity(**act_quant_kwargs(bits, "identity"))
    raise ModelError(f"add_act: unknown kind {kind!r}; use identity or hardtanh")


class QuantAdd(nn.Module):
    """Two-input addition whose operands are both requantized by one shared ``add_act``.

    Adds of more than two branches are cascades of ``QuantAdd`` (paper Figure 4b), never one
    multi-input sum.

    Args:
        kind: ``"identity"`` or ``"hardtanh"``.
        bits: bit width of the shared quantizer (1..8).
    """

    def __init__(self, kind: str, bits: int) -> None:
        super().__init__()
        self.kind = kind
        self.bits = bits
        self.quant = add_act(kind, bits)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """(N, C, H, W) + (N, C, H, W) -> (N, C, H, W), both sides quantized with the same scale."""
        return self.quant(a) + self.quant(b)


def conv2d(c_in: int, c_out: int, kernel: int, stride: int, weight_bits: int | None) -> nn.Module:
    """Bias-free ``kernel x kernel`` conv with padding ``kernel // 2``; float when ``weight_bits`` is None."""
    if weight_bits is None:
        return nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False)
    return QuantConv2d(
        c_in,
        c_out,
        kernel,
        stride=stride,
        padding=kernel // 2,
        bias=False,
        **weight_quant_kwargs(weight_bits),
    )


class ConvBN(nn.Module):
    """Bias-free ``k x k`` convolution (``weight_bits``; 1 = binary, None = float) + ``BatchNorm2d``.

    Args:
        c_in: input channels.
        c_out: output channels.
        kernel: kernel size (padding ``kernel // 2`` keeps the size at stride 1).
        stride: convolution stride.
        weight_bits: weight bit width 1..8, or ``None`` for a float ``nn.Conv2d``.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, weight_bits: int | None) -> None:
        super().__init__()
        self.conv = conv2d(c_in, c_out, kernel, stride, weight_bits)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """(N, c_in, H, W) -> (N, c_out, H / stride, W / stride)."""
        return self.bn(self.conv(x))
