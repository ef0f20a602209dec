"""Benchmark: single-path search step vs an all-paths (DARTS-style) mixed op on the same supernet.

Measures, for ResNet18 / strategy v3 / width 16 / ImageNet stem / 32x32 RGB / batch 64:

* wall-clock and process CPU time of one full search step (alpha step + weight step) and
  images/s (both batches counted); CPU time is the fairer number on a shared, busy machine;
* peak activation memory of a step: the bytes autograd saves for backward during the forward
  pass, counted with ``torch.autograd.graph.saved_tensors_hooks`` (each storage once, parameters
  excluded); the larger of the alpha-step and weight-step forward is reported.

Run: ``.venv/bin/python bench/search_bench.py [--threads 2] [--steps 10] [--width 16]``.
Random inputs are used (the step cost does not depend on pixel values).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from nash.allocator import tune_allocator
from nash.models.layout import training_layout
from nash.search.architect import Architect, WeightTrainer
from nash.search.supernet import PathPlan, Supernet
from nash.space import cell_specs, get_strategy


class SavedBytes:
    """Context manager summing the bytes of tensors autograd saves (unique storages, no parameters)."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude, self.seen, self.total = exclude, set(), 0

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in self.exclude and ptr not in self.seen:
            self.seen.add(ptr)
            self.total += t.untyped_storage().nbytes()
        return t

    def __enter__(self) -> SavedBytes:
        self._ctx = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def _dense_step(net: Supernet, arch: torch.optim.Optimizer, trainer: WeightTrainer, xa, ya, x, y) -> None:
    """First-order DARTS step: alpha and weights both through the softmax-weighted sum of all ops."""
    plan = net.dense_plan()
    weights = net.weight_parameters()
    for p in weights:
        p.requires_grad_(False)
    arch.zero_grad()
    F.cross_entropy(net(xa, plan), ya).backward()
    arch.step()
    for p in weights:
        p.requires_grad_(True)
    net.alpha.requires_grad_(False)
    trainer.optimizer.zero_grad()
    F.cross_entropy(net(x, plan), y).backward()
    torch.nn.utils.clip_grad_norm_(trainer.params, 5.0)
    trainer.optimizer.step()
    net.alpha.requires_grad_(True)


def _saved_bytes(
    net: Supernet, plans: list[tuple[PathPlan, bool]], x: torch.Tensor, y: torch.Tensor
) -> list[int]:
    """Saved-for-backward bytes of one forward per plan (alpha step if the flag is set, else weight step)."""
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    sizes = []
    for plan, alpha_step in plans:
        for p in net.weight_parameters():
            p.requires_grad_(not alpha_step)
        net.alpha.requires_grad_(alpha_step)
        with SavedBytes(params) as counter:
            loss = F.cross_entropy(net(x, plan), y)
        loss.backward()
        net.zero_grad(set_to_none=True)
        sizes.append(counter.total)
    for p in net.parameters():
        p.requires_grad_(True)
    return sizes


def bench(width: int, batch: int, steps: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """Time and memory of both step kinds; returns ``{mode: {step_s, images_per_s, peak_mib}}``."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    strategy = get_strategy("v3")
    net = Supernet(cell_specs("resnet18"), strategy.candidates, 10, 3, width, "imagenet")
    training_layout(net, "cpu")  # the layout nash.search trains in
    net.train()
    arch, trainer = Architect(net), WeightTrainer(net)
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    xa, ya = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    results = {}
    for mode in ("single-path", "all-paths"):
        times, cpu = [], []
        for i in range(steps + 2):  # two warm-up steps
            start, cpu_start = time.perf_counter(), time.process_time()
            if mode == "single-path":
                arch.step(xa, ya, gen)
                trainer.step(x, y, gen)
            else:
                _dense_step(net, arch.optimizer, trainer, xa, ya, x, y)
            if i >= 2:
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
        n_plans = 5 if mode == "single-path" else 1  # sampled paths differ in memory: average 5
        if mode == "single-path":
            alpha_plans = [(net.sample(2, gen, gated=True), True) for _ in range(n_plans)]
            weight_plans = [(net.sample(1, gen), False) for _ in range(n_plans)]
        else:
            alpha_plans, weight_plans = [(net.dense_plan(), True)], [(net.dense_plan(), False)]
        alpha_mem = statistics.mean(_saved_bytes(net, alpha_plans, x, y)) / 2**20
        weight_mem = statistics.mean(_saved_bytes(net, weight_plans, x, y)) / 2**20
        step = statistics.median(times)
        results[mode] = {
            "step_s": step,
            "cpu_s": statistics.median(cpu),
            "images_per_s": 2 * batch / step,
            "alpha_mib": alpha_mem,
            "weight_mib": weight_mem,
            "peak_mib": max(alpha_mem, weight_mem),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    """Print a small table of the two modes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args(argv)
    tune_allocator()  # as nash.search does on CPU
    if args.threads:
        torch.set_num_threads(args.threads)
    res = bench(args.width, args.batch, args.steps)
    print(f"resnet18 v3 width {args.width}, imagenet stem, 32x32x3, batch {args.batch}, "
          f"threads {torch.get_num_threads()}, median of {args.steps} steps")  # fmt: skip
    print(
        f"{'mode':<12} {'step (s)':>9} {'cpu (s)':>8} {'images/s':>9} {'alpha-step MiB':>15} {'weight-step MiB':>16} {'peak MiB':>9}"
    )
    for mode, r in res.items():
        print(
            f"{mode:<12} {r['step_s']:>9.3f} {r['cpu_s']:>8.3f} {r['images_per_s']:>9.1f} {r['alpha_mib']:>15.2f} "
            f"{r['weight_mib']:>16.2f} {r['peak_mib']:>9.2f}"
        )
    ratio = res["single-path"]["peak_mib"] / res["all-paths"]["peak_mib"]
    print(f"single/all peak memory ratio: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
