"""Benchmark of nash.hw on a full-size ResNet18 (3x224x224, 1000 classes, w2a2).

Exports the untrained model once (not timed), then times ``estimate_model`` with ``fold=max`` and a
``fold=fit`` device search. Usage: ``python bench/hw_bench.py [--device ZCU104] [--bits w2a2]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from nash.config.hw import HwConfig
from nash.hw import estimate_model
from nash.hw.from_arch import export_arch


def main(argv: list[str] | None = None) -> int:
    """Export once, time the max-fold estimate and the fit search, print both."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--device", default="U250")
    p.add_argument("--bits", default="w2a2")
    p.add_argument("--genotype", default=None)
    p.add_argument("--model", default=None, help="use this exported ResNet18 .onnx instead of exporting")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = args.model or export_arch(
            "resnet18",
            bits=args.bits,
            input_shape="3x224x224",
            num_classes=1000,
            genotype=args.genotype,
            out_dir=tmp,
        )
        print(f"export (not timed in the estimate): {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        est = estimate_model(path, HwConfig(fold="max", clock_ns=5.0))
        t_max = time.perf_counter() - t0
        print(
            f"estimate fold=max: {t_max:.2f} s | {len(est.layers)} layers | fps {est.fps:.1f} | "
            f"latency {est.latency_ms:.3f} ms | LUT {est.totals['lut']:.0f} BRAM18 {est.totals['bram18']:.0f} "
            f"| bottleneck {est.bottleneck}"
        )
        t0 = time.perf_counter()
        fit = estimate_model(path, HwConfig(fold="fit", device=args.device), progress=False)
        t_fit = time.perf_counter() - t0
        print(
            f"estimate fold=fit on {args.device}: {t_fit:.2f} s | {len(fit.search_log)} probes | fps {fit.fps:.1f} | "
            f"fits {fit.fits} | util { ({k: round(v, 3) for k, v in (fit.utilization() or {}).items()}) }"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
