"""Modules of the NAS-branch ops, built from the one op table ``nash.space.OP_TABLE``.

The search supernet (``nash.search.supernet``) and the derived network (``nash.models.cell``)
both call :func:`create_op`; they differ only in the weight quantiser (``weight_bits``: ``None``
for the float supernet, the ``QuantSpec``'s NAS weight bits for the deployed network). Each op maps
its input to the size of the destination node; on a size-changing edge (from ``x0`` of a
downsample cell) it halves the spatial size and doubles the channels:

==============  =======================================  ===========================================
kind            normal edge                              size-changing edge
==============  =======================================  ===========================================
zero            no module, no add                        no module, no add
max_pool (k)    MaxPool kxk s1 + BN                      MaxPool kxk s2, concat with itself + BN
identity        identity                                 factorized reduction (two 1x1 s2 convs on
                                                         offset grids, concat) + BN
conv (k)        Conv kxk s1 + BN                         Conv kxk s2, C -> 2C + BN
==============  =======================================  ===========================================

Conv weights use the NAS weight bits (1 = binary for NASH-v1..v3, 8 for v4).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nash.errors import GenotypeError
from nash.models.layers import ConvBN, conv2d
from nash.space.ops import OP_TABLE, OPS, OpSpec

__all__ = ["NAS_OPS", "OP_BUILDERS", "create_op", "PoolOp", "FactorizedReduce", "exporting"]

NAS_OPS: tuple[str, ...] = OPS  # kept for callers of the old name


def exporting() -> bool:
    """True while the module is traced, scripted or exported to ONNX."""
    return torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export()


class _ChannelsLast(torch.autograd.Function):
    """``x`` in channels-last layout; its gradient goes back in ``x``'s own (contiguous) layout.

    (Autograd would hand back a channels-last gradient, and the convolutions upstream then pick
    other kernels: same math, different rounding.)
    """

    @staticmethod
    def forward(ctx: object, x: Tensor) -> Tensor:  # type: ignore[override]
        return x.contiguous(memory_format=torch.channels_last)

    @staticmethod
    def backward(ctx: object, grad: Tensor) -> Tensor:  # type: ignore[override]
        return grad.contiguous()


def _pool(pool: nn.MaxPool2d, x: Tensor) -> Tensor:
    """``pool(x)``; on CPU computed in channels-last memory layout, input and output gradient contiguous.

    PyTorch's CPU max-pool kernel for channels-last tensors is vectorised over channels and, with
    the layout conversions, forward + backward runs about 2x faster than the NCHW kernel at the
    sizes of the NAS pool ops. Values and gradients are bit-identical (same window order, same
    first-maximum rule for ties, same accumulation order of the input gradient). Export, non-CPU
    devices and non-contiguous inputs use the plain call, so the exported graph is unchanged.
    A network trained in channels-last layout (``nash.models.layout``, all QAT on CPU) hands the
    pool a channels-last input, which the plain call already pools with the fast kernel; the
    conversion here serves NCHW callers (``NASH_CHANNELS_LAST=0``, a model loaded for an export
    check).
    """
    if x.device.type != "cpu" or x.dim() != 4 or not x.is_contiguous() or exporting():
        return pool(x)  # a channels-last input (``nash.models.layout``) takes the fast kernel as it is
    return pool(_ChannelsLast.apply(x)).contiguous()


class PoolOp(nn.Module):
    """kxk max pooling + BN; on a size-changing edge stride 2 and the output concatenated with itself."""

    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int = 3) -> None:
        super().__init__()
        if c_out not in (c_in, 2 * c_in):
            raise GenotypeError(f"max_pool maps {c_in} channels to {c_in} or {2 * c_in}, not {c_out}")
        self.duplicate = c_out == 2 * c_in
        self.pool = nn.MaxPool2d(kernel, stride=stride, padding=kernel // 2)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C or 2C, H / stride, W / stride)."""
        return self.finish(self.pooled(x))

    def pooled(self, x: Tensor) -> Tensor:
        """The max pooling alone: (N, C, H, W) -> (N, C, H / stride, W / stride).

        Two ``PoolOp`` with the same kernel and stride give the same ``pooled`` of one input;
        ``Cell`` computes it once for the edges that share their source node.
        """
        return _pool(self.pool, x)

    def finish(self, y: Tensor) -> Tensor:
        """The rest of the op on ``pooled``'s output: channel duplication on a size-changing edge, BN."""
        if self.duplicate:
            y = torch.cat([y, y], dim=1)  # both halves carry the same quantized values and scale
        return self.bn(y)

    def pool_key(self) -> tuple[object, object, object]:
        """What ``pooled`` depends on besides its input: kernel, stride, padding."""
        return self.pool.kernel_size, self.pool.stride, self.pool.padding


class FactorizedReduce(nn.Module):
    """Identity on a size-changing edge: two 1x1 stride-2 convs on grids offset by one pixel,
    concatenated along channels, + BN (``weight_bits`` None: float convs)."""

    def __init__(self, c_in: int, c_out: int, weight_bits: int | None) -> None:
        super().__init__()
        half = c_out // 2
        self.conv_a = conv2d(c_in, half, 1, 2, weight_bits)
        self.conv_b = conv2d(c_in, c_out - half, 1, 2, weight_bits)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, c_out, ceil(H / 2), ceil(W / 2))."""
        shifted = x[:, :, 1:, 1:]
        pad_w, pad_h = int(x.shape[-1]) % 2, int(x.shape[-2]) % 2  # static ints: no shape ops in export
        if pad_w or pad_h:  # odd size: pad so that both grids give the same output size
            shifted = F.pad(shifted, (0, pad_w, 0, pad_h))
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))


Builder = Callable[[OpSpec, int, int, int, "int | None"], "nn.Module | None"]


def _identity(spec: OpSpec, c_in: int, c_out: int, stride: int, bits: int | None) -> nn.Module:
    return nn.Identity() if stride == 1 and c_in == c_out else FactorizedReduce(c_in, c_out, bits)


# op kind -> builder(spec, c_in, c_out, stride, weight_bits); one entry per kind of nash.space.OP_KINDS
OP_BUILDERS: dict[str, Builder] = {
    "zero": lambda spec, c_in, c_out, stride, bits: None,
    "max_pool": lambda spec, c_in, c_out, stride, bits: PoolOp(c_in, c_out, stride, spec.kernel),
    "identity": _identity,
    "conv": lambda spec, c_in, c_out, stride, bits: ConvBN(c_in, c_out, spec.kernel, stride, bits),
}


def create_op(name: str, c_in: int, c_out: int, stride: int, weight_bits: int | None) -> nn.Module | None:
    """Build NAS op ``name`` for one edge; ``zero`` gives ``None`` (the edge adds nothing).

    Args:
        name: an op of ``nash.space.OP_TABLE``.
        c_in: channels of the edge input.
        c_out: channels of the destination node (``2 * c_in`` on a size-changing edge).
        stride: 1, or 2 on a size-changing edge.
        weight_bits: NAS weight bits of conv ops and the factorized reduction (1 = binary);
            ``None`` builds float convs (the search supernet without a quantised proxy).

    Raises:
        GenotypeError: unknown op name.
    """
    spec = OP_TABLE.get(name)
    if spec is None:
        raise GenotypeError(f"unknown NAS op {name!r}; valid ops: {', '.join(OPS)}")
    return OP_BUILDERS[spec.kind](spec, c_in, c_out, stride, weight_bits)
