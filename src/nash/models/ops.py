"""The NAS-branch operations of a derived NASH network (paper Table I), quantized with Brevitas.

Each op maps the NAS branch input ``nas_in[i]`` (already quantized by the NAS ``branch_act``) to
the size of node ``x_j``. On a size-changing edge (from ``x0`` of a downsample cell) the op halves
the spatial size and doubles the channels:

==============  =======================================  ===========================================
op              normal edge                              size-changing edge
==============  =======================================  ===========================================
zero            no module, no add                        no module, no add
max_pool_3x3    MaxPool 3x3 s1 p1 + BN                   MaxPool 3x3 s2 p1, concat with itself + BN
identity        identity                                 factorized reduction (two 1x1 s2 convs on
                                                         offset grids, concat) + BN
conv_kxk        QuantConv kxk s1 + BN                    QuantConv kxk s2, C -> 2C + BN
==============  =======================================  ===========================================

Conv weights use the NAS weight bits (1 = binary for NASH-v1..v3, 8 for v4).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from brevitas.nn import QuantConv2d
from torch import Tensor, nn

from nash.errors import GenotypeError
from nash.models.layers import ConvBN
from nash.models.quant import weight_quant_kwargs

__all__ = ["NAS_OPS", "create_op", "PoolOp", "FactorizedReduce"]

NAS_OPS: tuple[str, ...] = ("zero", "max_pool_3x3", "identity", "conv_1x1", "conv_3x3", "conv_5x5")


class PoolOp(nn.Module):
    """3x3 max pooling + BN; on a size-changing edge stride 2 and the output concatenated with itself."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        if c_out not in (c_in, 2 * c_in):
            raise GenotypeError(f"max_pool_3x3 maps {c_in} channels to {c_in} or {2 * c_in}, not {c_out}")
        self.duplicate = c_out == 2 * c_in
        self.pool = nn.MaxPool2d(3, stride=stride, padding=1)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C or 2C, H / stride, W / stride)."""
        y = self.pool(x)
        if self.duplicate:
            y = torch.cat([y, y], dim=1)  # both halves carry the same quantized values and scale
        return self.bn(y)


class FactorizedReduce(nn.Module):
    """Identity on a size-changing edge: two quantized 1x1 stride-2 convs on grids offset by one
    pixel, concatenated along channels, + BN."""

    def __init__(self, c_in: int, c_out: int, weight_bits: int) -> None:
        super().__init__()
        half = c_out // 2
        self.conv_a = QuantConv2d(c_in, half, 1, stride=2, bias=False, **weight_quant_kwargs(weight_bits))
        self.conv_b = QuantConv2d(
            c_in, c_out - half, 1, stride=2, bias=False, **weight_quant_kwargs(weight_bits)
        )
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, c_out, ceil(H / 2), ceil(W / 2))."""
        shifted = x[:, :, 1:, 1:]
        pad_w, pad_h = int(x.shape[-1]) % 2, int(x.shape[-2]) % 2  # static ints: no shape ops in export
        if pad_w or pad_h:  # odd size: pad so that both grids give the same output size
            shifted = F.pad(shifted, (0, pad_w, 0, pad_h))
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))


def create_op(name: str, c_in: int, c_out: int, stride: int, weight_bits: int) -> nn.Module | None:
    """Build NAS op ``name`` for one edge; ``zero`` gives ``None`` (the edge adds nothing).

    Args:
        name: an entry of ``NAS_OPS`` (same names and order as ``nash.space.OPS``).
        c_in: channels of the edge input.
        c_out: channels of the destination node (``2 * c_in`` on a size-changing edge).
        stride: 1, or 2 on a size-changing edge.
        weight_bits: NAS weight bits for conv ops and the factorized reduction (1 = binary).

    Raises:
        GenotypeError: unknown op name.
    """
    if name == "zero":
        return None
    if name == "max_pool_3x3":
        return PoolOp(c_in, c_out, stride)
    if name == "identity":
        return nn.Identity() if stride == 1 and c_in == c_out else FactorizedReduce(c_in, c_out, weight_bits)
    if name in ("conv_1x1", "conv_3x3", "conv_5x5"):
        return ConvBN(c_in, c_out, int(name[-1]), stride, weight_bits)
    raise GenotypeError(f"unknown NAS op {name!r}; valid ops: {', '.join(NAS_OPS)}")
