"""Per-cell bit-width choice in the supernet (the ``beta`` of the hardware-aware search).

With ``bits_candidates`` of two or more tags, every cell of the supernet quantises its *main*
branch - the backbone 3x3 conv weights and the activations those convs read, which is what
``QuantSpec.main_weight_bits`` / ``main_act_bits`` set in the derived network - at a bit width
chosen per forward pass. The quantisers are light fake-quantisers (straight-through rounding),
not Brevitas: they run thousands of times per search and only have to rank bit widths, the derived
network is then trained with Brevitas at the chosen widths.

* weights: per-output-channel symmetric, ``2^(b-1) - 1`` levels each side (narrow range, as the
  Brevitas weight quantiser of ``nash.models.quant``); 1 bit = ``sign(w) * mean|w|``.
* activations: PACT - ``clamp(x, 0, c)`` (signed ``[-c, c]`` after tanh / no activation) on
  ``2^b - 1`` (signed: ``2^(b-1) - 1``) levels, ``c`` learned per cell; 1 bit = ``{0, c}``
  (signed: ``+-c``).

The choice itself is sampled like an op (``nash.search.mixed_op.sample_paths`` over ``beta``): one
width per cell in the weight step; two in the alpha step, where the cell's output under the other
width is evaluated once without gradient and the binary gates of ``beta`` give
``dL/dbeta_c = sum_j dL/dg_j p_j (delta - p)`` with ``dL/dg_j = <dL/dout_c, out_c(b_j)>``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["quantize_weight", "quantize_act", "BitConv2d", "BitAct"]


def _ste(x: Tensor, q: Tensor) -> Tensor:
    return x + (q - x).detach()


def quantize_weight(w: Tensor, bits: int) -> Tensor:
    """Fake-quantised ``w`` (out-channel first) at ``bits``; straight-through gradient."""
    flat = w.detach().abs().flatten(1)
    shape = (-1,) + (1,) * (w.dim() - 1)
    if bits == 1:
        return _ste(w, torch.sign(w) * flat.mean(dim=1).view(shape))
    levels = 2 ** (bits - 1) - 1
    scale = (flat.amax(dim=1) / levels).clamp_min(1e-8).view(shape)
    return _ste(w, torch.round(w / scale).clamp(-levels, levels) * scale)


def quantize_act(x: Tensor, bits: int, clip: Tensor, signed: bool) -> Tensor:
    """PACT fake quantisation of ``x`` at ``bits`` with the learned clip ``c`` (gradient to ``c``)."""
    c = clip.abs() + 1e-4
    if signed:
        y = torch.minimum(torch.maximum(x, -c), c)
        if bits == 1:
            return _ste(y, torch.where(y >= 0, c, -c))
        levels = 2 ** (bits - 1) - 1
    else:
        y = torch.minimum(F.relu(x), c)
        if bits == 1:
            return _ste(y, torch.where(y >= c / 2, c, torch.zeros_like(y)))
        levels = 2**bits - 1
    step = c / levels
    return _ste(y, torch.round(y / step) * step)


class BitConv2d(nn.Conv2d):
    """Bias-free conv whose weights are fake-quantised at ``self.bits`` (``None``: float)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False)
        self.bits: int | None = None

    def forward(self, x: Tensor) -> Tensor:
        """(N, c_in, H, W) -> (N, c_out, H / stride, W / stride)."""
        w = self.weight if self.bits is None else quantize_weight(self.weight, self.bits)
        return self._conv_forward(x, w, None)


class BitAct(nn.Module):
    """PACT activation quantiser at ``self.bits`` (``None``: identity); one learned clip."""

    def __init__(self, signed: bool) -> None:
        super().__init__()
        self.signed = signed
        self.clip = nn.Parameter(torch.tensor(1.0 if signed else 3.0))
        self.bits: int | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Same shape as ``x``, on the quantisation grid of ``self.bits``."""
        return x if self.bits is None else quantize_act(x, self.bits, self.clip, self.signed)
