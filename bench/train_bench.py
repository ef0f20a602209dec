"""Training throughput (images/s) of w2a2 original vs NASH-v3 ResNet18 on CPU, QAT vs plain float.

Usage:
    .venv/bin/python bench/train_bench.py [--steps 20] [--chunk 2] [--batch-size 64] [--width 16]
        [--threads 1] [--phase both] [--contiguous]

Times the real training step of ``nash.train`` (forward, loss, backward, SGD, scheduler) on 32x32
one-channel inputs with the paper's reference NASH-v3 genotype, for four networks: the w2a2 QAT
original and NASH-v3 ResNet18, and the *float floor* of each -- a twin of the same network with
every Brevitas layer swapped for its float module (``QuantConv2d`` -> ``nn.Conv2d``, ``QuantLinear``
-> ``nn.Linear``, ``QuantReLU`` -> ``nn.ReLU``, ``QuantHardTanh`` -> ``nn.Hardtanh``,
``QuantIdentity`` -> ``nn.Identity``; the adds become plain float adds), same weights, no quantisers.

The four networks are timed interleaved (``--chunk`` steps of each in turn, until each has
``--steps`` timed steps) so that load from other jobs on a shared machine hits them alike; the
table gives medians over the chunks. Two phases of QAT are timed (``--phase``):

* ``stats``: the first ``collect_stats_steps`` (300) training steps of a Brevitas model, during which
  every activation quantiser computes a percentile of its input to initialise its scale -- the whole
  of a short (demo, test) run;
* ``learned``: afterwards, when the scales are learned parameters (the bench skips ahead by marking
  the statistics collection as done).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from brevitas.core.scaling import ParameterFromRuntimeStatsScaling
from brevitas.nn import QuantConv2d, QuantHardTanh, QuantIdentity, QuantLinear, QuantReLU
from torch import nn

from nash.allocator import tune_allocator
from nash.models import QuantSpec, build_model, count_params_macs, training_layout
from nash.space import default_reference_path, load_reference_genotypes
from nash.train import DistContext, build_optimizer, build_scheduler, evaluate, train_one_epoch


def _batches(n: int, batch: int, size: int, classes: int = 10) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return [
        (torch.randn(batch, 1, size, size, generator=gen), torch.randint(0, classes, (batch,), generator=gen))
        for _ in range(n)
    ]


def _float_module(m: nn.Module) -> nn.Module | None:
    """The float module that replaces Brevitas layer ``m`` (same weights), or None if ``m`` is not one."""
    if isinstance(m, QuantConv2d):
        conv = nn.Conv2d(
            m.in_channels,
            m.out_channels,
            m.kernel_size,
            m.stride,
            m.padding,
            m.dilation,
            m.groups,
            bias=m.bias is not None,
        )
        conv.load_state_dict({k: v for k, v in m.state_dict().items() if k in ("weight", "bias")})
        return conv
    if isinstance(m, QuantLinear):
        lin = nn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
        lin.load_state_dict({k: v for k, v in m.state_dict().items() if k in ("weight", "bias")})
        return lin
    if isinstance(m, QuantReLU):
        return nn.ReLU()
    if isinstance(m, QuantHardTanh):
        return nn.Hardtanh()
    if isinstance(m, QuantIdentity):
        return nn.Identity()
    return None


def float_twin(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every Brevitas layer replaced by its float module (no quantisers).

    Same architecture, same weights and BatchNorms; what remains is the plain-float cost of the
    network, the floor that quantisation-aware training is compared with.
    """
    twin = copy.deepcopy(model)
    for name, module in list(twin.named_modules()):
        repl = _float_module(module)
        if repl is None or not name:
            continue
        parent_name, _, attr = name.rpartition(".")
        setattr(twin.get_submodule(parent_name) if parent_name else twin, attr, repl)
    left = [n for n, m in twin.named_modules() if type(m).__module__.startswith("brevitas")]
    if left:
        raise RuntimeError(f"float twin still has Brevitas modules: {left[:3]}")
    return twin


def finish_stats(model: nn.Module) -> int:
    """Mark the statistics collection of every runtime-stats quantiser as done (learned phase)."""
    n = 0
    for m in model.modules():
        if isinstance(m, ParameterFromRuntimeStatsScaling) and m.counter < m.collect_stats_steps:
            m.counter = m.collect_stats_steps  # the next training forward initialises the parameter
            n += 1
    return n


class _Runner:
    """One network with its optimizer; ``run(k)`` times ``k`` real training steps."""

    def __init__(self, name: str, model: nn.Module, args: argparse.Namespace) -> None:
        self.name, self.model, self.args = name, model.train(), args
        self.ctx = DistContext(device=torch.device("cpu"))
        self.opt = build_optimizer(model, 0.05)
        self.sched = build_scheduler(self.opt, 10_000)
        self.loss = nn.CrossEntropyLoss()
        self.times: list[float] = []  # seconds per step, one entry per timed chunk

    def run(self, data: list, record: bool = True) -> None:
        start = time.perf_counter()
        train_one_epoch(self.model, data, self.opt, self.sched, self.loss, self.ctx, epoch=0, progress=False)
        if record:
            self.times.append((time.perf_counter() - start) / len(data))

    def step_s(self) -> float:
        return statistics.median(self.times)

    def eval_ips(self, data: list) -> float:
        start = time.perf_counter()
        evaluate(self.model, data, self.ctx)
        ips = len(data) * self.args.batch_size / (time.perf_counter() - start)
        self.model.train()
        return ips


def _phase(runners: list[_Runner], args: argparse.Namespace, phase: str) -> None:
    data = _batches(args.chunk, args.batch_size, args.size)
    for r in runners:  # warm-up (allocator, first-call overheads), not timed
        r.times = []
        if phase == "learned":
            finish_stats(r.model)
        r.run(_batches(2, args.batch_size, args.size), record=False)
    for _ in range(max(1, args.steps // args.chunk)):
        for r in runners:  # interleaved: A, B, C, D, A, B, ...
            r.run(data)
    bs = args.batch_size
    res = {r.name: r for r in runners}
    print(f"\n### {phase} phase ({len(runners[0].times)} chunks of {args.chunk} steps, medians)\n")
    print(
        "| model | float s/step | QAT s/step | float img/s | QAT img/s | QAT/float speed | QAT eval img/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for version in ("o", "v3"):
        f, q = res[f"{version}-float"].step_s(), res[f"{version}-qat"].step_s()
        ev = res[f"{version}-qat"].eval_ips(data)
        print(
            f"| {version} | {f:.3f} | {q:.3f} | {bs / f:.1f} | {bs / q:.1f} | {f / q:.2f}x | {ev:.1f} |",
            flush=True,
        )
    o, v3 = res["o-qat"].step_s(), res["v3-qat"].step_s()
    of, v3f = res["o-float"].step_s(), res["v3-float"].step_s()
    print(f"\nv3/original speed: QAT {o / v3:.3f}x, float {of / v3f:.3f}x")


def main() -> None:
    """Run the benchmark and print Markdown tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="timed steps per network and phase")
    p.add_argument("--chunk", type=int, default=2, help="steps per network before switching to the next")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--phase", choices=("stats", "learned", "both"), default="both")
    p.add_argument(
        "--contiguous",
        action="store_true",
        help="keep PyTorch's NCHW layout (default: nash.train's channels-last)",
    )
    p.add_argument("--reference", default=str(default_reference_path()))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tuned = tune_allocator()  # as nash.train does
    genotypes = {"o": None, "v3": load_reference_genotypes(args.reference, backbone="resnet18")["v3"]}
    print(
        f"w2a2 ResNet18, width {args.width}, {args.size}x{args.size}x1, batch {args.batch_size}, "
        f"{args.threads} thread(s), {args.steps} timed steps per network and phase, "
        f"{'NCHW' if args.contiguous else 'channels-last'} layout, "
        f"glibc malloc {'tuned' if tuned else 'default'}"
    )
    runners = []
    print("\n| model | params | MACs/img |\n|---|---|---|")
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
        print(f"| {version} | {params:,} | {macs:,} |")
        twin = float_twin(model)
        if not args.contiguous:  # the layout nash.train trains in (channels-last on CPU)
            model, twin = training_layout(model, "cpu"), training_layout(twin, "cpu")
        runners += [_Runner(f"{version}-float", twin, args), _Runner(f"{version}-qat", model, args)]
    phases = ("stats", "learned") if args.phase == "both" else (args.phase,)
    for phase in phases:
        _phase(runners, args, phase)


if __name__ == "__main__":
    main()
