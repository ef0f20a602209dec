"""The search supernet: a fixed ResNet backbone plus one single-path mixed op per NAS edge.

Inside a cell with nodes ``x0..xN`` (paper Fig. 2), node ``j`` is the cascade sum

    x_j = act( bn_j(conv_j(x_{j-1})) [+ shortcut(x_{j-2}) at the end of a basic block]
               + sum_{i<j} mixed_op(i, j)(x_i) )

The backbone (stem, 3x3 convs, shortcuts, head) has no architecture parameters. The architecture
parameters ``alpha`` are one (E, K) tensor over every edge of every cell (rows in
``nash.space.cell_edges`` order, columns in ``OPS`` order); ops that are not candidates of an edge
are masked out and never sampled. Which ops run is decided by a :class:`PathPlan` (see
``nash.search.mixed_op`` for the two-path binary-gate gradient).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from nash.models.layers import conv2d
from nash.search.bit_choice import BitAct, BitConv2d
from nash.search.mixed_op import MixedOp, binary_gates, full_gates, sample_paths
from nash.space import OPS, CellSpec, Edge, cell_edges

__all__ = ["PathPlan", "SearchCell", "SignConv2d", "Supernet"]

_OLD_CONV_KEY = re.compile(r"(\.ops\.conv_\d+x\d+\.)([01])\.")


@dataclass(frozen=True)
class PathPlan:
    """Which ops each edge runs in one forward pass.

    Attributes:
        idx: (E, P) long op columns per edge (P = 1 single path, 2 two-path alpha step).
        active: (E,) position in ``idx`` of the op whose output is used.
        gated: build binary gates so the loss has a gradient w.r.t. alpha.
        full: with ``gated``, the gradient reaches every op of the edge (``alpha_grad: full``).
        dense: DARTS baseline: every candidate runs, weighted by ``softmax(alpha)`` (idx ignored).
        bits_idx / bits_active: (C, P) sampled bit-width columns per cell and the active position
            (``None`` when the supernet has no bit-width choice).
    """

    idx: Tensor
    active: Tensor
    gated: bool = False
    dense: bool = False
    full: bool = False  # alpha_grad full: gates over every op of the edge (idx holds one op)
    bits_idx: Tensor | None = None
    bits_active: Tensor | None = None


class SearchCell(nn.Module):
    """A NASH-convolutional cell of the supernet: backbone convs + the mixed ops of its edges."""

    def __init__(
        self,
        spec: CellSpec,
        c_in: int,
        c_out: int,
        candidates: Sequence[tuple[int, ...]],
        backbone_bits: int | None = None,
        nas_bits: int | None = None,
        node_act: str = "relu",
        backbone_sign: bool = False,
        bit_search: bool = False,
    ) -> None:
        super().__init__()
        self.spec = spec
        stride = 2 if spec.downsample else 1
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        for j in range(1, spec.n_layers + 1):
            c_j, s_j = (c_in, stride) if j == 1 else (c_out, 1)
            if bit_search:
                conv: nn.Module = BitConv2d(c_j, c_out, 3, s_j)
            elif backbone_sign:
                conv = SignConv2d(c_j, c_out, 3, s_j)
            else:
                conv = conv2d(c_j, c_out, 3, s_j, backbone_bits)
            self.convs.append(conv)
            self.bns.append(nn.BatchNorm2d(c_out))
        self.shortcut: nn.Module = nn.Identity()
        if spec.downsample or c_in != c_out:  # first block of a downsample cell: 1x1 stride-2 projection
            self.shortcut = nn.Sequential(
                conv2d(c_in, c_out, 1, stride, backbone_bits), nn.BatchNorm2d(c_out)
            )
        self.edges = nn.ModuleList()
        for edge, cand in zip(cell_edges(spec), candidates, strict=True):
            src_c, src_s = (c_in, stride) if edge.src == 0 else (c_out, 1)
            self.edges.append(MixedOp(src_c, c_out, src_s, OPS, cand, nas_bits))
        self.act = {"tanh": nn.Tanh, "none": nn.Identity}.get(node_act, nn.ReLU)()
        # bit-width search: main-branch activations (inputs of convs 2..N and the cell output, which
        # the next cell's first conv reads) quantised at the cell's chosen width
        self.bit_act = BitAct(signed=node_act != "relu") if bit_search else None

    def set_bits(self, bits: tuple[int, int] | None) -> None:
        """Main-branch (weight, activation) bits of the next forward passes (bit-width search only)."""
        if self.bit_act is None:
            return
        for conv in self.convs:
            conv.bits = None if bits is None else bits[0]
        self.bit_act.bits = None if bits is None else bits[1]

    def forward(self, x: Tensor, edge_fn: Callable[[int, MixedOp, Tensor], Tensor | None]) -> Tensor:
        """Run the cell; ``edge_fn(local_edge_index, mixed_op, x_i)`` evaluates one edge."""
        states = [x]
        e = 0
        quant = self.bit_act if self.bit_act is not None else (lambda t: t)
        for j in range(1, self.spec.n_layers + 1):
            main_in = states[0] if j == 1 else quant(states[j - 1])
            y = self.bns[j - 1](self.convs[j - 1](main_in))  # (N, c_out, H', W')
            if j % 2 == 0:  # end of a basic block: add the block input
                y = y + (self.shortcut(states[0]) if j == 2 else quant(states[j - 2]))
            for i in range(j):  # cascade of NAS branches into node j
                out = edge_fn(e, self.edges[e], states[i])
                y = y if out is None else y + out
                e += 1
            states.append(self.act(y))
        return quant(states[-1])


class Supernet(nn.Module):
    """Backbone + mixed ops + architecture parameters ``alpha`` (E, K) for single-path search.

    Args:
        cells: the backbone's cells (``nash.space.cell_specs``).
        candidates: ``candidates(edge) -> op names`` (e.g. ``Strategy.candidates``).
        num_classes: classifier outputs; in_channels: image channels.
        width: channels of stage 0 (stage s has ``width * 2**s``).
        stem: ``"small"`` (3x3 s1), ``"imagenet"`` (7x7 s2 + 3x3 s2 max pool) or
            ``"imagenet-nopool"`` (7x7 s2; the reference ResNet18 search, whose head
            ``AvgPool(2, stride 1)`` on the 2x2 last map of a 32x32 input is the global average used here).
        backbone_bits / nas_bits: quantised-proxy weight bits (``None``: full precision).
        node_act: activation after every cascade sum: ``relu``, ``tanh`` (reference V1/V3/V4) or
            ``none`` (reference V2).
        backbone_sign: backbone 3x3 convs binarise weights and inputs by sign (reference V2).
    """

    def __init__(
        self,
        cells: Sequence[CellSpec],
        candidates: Callable[[Edge], Sequence[str]],
        num_classes: int,
        in_channels: int = 3,
        width: int = 16,
        stem: str = "small",
        backbone_bits: int | None = None,
        nas_bits: int | None = None,
        node_act: str = "relu",
        backbone_sign: bool = False,
        bit_choices: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        super().__init__()
        # two or more main-branch bit widths: each cell chooses one (beta); one or none: no choice
        self.bit_choices = tuple(tuple(b) for b in bit_choices or ())
        bit_search = len(self.bit_choices) > 1
        self.stem = _stem(stem, in_channels, width)
        rows: list[tuple[int, ...]] = []
        self.cells = nn.ModuleList()
        c_prev = width
        for spec in cells:
            c_out = width * 2**spec.stage
            cand = [tuple(OPS.index(n) for n in candidates(edge)) for edge in cell_edges(spec)]
            self.cells.append(
                SearchCell(
                    spec, c_prev, c_out, cand, backbone_bits, nas_bits, node_act, backbone_sign, bit_search
                )
            )
            rows.extend(cand)
            c_prev = c_out
        mask = torch.zeros(len(rows), len(OPS), dtype=torch.bool)
        for r, cand in enumerate(rows):
            mask[r, list(cand)] = True
        self.register_buffer("mask", mask)
        self.alpha = nn.Parameter(1e-3 * torch.randn(len(rows), len(OPS)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_prev, num_classes)
        self.offsets = [0]
        for cell in self.cells:
            self.offsets.append(self.offsets[-1] + len(cell.edges))
        self.beta: nn.Parameter | None = None
        if bit_search:  # uniform start; created last and without random numbers (plain search unchanged)
            self.beta = nn.Parameter(torch.zeros(len(self.cells), len(self.bit_choices)))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        # Searches checkpointed before the op table was shared named a conv op's layers "0"/"1"
        # (nn.Sequential); they are "conv"/"bn" now (ConvBN, as in the derived network).
        for key in [k for k in state_dict if _OLD_CONV_KEY.search(k)]:
            state_dict[_OLD_CONV_KEY.sub(lambda m: m[1] + ("conv." if m[2] == "0" else "bn."), key)] = (
                state_dict.pop(key)
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter except ``alpha`` and ``beta`` (what the weight step trains)."""
        return [p for name, p in self.named_parameters() if name not in ("alpha", "beta")]

    def arch_parameters(self) -> list[nn.Parameter]:
        """``alpha`` and, with a bit-width choice, ``beta`` (what the alpha step trains)."""
        return [self.alpha] if self.beta is None else [self.alpha, self.beta]

    def bit_probabilities(self) -> Tensor | None:
        """(C, B) ``softmax(beta)`` per cell, or ``None`` without a bit-width choice."""
        return None if self.beta is None else torch.softmax(self.beta, dim=-1)

    def derived_bits(self) -> tuple[tuple[int, int], ...] | None:
        """Per cell the most likely (weight, activation) bits; the single candidate when there is one."""
        if self.beta is None:
            return (self.bit_choices[0],) * len(self.cells) if self.bit_choices else None
        return tuple(self.bit_choices[int(k)] for k in self.beta.detach().argmax(dim=-1).tolist())

    def probabilities(self) -> Tensor:
        """(E, K) ``softmax(alpha)`` over each edge's candidates; 0 for masked ops."""
        return torch.softmax(self.alpha.masked_fill(~self.mask, float("-inf")), dim=-1)

    def alphas_per_cell(self) -> list[list[list[float]]]:
        """Candidate probabilities as ``[cell][edge][op]`` lists (``Strategy.derive(..., probabilities=True)``)."""
        probs = self.probabilities().detach().cpu().tolist()
        return [probs[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def sample(
        self, n_paths: int, generator: torch.Generator | None = None, gated: bool = False, full: bool = False
    ) -> PathPlan:
        """Sample ``n_paths`` ops per edge from ``softmax(alpha)`` (masked ops never).

        ``full``: one op per edge whose gate gradient covers every op (``alpha_grad: full``).
        """
        idx, active = sample_paths(self.alpha, self.mask, 1 if full else n_paths, generator)
        bits_idx = bits_active = None
        if self.beta is not None:  # sampled after the ops: a search without it draws the same numbers
            every = torch.ones_like(self.beta, dtype=torch.bool)
            bits_idx, bits_active = sample_paths(self.beta, every, n_paths if gated else 1, generator)
        return PathPlan(idx, active, gated=gated, full=full, bits_idx=bits_idx, bits_active=bits_active)

    def argmax_plan(self) -> PathPlan:
        """The most likely op of every edge (deterministic; for evaluation)."""
        idx = self.probabilities().detach().argmax(dim=-1, keepdim=True).cpu()
        bits_idx = bits_active = None
        if self.beta is not None:
            bits_idx = self.beta.detach().argmax(dim=-1, keepdim=True).cpu()
            bits_active = torch.zeros(bits_idx.shape[0], dtype=torch.long)
        zeros = torch.zeros(idx.shape[0], dtype=torch.long)
        return PathPlan(idx, zeros, bits_idx=bits_idx, bits_active=bits_active)

    def dense_plan(self) -> PathPlan:
        """DARTS all-paths plan (baseline for benchmarks)."""
        return PathPlan(torch.empty(0, 1, dtype=torch.long), torch.empty(0, dtype=torch.long), dense=True)

    def forward_features(self, x: Tensor, plan: PathPlan | None = None) -> Tensor:
        """(N, C, H, W) images -> (N, C_last) pooled features under ``plan`` (default: argmax)."""
        plan = self.argmax_plan() if plan is None else plan
        x = self.stem(x)
        edge_fn = self._edge_fn(plan)
        if self.beta is not None and plan.bits_idx is None:  # dense plan: the most likely widths
            best = self.argmax_plan()
            plan = replace(plan, bits_idx=best.bits_idx, bits_active=best.bits_active)
        for c, cell in enumerate(self.cells):
            base = self.offsets[c]
            fn = lambda e, op, h, base=base: edge_fn(base + e, op, h)  # noqa: E731
            if self.beta is None or plan.bits_idx is None:
                x = cell(x, fn)
            else:
                x = self._cell_with_bits(c, cell, x, fn, plan)
        return self.pool(x).flatten(1)

    def _cell_with_bits(self, c: int, cell: SearchCell, x: Tensor, fn: Callable, plan: PathPlan) -> Tensor:
        """Cell ``c`` at its sampled width; in a gated pass also the beta gate term of the other width."""
        cols = plan.bits_idx[c].tolist()
        act = int(plan.bits_active[c])
        cell.set_bits(self.bit_choices[cols[act]])
        out = cell(x, fn)
        if not plan.gated or len(set(cols)) == 1:
            return out
        gates = binary_gates(self.beta[c : c + 1], plan.bits_idx[c : c + 1], plan.bits_active[c : c + 1])[0]
        plain = self._edge_fn(replace(plan, gated=False, full=False))  # same ops, no gate terms
        base = self.offsets[c]
        result = out
        for pos, col in enumerate(cols):
            if pos == act:
                value = out.detach()
            else:  # the other width: its value only feeds dL/dg (no activations kept)
                cell.set_bits(self.bit_choices[col])
                with torch.no_grad():
                    value = cell(x.detach(), lambda e, op, h, base=base: plain(base + e, op, h)).detach()
                cell.set_bits(self.bit_choices[cols[act]])
            result = result + (gates[pos] - gates[pos].detach()) * value
        return result

    def forward_head(self, feats: Tensor) -> Tensor:
        """(N, C_last) -> (N, num_classes) logits."""
        return self.fc(feats)

    def forward(self, x: Tensor, plan: PathPlan | None = None) -> Tensor:
        """Logits of the sampled sub-network ``plan`` (default: argmax ops)."""
        return self.forward_head(self.forward_features(x, plan))

    def _edge_fn(self, plan: PathPlan) -> Callable[[int, MixedOp, Tensor], Tensor | None]:
        if plan.dense:
            weights = self.probabilities()  # (E, K)
            return lambda e, op, h: op.forward_all(h, weights[e])
        idx = plan.idx.tolist()
        active = plan.active.tolist()
        if plan.gated and plan.full:
            full = full_gates(self.alpha, self.mask, plan.idx)
            return lambda e, op, h: op.forward_full(h, idx[e][0], full[e])
        gates = binary_gates(self.alpha, plan.idx, plan.active) if plan.gated else None
        return lambda e, op, h: op(h, tuple(idx[e]), active[e], None if gates is None else gates[e])


class _SignWeight(torch.autograd.Function):
    """sign(w) forward, straight-through (identity) gradient."""

    @staticmethod
    def forward(ctx: Any, w: Tensor) -> Tensor:
        return torch.sign(w)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad


class _SignAct(torch.autograd.Function):
    """sign(x) forward; backward the piecewise-quadratic approximation 2 - 2|x| on [-1, 1) (Bi-Real)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        inside = (x >= -1.0) & (x < 1.0)
        return torch.where(inside, grad * (2.0 - 2.0 * x.abs()), torch.zeros_like(grad))


class SignConv2d(nn.Conv2d):
    """Bias-free conv whose weights (sign x mean |w|) and inputs (sign) are binarised, as the
    reference V2 search backbone; gradients pass straight through / through the Bi-Real estimate."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """(N, c_in, H, W) -> (N, c_out, H / stride, W / stride) on binarised inputs and weights."""
        w = _SignWeight.apply(self.weight) * self.weight.abs().mean().detach()
        return self._conv_forward(_SignAct.apply(x), w, None)


def _stem(kind: str, in_channels: int, width: int) -> nn.Sequential:
    if kind == "small":
        return nn.Sequential(
            nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
    if kind == "imagenet":
        return nn.Sequential(
            nn.Conv2d(in_channels, width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        )
    if kind == "imagenet-nopool":  # the reference ResNet18 search stem: 32x32 -> 16x16 at stage 0
        return nn.Sequential(
            nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
    raise ValueError(f"unknown stem {kind!r}; use 'small', 'imagenet' or 'imagenet-nopool'")
