"""The single-path mixed op of a NAS edge and the binary-gate estimator (ProxylessNAS).

One edge of the supernet holds one module per candidate op (built from the one op table by
``nash.models.ops.create_op``, as the derived network's ops are) but runs only the sampled one(s):

* weight step: one op per edge is sampled from ``softmax(alpha)`` over the edge's candidates and
  only that op runs (memory of one path).
* alpha step: two distinct ops are sampled (ProxylessNAS two-path trick), the gate probabilities
  are renormalised over the pair, and one of the pair is made active. The edge output is
  ``o_act + sum_k (g_k - sg(g_k)) * sg(o_k)``: its value is the active op's output, its gradient
  w.r.t. the gate ``g_k`` is ``<dL/dout, o_k>``, and ``g = onehot + p - sg(p)`` turns that into the
  binary-gate gradient ``dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i)`` by plain autograd.
* ``alpha_grad: full`` (the reference code's estimator): one op is sampled per edge from the
  full softmax and made active; every other candidate's output is evaluated as well, once, in
  the backward pass (no grad, float convs batched into one convolution, nothing kept from the
  forward) so that ``dL/dalpha_i`` sums over *all* ops of the edge, with the unrenormalised
  probabilities (:meth:`MixedOp.forward_full`, :func:`full_gates`).
* ``all`` mode is the DARTS mixed op (softmax-weighted sum of every candidate), kept as the
  memory/speed baseline of ``bench/search_bench.py``.

The zero op is never executed: its output is 0, so it adds nothing and its gate gradient is 0.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nash.models.layers import ConvBN
from nash.models.ops import create_op

__all__ = ["MixedOp", "sample_paths", "binary_gates", "full_gates"]


class MixedOp(nn.Module):
    """One NAS edge: a module per candidate op; runs only the op(s) the caller sampled.

    Args:
        c_in, c_out, stride: edge geometry.
        ops: names of all ops (column order of alpha, ``nash.space.OPS``).
        candidates: column indices of the ops searchable on this edge.
        weight_bits: quantised-proxy weight bit width of the conv ops (``None``: full precision).

    ``zero`` has no module (it is never run); the others are those of the derived network.
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        stride: int,
        ops: tuple[str, ...],
        candidates: tuple[int, ...],
        weight_bits: int | None = None,
    ) -> None:
        super().__init__()
        self.names = tuple(ops)
        self.candidates = tuple(candidates)
        self.c_out, self.stride = c_out, stride
        built = {ops[k]: create_op(ops[k], c_in, c_out, stride, weight_bits) for k in candidates}
        self.ops = nn.ModuleDict({name: m for name, m in built.items() if m is not None})

    def _out_shape(self, x: Tensor) -> tuple[int, int, int, int]:
        """(N, c_out, H', W') of the edge output for input ``x``."""
        n, _, h, w = x.shape
        return (n, self.c_out, -(-h // self.stride), -(-w // self.stride))

    def _run(self, k: int, x: Tensor) -> Tensor | None:
        name = self.names[k]
        return None if name == "zero" else self.ops[name](x)

    def forward(
        self, x: Tensor, idx: tuple[int, ...], active: int, gates: Tensor | None = None
    ) -> Tensor | None:
        """Edge output, or ``None`` when it is identically zero (caller skips the add).

        Args:
            x: edge input (N, C, H, W).
            idx: sampled op columns (one for a weight step, two for an alpha step).
            active: position in ``idx`` of the op whose value is returned.
            gates: (len(idx),) binary gates from :func:`binary_gates`; ``None`` = no alpha gradient.
        """
        out = self._run(idx[active], x)
        if gates is None or len(set(idx)) == 1:
            return out
        live = tuple(pos for pos, k in enumerate(idx) if self.names[k] != "zero")  # o_k = 0: no gradient
        if out is None:  # the active op is zero: a zero-valued term carries the other gates' gradient
            cols = tuple(idx[p] for p in live)
            return _GateProbe.apply(gates[list(live)], x, self, cols, self._out_shape(x))
        return _PairGate.apply(out, gates, x, self, tuple(idx), active, live)

    def forward_full(self, x: Tensor, k: int, gates: Tensor) -> Tensor | None:
        """Edge output for ``alpha_grad: full``: the value of op ``k``, gate gradients of every op.

        ``gates`` is the (K,) row of :func:`full_gates` (value ``onehot(k)``, gradient of the full
        softmax), so autograd gives ``dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i)`` over all
        candidates. Op ``k``'s output is computed once and reused for its own gate; the other
        candidates run once each, under ``no_grad`` and only in the backward pass
        (:class:`_GateProbe`: their outputs are needed only as ``dL/dg_j = <dL/dout, o_j>``, so
        nothing of theirs is kept between forward and backward), with the float convolutions of the
        edge run as one convolution (kernels zero-padded to the largest).
        """
        out = self._run(k, x)
        others = [j for j in self.candidates if j != k and self.names[j] != "zero"]
        if not others:
            return out
        probe = _GateProbe.apply(gates[others], x, self, tuple(others), self._out_shape(x))  # value 0
        if out is not None:
            probe = probe + (gates[k] - gates[k].detach()) * out.detach()
        return probe if out is None else out + probe

    def _run_many(self, cols: list[int], x: Tensor) -> dict[int, Tensor]:
        """Outputs of ops ``cols`` on ``x`` (no grad); float ConvBN ops share one convolution."""
        outputs: dict[int, Tensor] = {}
        fused = []
        for j in cols:
            m = self.ops[self.names[j]]
            if isinstance(m, ConvBN) and type(m.conv) is nn.Conv2d:
                fused.append((j, m))
            else:
                outputs[j] = self._run(j, x).detach()  # detach: identity returns x itself
        if len(fused) == 1:
            j, m = fused[0]
            outputs[j] = m(x)
        elif fused:
            k_max = max(m.conv.kernel_size[0] for _, m in fused)
            weights = []
            for _, m in fused:
                pad = (k_max - m.conv.kernel_size[0]) // 2
                weights.append(F.pad(m.conv.weight, (pad, pad, pad, pad)))
            conv = fused[0][1].conv
            y = F.conv2d(x, torch.cat(weights), stride=conv.stride, padding=k_max // 2)
            start = 0
            for j, m in fused:
                c = m.conv.out_channels
                outputs[j] = m.bn(y[:, start : start + c])
                start += c
        return outputs

    def forward_all(self, x: Tensor, weights: Tensor) -> Tensor | None:
        """DARTS mixed op: ``sum_k weights[k] * o_k`` over every candidate (weights: (n_ops,))."""
        out = None
        for k in self.candidates:
            o_k = self._run(k, x)
            if o_k is not None:
                out = weights[k] * o_k if out is None else out + weights[k] * o_k
        return out


class _PairGate(torch.autograd.Function):
    """The two-path edge output: the active op's output ``out`` itself (no copy, no zero-valued
    terms in the forward), with ``dL/dg_k = <dL/dout, o_k>`` for every sampled op ``k`` in ``live``.

    ``o_active`` is ``out``; the inactive op runs once in the backward pass (no grad, nothing kept
    between forward and backward), as :class:`_GateProbe` does for ``alpha_grad: full``. The same
    gradient as ``out + sum_k (g_k - sg(g_k)) * sg(o_k)`` with four fewer full-size passes per edge
    in the forward and the inactive output not held until backward.
    """

    @staticmethod
    def forward(
        ctx: Any, out: Tensor, gates: Tensor, x: Tensor, op: MixedOp, idx: tuple, active: int, live: tuple
    ) -> Tensor:
        ctx.save_for_backward(out, x)
        ctx.op, ctx.idx, ctx.active, ctx.live, ctx.n = op, idx, active, live, gates.shape[0]
        return out.view_as(out)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        out, x = ctx.saved_tensors
        grads = grad_out.new_zeros(ctx.n)
        with torch.no_grad():
            for pos in ctx.live:
                o_k = out if pos == ctx.active else ctx.op._run(ctx.idx[pos], x.detach())
                grads[pos] = (grad_out * o_k).sum()
        return grad_out, grads, None, None, None, None, None


class _GateProbe(torch.autograd.Function):
    """Zero-valued edge term whose gradient w.r.t. the gates ``g_j`` of ops ``cols`` is
    ``<dL/dout, o_j(x)>``; the ``o_j`` are computed in backward (no grad), so the forward keeps
    no op output alive (the edge input ``x`` is saved, which its producer keeps anyway)."""

    @staticmethod
    def forward(
        ctx: Any, gates: Tensor, x: Tensor, op: MixedOp, cols: tuple[int, ...], shape: tuple
    ) -> Tensor:
        ctx.save_for_backward(x)
        ctx.op, ctx.cols = op, cols
        return x.new_zeros(shape)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        (x,) = ctx.saved_tensors
        with torch.no_grad():
            values = ctx.op._run_many(list(ctx.cols), x.detach())
            grads = torch.stack([(grad_out * values[j]).sum() for j in ctx.cols])
        return grads.to(grad_out.dtype), None, None, None, None


def sample_paths(
    logits: Tensor, mask: Tensor, n_paths: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Sample ``n_paths`` distinct candidate ops per edge and the active one among them.

    Args:
        logits: (E, K) alpha rows (any device; sampled on CPU so a CPU generator serves every device).
        mask: (E, K) bool, True where the op is a candidate of the edge.
        n_paths: 1 (weight step) or 2 (alpha step, ProxylessNAS two-path).
        generator: CPU ``torch.Generator`` (the search saves its state for exact resume).

    Returns:
        idx (E, n_paths) long op columns (an edge with fewer candidates repeats its op) and
        active (E,) long position in ``idx`` of the active op. Both on CPU.
    """
    probs = torch.softmax(logits.detach().float().cpu().masked_fill(~mask.cpu(), float("-inf")), dim=-1)
    n_cand = mask.cpu().sum(dim=-1)
    idx = torch.empty(probs.shape[0], n_paths, dtype=torch.long)
    multi = n_cand >= n_paths
    if multi.any():
        idx[multi] = torch.multinomial(probs[multi], n_paths, replacement=False, generator=generator)
    if (~multi).any():  # too few candidates: repeat the most likely (with one candidate, that one)
        idx[~multi] = probs[~multi].argmax(dim=-1, keepdim=True).expand(-1, n_paths)
    pair = probs.gather(1, idx)
    active = torch.multinomial(pair / pair.sum(dim=-1, keepdim=True), 1, generator=generator).squeeze(1)
    return idx, active


def binary_gates(logits: Tensor, idx: Tensor, active: Tensor) -> Tensor:
    """Binary gates of the sampled ops whose gradient is the ProxylessNAS estimator.

    ``p = softmax(logits[e, idx[e]])`` is renormalised over the sampled ops; the result has the
    value of ``onehot(active)`` and the gradient of ``p``, so for any loss
    ``dL/dalpha_i = sum_j dL/dg_j * p_j * (delta_ij - p_i)``.

    Args:
        logits: (E, K) alpha rows (requires grad for an alpha step).
        idx: (E, P) sampled op columns; active: (E,) active position in ``idx``.

    Returns:
        (E, P) gates on the device of ``logits``.
    """
    idx = idx.to(logits.device)
    p = torch.softmax(logits.gather(1, idx), dim=-1)  # (E, P)
    onehot = F.one_hot(active.to(logits.device), idx.shape[1]).to(p.dtype)
    return onehot + (p - p.detach())


def full_gates(logits: Tensor, mask: Tensor, idx: Tensor) -> Tensor:
    """Gates over *every* op of each edge for ``alpha_grad: full`` (the reference estimator).

    ``p = softmax(logits)`` over the edge's candidates (masked ops: probability 0); the result has
    the value of ``onehot(idx)`` and the gradient of ``p``, so for any loss
    ``dL/dalpha_i = sum_j dL/dg_j * p_j * (delta_ij - p_i)`` over all candidates ``i, j``.

    Args:
        logits: (E, K) alpha rows; mask: (E, K) candidate mask; idx: (E,) or (E, 1) sampled op.

    Returns:
        (E, K) gates on the device of ``logits``.
    """
    idx = idx.reshape(-1).to(logits.device)
    p = torch.softmax(logits.masked_fill(~mask.to(logits.device), float("-inf")), dim=-1)
    onehot = F.one_hot(idx, logits.shape[1]).to(p.dtype)
    return onehot + (p - p.detach())
