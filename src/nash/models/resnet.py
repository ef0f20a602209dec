"""The quantized ResNet (original or NASH-derived): stem, cells, head, and the model interface.

Every model offers ``forward_features(x)`` (stem + cells -> last main-quantized feature map),
``forward_head(feats)`` (global average pool -> 8-bit quant identity -> 8-bit ``QuantLinear``)
and ``forward(x)`` -> logits as a plain ``Tensor``.
"""

from __future__ import annotations

from collections.abc import Sequence

from brevitas.nn import QuantLinear
from torch import Tensor, nn

from nash.errors import ConfigError, GenotypeError, ModelError
from nash.models.cell import Cell
from nash.models.layers import branch_act, conv2d, signed_act
from nash.models.quant import weight_quant_kwargs
from nash.space import STEMS, CellSpec
from nash.space.model_options import ModelOptions
from nash.space.quant import QuantSpec, bits_label

__all__ = ["STEMS", "Stem", "Head", "NashResNet"]


class Stem(nn.Module):
    """Input quantizer + first conv + BN + main ReLU (+ 3x3 s2 max pool for ``"imagenet"``).

    ``"imagenet"``: QuantConv 7x7 stride 2 and MaxPool 3x3 stride 2 (224 -> 56);
    ``"small"``: QuantConv 3x3 stride 1 (32 -> 32). Conv weights use ``first_last_bits``.
    """

    def __init__(
        self, kind: str, in_channels: int, width: int, quant: QuantSpec, options: ModelOptions | None = None
    ) -> None:
        super().__init__()
        if kind not in STEMS:
            raise ModelError(f"unknown stem {kind!r}; use one of {', '.join(STEMS)}")
        opts = options or ModelOptions()
        kernel, stride = (7, 2) if kind == "imagenet" else (3, 1)
        self.input_quant = signed_act(quant.input_bits) if opts.input_quant else nn.Identity()
        self.conv = conv2d(in_channels, width, kernel, stride, quant.first_last_bits)
        self.bn = nn.BatchNorm2d(width)
        self.act = branch_act(quant.main_act_bits, opts.act1_relu)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1) if kind == "imagenet" else nn.Identity()
        self.pool_first = opts.stem_order == "conv-pool-bn-act"  # reference: conv -> pool -> BN -> ReLU

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, width, H / 4 or H, W / 4 or W), main-quantized."""
        y = self.conv(self.input_quant(x))
        if self.pool_first:
            return self.act(self.bn(self.pool(y)))
        return self.pool(self.act(self.bn(y)))


class Head(nn.Module):
    """Global average pool -> quant identity (``first_last_bits``) -> ``QuantLinear`` -> logits.

    ``AdaptiveAvgPool2d(1)`` exports as ``GlobalAveragePool`` for any input size; the quant identity
    after it brings the mean back onto an integer grid for the classifier (FINN lowers the pool to
    ``GlobalAccPool`` + scale).
    """

    def __init__(
        self, channels: int, num_classes: int, quant: QuantSpec, head_bits: int | None = None
    ) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.quant = signed_act(quant.first_last_bits if head_bits is None else head_bits)
        self.fc = QuantLinear(
            channels, num_classes, bias=False, **weight_quant_kwargs(quant.first_last_bits, False)
        )

    def forward(self, feats: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, num_classes)."""
        return self.fc(self.quant(self.pool(feats).flatten(1)))


class NashResNet(nn.Module):
    """A quantized basic-block ResNet whose groups are NASH cells (or original groups).

    Args:
        cells: the backbone's cell specs (``nash.space.cell_specs``).
        quant: bit widths of every role.
        num_classes: classifier outputs.
        nodes: per cell, per node ``(op, predecessor)``; ``None`` = original ResNet.
        in_channels: image channels (1 or 3).
        width: channels of stage 0; stage ``s`` has ``width * 2**s``.
        stem: ``"imagenet"`` or ``"small"``.
        options: structural options (``nash.space.model_options.ModelOptions``; default: ours).
        cell_bits: per cell ``(weight_bits, act_bits)`` of the main branch (``Genotype.bits``);
            cell ``k`` is built with ``quant.for_cell(cell_bits[k])``. ``None``: ``quant`` everywhere.

    Per-cell bits change only a cell's main 3x3 convs and main-branch ReLUs (its inner ones and
    its ``out_act``). A cell's input ``x0`` is the previous cell's ``out_act`` output, so the first
    main conv of cell ``k`` reads activations at cell ``k - 1``'s act bits (cell 0 reads the stem's,
    which, like the head, the residual and NAS branches and every add, follow ``quant``).

    Raises:
        GenotypeError: ``nodes`` does not give one list per cell.
        ModelError: bad sizes, or ``cell_bits`` does not give one valid pair per cell.
    """

    def __init__(
        self,
        cells: Sequence[CellSpec],
        quant: QuantSpec,
        num_classes: int,
        nodes: Sequence[Sequence[tuple[str, int]]] | None = None,
        in_channels: int = 3,
        width: int = 64,
        stem: str = "imagenet",
        options: ModelOptions | None = None,
        cell_bits: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        super().__init__()
        _check_sizes(num_classes, in_channels, width)
        opts = options or ModelOptions()
        self.options = opts
        if nodes is not None and len(nodes) != len(cells):
            raise GenotypeError(
                f"the backbone has {len(cells)} cells but {len(nodes)} were given; give one per cell"
            )
        self.quant_spec = quant
        self.cell_quant = _cell_quant(cells, quant, cell_bits)
        self.cell_bits = (
            None
            if cell_bits is None
            else tuple((q.main_weight_bits, q.main_act_bits) for q in self.cell_quant)
        )
        self.stem = Stem(stem, in_channels, width, quant, opts)
        blocks, c = [], width
        for k, spec in enumerate(cells):
            c_out = 2 * c if spec.downsample else c
            blocks.append(Cell(spec, c, c_out, self.cell_quant[k], None if nodes is None else nodes[k], opts))
            c = c_out
        self.cells = nn.Sequential(*blocks)
        self.head = Head(c, num_classes, quant, opts.head_bits)
        self.num_features = c

    @property
    def bits_label(self) -> str:
        """``quant.tag``, or the per-cell tags joined by ``"|"`` when cells differ from it."""
        return bits_label(self.cell_bits, self.quant_spec.tag)

    def forward_features(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, num_features, H', W'): stem and cells."""
        return self.cells(self.stem(x))

    def forward_head(self, feats: Tensor) -> Tensor:
        """(N, num_features, H', W') -> (N, num_classes) logits."""
        return self.head(feats)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, num_classes) logits (plain tensor)."""
        return self.forward_head(self.forward_features(x))


def _cell_quant(
    cells: Sequence[CellSpec], quant: QuantSpec, cell_bits: Sequence[tuple[int, int]] | None
) -> tuple[QuantSpec, ...]:
    """One ``QuantSpec`` per cell: ``quant`` with that cell's main-branch bits."""
    if cell_bits is None:
        return tuple(quant for _ in cells)
    if isinstance(cell_bits, str) or not isinstance(cell_bits, Sequence) or len(cell_bits) != len(cells):
        n = len(cell_bits) if isinstance(cell_bits, Sequence) else type(cell_bits).__name__
        raise ModelError(
            f"the backbone has {len(cells)} cells but {n} cell bit pairs were given; "
            "give one (weight_bits, act_bits) per cell"
        )
    out = []
    for k, bits in enumerate(cell_bits):
        try:
            out.append(quant.for_cell(tuple(bits) if isinstance(bits, list) else bits))
        except ConfigError as exc:
            raise ModelError(f"cell {k} bits: {exc}") from None
    return tuple(out)


def _check_sizes(num_classes: int, in_channels: int, width: int) -> None:
    for name, value in (("num_classes", num_classes), ("in_channels", in_channels), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelError(f"{name} must be a positive integer, got {value!r}")
    if num_classes < 2:
        raise ModelError(f"num_classes must be at least 2, got {num_classes}")
