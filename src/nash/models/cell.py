"""One NASH-convolutional cell: a group of backbone basic blocks plus the chosen NAS edges.

For nodes ``x0..xN`` (``x0`` = cell input, already quantized by the previous main ReLU), layer
``j = 1..N`` computes (paper Figures 2c, 3, 4b)::

    main_in = x0 if j == 1 else main_act_j(x_{j-1})          # activation1, main bits
    y = BN(QuantConv3x3(main_in))                             # stride 2, C -> 2C on layer 1 of a
                                                              # downsample cell
    if j is even:  y = add(y, shortcut(main_in of layer j-1)) # end of a basic block
    if op_j != zero: y = add(y, op_j(nas_act_i(x_i)))         # NAS edge i -> j, cascaded
    x_j = y

and the cell returns ``main_act_out(x_N)``. Every ``add`` is a :class:`QuantAdd` (activation2 on
both operands). The downsample shortcut is ReLU(residual act bits) -> QuantConv1x1 s2 -> BN.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from nash.errors import GenotypeError
from nash.models.layers import ConvBN, QuantAdd, branch_act
from nash.models.ops import PoolOp, create_op, exporting
from nash.space import CellSpec
from nash.space.model_options import ModelOptions
from nash.space.quant import QuantSpec

__all__ = ["Cell"]


class Cell(nn.Module):
    """A NASH cell (``nodes`` given) or an original ResNet group (``nodes`` None).

    Args:
        spec: the cell's ``CellSpec`` (layers, downsample).
        c_in: channels of ``x0``.
        c_out: channels of ``x1..xN`` (``2 * c_in`` when ``spec.downsample``).
        quant: bit widths of every role.
        nodes: per node ``j = 1..N``: ``(op, predecessor)``; ``None`` builds the original group.
        options: structural options (shortcut of cell 0, shortcut ReLU, x0 NAS ReLU, shared quantisers).
    """

    share_pools: bool = True  # one pooling per (source node, pool) for the max-pool edges; see _branch

    def __init__(
        self,
        spec: CellSpec,
        c_in: int,
        c_out: int,
        quant: QuantSpec,
        nodes: Sequence[tuple[str, int]] | None = None,
        options: ModelOptions | None = None,
    ) -> None:
        super().__init__()
        self.n_layers = spec.n_layers
        self.downsample = spec.downsample
        self.nodes = tuple((str(op), int(i)) for op, i in nodes) if nodes is not None else ()
        q = quant
        opts = self.options = options or ModelOptions()
        stride = 2 if spec.downsample else 1
        shared_main = branch_act(q.main_act_bits, opts.act1_relu) if opts.shared_quant else None
        self._shared_add = QuantAdd(q.add_act, q.add_act_bits) if opts.shared_quant else None
        self.main_acts = nn.ModuleDict(
            {
                str(j): shared_main or branch_act(q.main_act_bits, opts.act1_relu)
                for j in range(2, self.n_layers + 1)
            }
        )
        self.main_convs = nn.ModuleList(
            ConvBN(c_in if j == 1 else c_out, c_out, 3, stride if j == 1 else 1, q.main_weight_bits)
            for j in range(1, self.n_layers + 1)
        )
        self.res_adds = nn.ModuleDict({str(j): self._add(q) for j in range(2, self.n_layers + 1, 2)})
        self.shortcut = None
        first_of_net = spec.index == 0 and opts.stage0_shortcut  # row 6: 1x1 conv shortcut at stride 1
        if spec.downsample or first_of_net:
            pre = branch_act(q.residual_act_bits, opts.act1_relu) if opts.shortcut_act else nn.Identity()
            self.shortcut = nn.Sequential(pre, ConvBN(c_in, c_out, 1, stride, q.residual_weight_bits))
        self._build_nas(spec, c_in, c_out, q)
        self.out_act = shared_main or branch_act(q.main_act_bits, opts.act1_relu)

    def _add(self, q: QuantSpec) -> QuantAdd:
        return self._shared_add or QuantAdd(q.add_act, q.add_act_bits)

    def _build_nas(self, spec: CellSpec, c_in: int, c_out: int, q: QuantSpec) -> None:
        """One op + one QuantAdd per non-zero node, one NAS activation per used source node."""
        if self.nodes and len(self.nodes) != self.n_layers:
            raise GenotypeError(
                f"cell {spec.index} has {self.n_layers} nodes but the genotype gives {len(self.nodes)}; "
                "give one (op, predecessor) per node"
            )
        self.nas_ops = nn.ModuleDict()
        self.nas_adds = nn.ModuleDict()
        self.nas_acts = nn.ModuleDict()
        opts = self.options
        shared_nas = branch_act(q.nas_act_bits, opts.act1_relu) if opts.shared_quant else None
        for j, (op, i) in enumerate(self.nodes, start=1):
            sizing = spec.downsample and i == 0
            module = create_op(op, c_in if sizing else c_out, c_out, 2 if sizing else 1, q.nas_weight_bits)
            if module is None:  # zero op: no branch, no add
                continue
            self.nas_ops[str(j)] = module
            self.nas_adds[str(j)] = self._add(q)
            if i == 0 and not opts.x0_nas_act:  # reference: x0 is read as the previous cell left it
                self.nas_acts["0"] = nn.Identity()
            elif str(i) not in self.nas_acts:  # one NAS activation per source node, shared by its edges
                self.nas_acts[str(i)] = shared_nas or branch_act(q.nas_act_bits, opts.act1_relu)

    def forward(self, x0: Tensor) -> Tensor:
        """(N, c_in, H, W) main-quantized -> (N, c_out, H / stride, W / stride) main-quantized."""
        xs = [x0]  # raw node values x_0..x_j
        main_ins: list[Tensor] = []  # main_ins[j-1] = main-branch input of layer j
        nas_in: dict[int, Tensor] = {}
        pooled: dict[tuple[object, ...], Tensor] = {}  # see _branch
        for j in range(1, self.n_layers + 1):
            main_in = x0 if j == 1 else self.main_acts[str(j)](xs[j - 1])
            main_ins.append(main_in)
            y = self.main_convs[j - 1](main_in)
            if j % 2 == 0:
                block_in = main_ins[j - 2]
                short = self.shortcut(block_in) if self.shortcut is not None and j == 2 else block_in
                y = self.res_adds[str(j)](y, short)
            if str(j) in self.nas_ops:
                i = self.nodes[j - 1][1]
                if i not in nas_in:
                    nas_in[i] = self.nas_acts[str(i)](xs[i])
                y = self.nas_adds[str(j)](y, self._branch(j, i, nas_in[i], pooled))
            xs.append(y)
        return self.out_act(xs[-1])

    def _branch(self, j: int, i: int, x: Tensor, pooled: dict[tuple[object, ...], Tensor]) -> Tensor:
        """Output of the NAS op of node ``j`` on ``x`` (= ``nas_act_i(x_i)``).

        Max-pool edges that read the same source node with the same pool compute one pooling
        (``pooled`` caches it for the cell's forward); each keeps its own BN. NASH-v3's ResNet18 has
        9 max-pool edges but 6 distinct poolings. The values are the same as pooling per edge;
        in the backward pass the gradients of those edges are summed before the pool's backward
        rather than after, which rounds differently. ``share_pools = False``, or an export (which
        keeps one MaxPool node per edge, as the hardware has), pools per edge.
        """
        op = self.nas_ops[str(j)]
        if not (self.share_pools and isinstance(op, PoolOp)) or exporting():
            return op(x)
        key = (i, *op.pool_key())
        if key not in pooled:
            pooled[key] = op.pooled(x)
        return op.finish(pooled[key])

    def extra_repr(self) -> str:
        """Layers, downsample flag and the NAS nodes (shown by ``print(model)``)."""
        return f"n_layers={self.n_layers}, downsample={self.downsample}, nodes={list(self.nodes)}"
