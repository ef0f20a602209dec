"""Benchmark: search step time with the hardware term vs without it (issue: <= 1.1x).

One search step = alpha step + weight step on the ResNet18 supernet (strategy v3), the same
batches for every variant, interleaved step by step in one process so machine load hits all alike:

* ``plain``      - Algorithm 1, no hardware term;
* ``hw``         - the same plus the expected-cost term (``hw_objective: bram18``, lambda 1) read from
  a cost table of the deployed ResNet18 (the table is built once, or loaded with ``--table``);
* ``hw+bits``    - the hardware term and a per-cell bit-width choice (``bits_candidates: 2,4``),
  which also costs a second, gradient-free cell pass per alpha step (reported, not in the ratio);
* ``hw-fit``     - device-fit mode on a fit ladder (default: the committed 5-level ladder of
  tests/search/data, Pynq-Z1), refreshed after *every* alpha step (``hw_update_every: 1``, the
  worst case; NAF refreshes every 20 batches): the refresh derives the network and predicts it at
  every level.

Run: ``.venv/bin/python bench/hw_search_bench.py`` (``--tiny`` to check it works). The table is
cached in ``$NASH_CACHE_DIR`` (default ~/.cache/nash); the first run builds it (~minutes at
224 px, ``--small-table`` builds a 32 px deployment in seconds - same table shape).
Timing numbers are only meaningful on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from nash.allocator import tune_allocator
from nash.config.search import SearchConfig
from nash.models.layout import training_layout
from nash.search.architect import Architect, WeightTrainer
from nash.search.build import build_hw_objective, build_strategy, build_supernet, hw_table_settings


def _table(cfg: SearchConfig, path: str | None):
    from nash.hw.cost_table import CostTable
    from nash.hw.table_build import build_cost_table

    if path:
        return CostTable.load(path)
    cache = Path(os.environ.get("NASH_CACHE_DIR") or Path.home() / ".cache" / "nash") / "cost-tables"
    return build_cost_table(**hw_table_settings(cfg), cache_dir=cache, progress=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--table", default=None, help="cost table JSON (nash hw table)")
    ap.add_argument(
        "--ladder",
        default=str(Path(__file__).resolve().parents[1] / "tests/search/data/fit_ladder_r18_w4_32px.json"),
        help="fit ladder JSON for the hw-fit variant (nash hw table --fit-levels)",
    )
    ap.add_argument("--small-table", action="store_true", help="deploy at 3x32x32 / width 8 (fast build)")
    ap.add_argument("--tiny", action="store_true", help="width 4, batch 8, 3 steps, small table")
    args = ap.parse_args()
    tune_allocator()  # as nash.search does on CPU
    if args.tiny:
        args.width, args.batch, args.steps, args.small_table = 4, 8, 3, True
    torch.set_num_threads(args.threads)
    deploy = (
        dict(hw_input="3x32x32", hw_classes=10, hw_width=8, hw_stem="small", hw_target_fps=3000.0)
        if args.small_table
        else {}
    )
    base = dict(
        strategy="v3", width=args.width, stem="imagenet", device="cpu", hw_objective="bram18", **deploy
    )
    variants = {
        "plain": SearchConfig(**{**base, "hw_objective": "none"}),
        "hw": SearchConfig(**base, hw_weight=1.0),
        "hw+bits": SearchConfig(**base, hw_weight=1.0, bits_candidates=(2, 4)),
    }
    from nash.hw.fit_ladder import FitLadder

    ladder = FitLadder.load(args.ladder)
    fit_cfg = {**base, "hw_objective": "lut+bram18", "hw_device": ladder.budget["device"]}
    fit_cfg["hw_target_fps"] = max(f for n, f in enumerate(ladder.levels) if ladder.reachable(n))
    variants["hw-fit"] = SearchConfig(**fit_cfg, hw_weight=1.0, hw_fit=True, hw_update_every=1)
    t0 = time.perf_counter()
    table = _table(variants["hw"], args.table)
    table_bits = _table(variants["hw+bits"], args.table) if not args.table else table
    print(f"cost tables ready in {time.perf_counter() - t0:.1f} s")
    runs = {}
    for name, cfg in variants.items():
        torch.manual_seed(0)
        strategy = build_strategy(cfg)
        net = training_layout(build_supernet(cfg, 10, 3, strategy), "cpu")  # as nash.search
        tables = {"hw+bits": table_bits, "hw-fit": ladder}
        hw = build_hw_objective(cfg, tables.get(name, table))
        runs[name] = (
            net,
            Architect(net, 3e-4, (0.0, 0.999), 1e-3, hw=hw),
            WeightTrainer(net),
            torch.Generator().manual_seed(0),
        )
    g = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=g)
    y = torch.randint(0, 10, (args.batch,), generator=g)
    times: dict[str, list[float]] = {n: [] for n in runs}
    for step in range(args.steps + 2):
        for name, (_, arch, trainer, gen) in runs.items():
            start = time.perf_counter()
            arch.step(x, y, gen)
            trainer.step(x, y, gen)
            if step >= 2:  # two warm-up steps
                times[name].append(time.perf_counter() - start)
    med = {n: statistics.median(t) for n, t in times.items()}
    print(f"ResNet18 v3 supernet, width {args.width}, {args.size}x{args.size}, batch {args.batch}, "
          f"{args.threads} thread(s), {args.steps} interleaved steps (median)")  # fmt: skip
    for name, value in med.items():
        print(f"  {name:8s} {value:.4f} s/step   ratio to plain {value / med['plain']:.3f}")


if __name__ == "__main__":
    main()
