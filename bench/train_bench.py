"""Training throughput (images/s) of w2a2 original vs NASH-v3 ResNet18 on CPU.

Usage:
    .venv/bin/python bench/train_bench.py [--steps 20] [--batch-size 64] [--width 16] [--threads 1]

Times the real training step of ``nash.train`` (forward, loss, backward, SGD, scheduler) on 32x32
one-channel inputs with the paper's reference NASH-v3 genotype, plus eval-mode inference. The
first 300 training steps of a Brevitas model collect activation statistics (percentiles), so the
numbers describe the start of training; later steps are somewhat faster.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from nash.models import QuantSpec, build_model, count_params_macs
from nash.space import load_reference_genotypes
from nash.train import DistContext, build_optimizer, build_scheduler, evaluate, train_one_epoch

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "reference-genotypes.json"


def _batches(n: int, batch: int, size: int, classes: int = 10) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return [
        (torch.randn(batch, 1, size, size, generator=gen), torch.randint(0, classes, (batch,), generator=gen))
        for _ in range(n)
    ]


def _measure(model: nn.Module, args: argparse.Namespace) -> tuple[float, float]:
    ctx = DistContext(device=torch.device("cpu"))
    opt = build_optimizer(model, 0.05)
    sched = build_scheduler(opt, args.steps + 3)
    loss = nn.CrossEntropyLoss()
    train_one_epoch(
        model, _batches(3, args.batch_size, args.size), opt, sched, loss, ctx, epoch=0, progress=False
    )
    data = _batches(args.steps, args.batch_size, args.size)
    start = time.perf_counter()
    train_one_epoch(model, data, opt, sched, loss, ctx, epoch=1, progress=False)
    train_ips = args.steps * args.batch_size / (time.perf_counter() - start)
    start = time.perf_counter()
    evaluate(model, data, ctx)
    eval_ips = args.steps * args.batch_size / (time.perf_counter() - start)
    return train_ips, eval_ips


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--reference", default=str(REFERENCE))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    genotypes = {"o": None, "v3": load_reference_genotypes(args.reference, backbone="resnet18")["v3"]}
    print(
        f"w2a2 ResNet18, width {args.width}, {args.size}x{args.size}x1, batch {args.batch_size}, "
        f"{args.threads} thread(s), {args.steps} timed steps"
    )
    print("| model | params | MACs/img | train img/s | eval img/s |\n|---|---|---|---|---|")
    for version, genotype in genotypes.items():
        torch.manual_seed(0)
        model = build_model(
            "resnet18",
            genotype,
            QuantSpec.from_tag("w2a2", version=version),
            10,
            in_channels=1,
            width=args.width,
            stem="small",
        )
        params, macs = count_params_macs(model.eval(), (1, args.size, args.size))
        train_ips, eval_ips = _measure(model.train(), args)
        print(f"| {version} | {params:,} | {macs:,} | {train_ips:.1f} | {eval_ips:.1f} |", flush=True)


if __name__ == "__main__":
    main()
