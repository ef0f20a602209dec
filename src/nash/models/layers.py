"""Quantized building blocks shared by stems, cells and NAS ops.

* :func:`branch_act` -- "activation1": the quantized ReLU at the input of every branch
  (bipolar sign at 1 bit).
* :class:`QuantAdd` -- "activation2" + addition: both operands go through the *same* quantized
  identity/HardTanh, so the two inputs of every add share one scale (what FINN's ``AddStreams``
  needs, and what keeps the QONNX export of the add well defined).
* :class:`ConvBN` -- a bias-free Brevitas ``QuantConv2d`` followed by ``BatchNorm2d``.
"""

from __future__ import annotations

from brevitas.nn import QuantConv2d, QuantHardTanh, QuantIdentity, QuantReLU
from torch import Tensor, nn

from nash.models.quant import act_quant_kwargs, weight_quant_kwargs

__all__ = ["branch_act", "signed_act", "add_act", "QuantAdd", "ConvBN"]


def branch_act(bits: int) -> nn.Module:
    """Quantized ReLU with ``bits`` bits ("activation1"); 1 bit gives a bipolar sign activation."""
    if bits == 1:
        return QuantIdentity(**act_quant_kwargs(1, "relu"))
    return QuantReLU(**act_quant_kwargs(bits, "relu"))


def signed_act(bits: int) -> nn.Module:
    """Quantized signed identity with ``bits`` bits (network input, classifier input)."""
    return QuantIdentity(**act_quant_kwargs(bits, "identity"))


def add_act(kind: str, bits: int) -> nn.Module:
    """The activation before an addition ("activation2"): quantized ``identity`` or ``hardtanh``."""
    if kind == "hardtanh":
        return QuantHardTanh(**act_quant_kwargs(bits, "hardtanh"))
    return QuantIdentity(**act_quant_kwargs(bits, "identity"))


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


class ConvBN(nn.Module):
    """Bias-free quantized ``k x k`` convolution (``weight_bits``; 1 = binary) + ``BatchNorm2d``.

    Args:
        c_in: input channels.
        c_out: output channels.
        kernel: kernel size (padding ``kernel // 2`` keeps the size at stride 1).
        stride: convolution stride.
        weight_bits: weight bit width, 1..8.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, weight_bits: int) -> None:
        super().__init__()
        self.conv = QuantConv2d(
            c_in,
            c_out,
            kernel,
            stride=stride,
            padding=kernel // 2,
            bias=False,
            **weight_quant_kwargs(weight_bits),
        )
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """(N, c_in, H, W) -> (N, c_out, H / stride, W / stride)."""
        return self.bn(self.conv(x))
