"""Cost table at deployment scale: build time, exports, and prediction error against full estimates.

ResNet18 at 3x224x224, 1000 classes, width 64, ImageNet stem, NASH-v3, reference bits w2a2 with
per-cell candidates w1a1/w2a2/w4a4/w8a8, SetFolding at 324.5 fps and 5 ns, U250 budget (finn-plus).
Builds the table (timed), then compares ``CostTable.predict`` with full ``nash.hw`` estimates of
random valid v3 genotypes with random per-cell bits (the first at the reference bits).

Usage: ``python bench/cost_table_bench.py [--workers 2] [--genotypes 5] [--cache DIR]``.
"""

from __future__ import annotations

import argparse
import random
import time

from nash.config.hw import HwConfig
from nash.hw.cost_table import RESOURCES, random_network
from nash.hw.table_build import build_cost_table, estimate_networks


def main(argv: list[str] | None = None) -> int:
    """Build the table, estimate random genotypes in full, print the errors."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--genotypes", type=int, default=5)
    p.add_argument("--bits-candidates", default="1,2,4,8")
    p.add_argument("--device", default="U250")
    p.add_argument("--cache", default=None, help="cache directory (a hit skips the build)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    hw = HwConfig(fold="target_fps", target_fps=324.5, clock_ns=5.0, device=args.device)
    t0 = time.perf_counter()
    table = build_cost_table(
        "resnet18",
        version="v3",
        bits="w2a2",
        bits_candidates=args.bits_candidates.split(","),
        input_shape="3x224x224",
        num_classes=1000,
        width=64,
        stem="imagenet",
        hw=hw,
        cache_dir=args.cache,
        workers=args.workers,
    )
    build = time.perf_counter() - t0
    print(table.summary())
    if table.info.get("cache") == "hit":
        print(f"build: loaded from {args.cache} in {build:.1f} s (0 exports)")
    else:
        print(
            f"build: {build:.1f} s wall, {table.info['exports']} exports, {args.workers} worker(s) "
            f"({build / max(table.info['exports'], 1):.1f} s per export)"
        )
    rng = random.Random(args.seed)
    networks = [random_network(table, rng, n > 0) for n in range(args.genotypes)]
    t0 = time.perf_counter()
    truths = estimate_networks(table.settings, networks, workers=args.workers)
    print(f"full estimates: {time.perf_counter() - t0:.1f} s for {len(networks)} networks")
    head = f"{'genotype':<10}{'bits':<21}" + "".join(f"{r:>32}" for r in RESOURCES) + f"{'fps':>14}"
    print(head + "\n" + "-" * len(head))
    worst = dict.fromkeys(RESOURCES, 0.0)
    worst_rel = dict.fromkeys(RESOURCES, 0.0)
    for n, (network, truth) in enumerate(zip(networks, truths)):
        pred = table.predict(*network)
        cols = []
        for r in RESOURCES:
            err = pred[r] - truth[r]
            rel = err / truth[r] if truth[r] else 0.0
            worst[r], worst_rel[r] = max(worst[r], abs(err)), max(worst_rel[r], abs(rel))
            cols.append(f"{truth[r]:>13,.0f} {err:>+9,.0f} ({rel:+.2%})".rjust(32))
        label = "ref" if network[1] is None else "|".join(network[1])
        fps = f"{truth['fps']:.1f}/{pred['fps']:.1f}"
        print(f"{n:<10}{label:<21}" + "".join(cols) + f"{fps:>14}")
    print(
        "max |error|: "
        + ", ".join(f"{r} {worst[r]:,.0f} ({worst_rel[r]:.2%})" for r in RESOURCES)
        + "\n(columns: full estimate, predict - full; fps: full/predicted)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
