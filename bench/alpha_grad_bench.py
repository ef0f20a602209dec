"""Benchmark: ``alpha_grad: full`` (reference estimator) vs ``pair`` (ProxylessNAS two-path).

Part 1, one search step (alpha step + weight step) on the ResNet18 supernet (strategy v3, ImageNet
stem, 32x32 RGB, random inputs): wall and CPU time per step, and the bytes autograd saves for
backward in the alpha-step forward (``search_bench.SavedBytes``: unique storages, parameters
excluded). ``full`` evaluates every candidate op of every edge in the alpha step (the sampled one
in forward, the others once in backward under no_grad, the float convs of one edge as one
convolution), ``pair`` only the two sampled ones.

Part 2, agreement: for each seed, two short searches that differ only in ``alpha_grad`` (same data,
same sampler seed) on Fashion-MNIST; how often they derive the same genotype, and the share of
nodes that agree.

Run (tiny, for checking it works): ``.venv/bin/python bench/alpha_grad_bench.py --tiny``.
Timing numbers are only meaningful on a quiet machine (``--threads 2``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_bench import SavedBytes  # noqa: E402

from nash.allocator import tune_allocator
from nash.models.layout import training_layout
from nash.search.architect import Architect, WeightTrainer  # noqa: E402
from nash.search.supernet import Supernet  # noqa: E402
from nash.space import cell_specs, get_strategy  # noqa: E402


def _alpha_saved_mib(net: Supernet, full: bool, gen: torch.Generator, x, y, n: int = 3) -> float:
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    sizes = []
    for p in net.weight_parameters():
        p.requires_grad_(False)
    for _ in range(n):
        plan = net.sample(2, gen, gated=True, full=full)
        with SavedBytes(params) as counter:
            loss = F.cross_entropy(net(x, plan), y)
        loss.backward()
        net.zero_grad(set_to_none=True)
        sizes.append(counter.total)
    for p in net.weight_parameters():
        p.requires_grad_(True)
    return statistics.mean(sizes) / 2**20


def step_bench(width: int, batch: int, steps: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """``{mode: {step_s, cpu_s, alpha_step_mib}}`` for ``pair`` and ``full``."""
    out = {}
    for mode in ("pair", "full"):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        net = Supernet(
            cell_specs("resnet18"), get_strategy("v3").candidates, 10, 3, width, "imagenet"
        ).train()
        training_layout(net, "cpu")  # the layout nash.search trains in
        arch, trainer = Architect(net, alpha_grad=mode), WeightTrainer(net)
        x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
        xa, ya = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
        wall, cpu = [], []
        for i in range(steps + 1):  # one warm-up step
            t0, c0 = time.perf_counter(), time.process_time()
            arch.step(xa, ya, gen)
            trainer.step(x, y, gen)
            if i:
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        out[mode] = {
            "step_s": statistics.median(wall),
            "cpu_s": statistics.median(cpu),
            "alpha_step_mib": _alpha_saved_mib(net, mode == "full", gen, xa, ya),
        }
    return out


def agreement(
    seeds: int, epochs: int, steps: int, width: int, subset: int, arch_lr: float
) -> dict[str, float]:
    """Same-genotype rate and node agreement of ``full`` vs ``pair`` searches over ``seeds`` seeds."""
    from nash.config.search import SearchConfig
    from nash.search import run_search

    same, nodes, total = 0, 0, 0
    for seed in range(seeds):
        genos = {}
        for mode in ("pair", "full"):
            cfg = SearchConfig(
                strategy="v3", dataset="fashion-mnist", epochs=epochs, steps_per_epoch=steps, width=width,
                train_subset=subset, batch_size=32, image_size=32, arch_lr=arch_lr, seed=seed, alpha_grad=mode,
            )  # fmt: skip
            with tempfile.TemporaryDirectory() as out:
                genos[mode] = run_search(cfg, out, progress=False)
        a, b = genos["pair"].cells, genos["full"].cells
        same += a == b
        pairs = [(x, y) for ca, cb in zip(a, b, strict=True) for x, y in zip(ca, cb, strict=True)]
        nodes += sum(x == y for x, y in pairs)
        total += len(pairs)
    return {"seeds": seeds, "same_genotype": same / seeds, "node_agreement": nodes / total}


def main(argv: list[str] | None = None) -> int:
    """Print both tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=5, help="searches per mode for the agreement part")
    ap.add_argument("--search-epochs", type=int, default=3)
    ap.add_argument("--search-steps", type=int, default=32, help="steps per search epoch")
    ap.add_argument("--search-subset", type=int, default=4096)
    ap.add_argument("--arch-lr", type=float, default=3e-2, help="alpha learning rate of the short searches")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--tiny", action="store_true", help="a seconds-long run that only checks the script works"
    )
    args = ap.parse_args(argv)
    tune_allocator()  # as nash.search does on CPU
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tiny:
        args.width, args.batch, args.steps = 4, 8, 1
        args.seeds, args.search_epochs, args.search_steps, args.search_subset = 2, 1, 2, 256
    res = step_bench(args.width, args.batch, args.steps)
    print(f"search step, ResNet18 v3, width {args.width}, batch {args.batch}, 32x32x3, imagenet stem")
    print(f"{'alpha_grad':<10} {'step wall s':>12} {'step CPU s':>11} {'alpha-step MiB':>15}")
    for mode, r in res.items():
        print(f"{mode:<10} {r['step_s']:>12.3f} {r['cpu_s']:>11.3f} {r['alpha_step_mib']:>15.1f}")
    print(f"full / pair: time x{res['full']['cpu_s'] / max(res['pair']['cpu_s'], 1e-9):.2f} (CPU), "
          f"memory x{res['full']['alpha_step_mib'] / max(res['pair']['alpha_step_mib'], 1e-9):.2f}")  # fmt: skip
    try:
        agr = agreement(args.seeds, args.search_epochs, args.search_steps, 4 if args.tiny else 8,
                        args.search_subset, args.arch_lr)  # fmt: skip
    except Exception as exc:  # no dataset on this machine: part 2 is skipped, part 1 stands
        print(f"agreement part skipped: {type(exc).__name__}: {exc}")
        return 0
    print(
        f"agreement over {agr['seeds']} seeds ({args.search_epochs} epochs x {args.search_steps} steps, "
        f"arch_lr {args.arch_lr}): same genotype {100 * agr['same_genotype']:.0f} %, "
        f"nodes {100 * agr['node_agreement']:.1f} %"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
