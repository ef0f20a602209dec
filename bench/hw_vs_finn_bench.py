"""Benchmark: ``nash hw estimate --generation finn-plus`` vs the FINN+ 1.6.1 estimate flow, one run.

For each network: export it (untrained; timed apart), time our estimate (``nash.hw.estimate_model``:
lowering, FINN+ SetFolding for the target, costs), time FINN+ (``nash.finn.build`` at the same
target: QONNX->FINN, streamlining, HW conversion, partition, specialisation, SetFolding, bit-width
minimisation, estimate reports), then check per-layer agreement two ways:

* same folding: FINN+'s final folding applied to our lowering (node names mapped by graph
  structure); per layer cycles, LUT, BRAM18, URAM, DSP equal, or a known difference (a Thresholding
  whose threshold type FINN+ minimised from the values; equal when costed with FINN+'s width);
* same target: our finn-plus SetFolding picks FINN+'s PE/SIMD/parallel_window for every layer.

Networks: our original ResNet18 w2a2, 3x224x224, 1000 classes, width 64 (``nash hw estimate
--backbone resnet18 --input 3x224x224 --classes 1000``: ImageNet stem, 7x7 conv + max-pool), the
same with the small stem (3x3 conv, no max-pool; ``--stem small``), and Brevitas's cnv_1w1a. If
``nash.finn`` cannot compile a network, its one-line error and our timing are printed instead.

    python bench/hw_vs_finn_bench.py                    # both
    python bench/hw_vs_finn_bench.py --nets cnv --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hw"))

import finn_plus as fp  # noqa: E402  (tests/hw/finn_plus.py: exports, FINN+ run, layer matching)

TARGETS = {"resnet18": 200.0, "resnet18-small-stem": 200.0, "cnv": 3000.0}


def export(net: str, out: Path) -> Path:
    if net == "cnv":
        return fp.export_brevitas("cnv_1w1a", out)
    stem = "small" if net == "resnet18-small-stem" else "imagenet"
    return fp.export_resnet("o", out, input_shape="3x224x224", classes=1000, width=64, stem=stem)


def run(net: str, out: Path, clock_ns: float) -> dict:
    from nash.config.hw import HwConfig
    from nash.hw import estimate_model

    fps = TARGETS[net]
    t = time.perf_counter()
    path = export(net, out)
    t_export = time.perf_counter() - t

    cfg = HwConfig(
        fold="target_fps", target_fps=fps, clock_ns=clock_ns, generation="finn-plus", label_select=True
    )
    t = time.perf_counter()
    est = estimate_model(path, cfg)
    t_ours = time.perf_counter() - t

    t = time.perf_counter()
    try:
        finn = fp.finn_plus(path, out / "finn", fps, clock_ns)
    except Exception as exc:  # nash.finn cannot take every graph yet: report it, keep our timing
        line = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return {
            "net": net,
            "target_fps": fps,
            "export_s": round(t_export, 2),
            "ours_s": round(t_ours, 3),
            "layers": len(est.layers),
            "ours": {"fps": est.fps, "max_cycles": est.max_cycles, **est.totals},
            "finn_failed_after_s": round(time.perf_counter() - t, 2),
            "finn_error": f"{type(exc).__name__}: {line[:300]}",
        }
    t_finn = time.perf_counter() - t

    same = fp.ours(path, finn["folding_file"], clock_ns, graph=finn["graph"])
    cmp = fp.compare(same, finn["summary"], finn["threshold_bits"])
    theirs = json.loads(finn["folding_file"].read_text())
    to_finn = {v: k for k, v in fp.match(est.layers, finn["graph"]).items()}
    mine = {to_finn.get(k, k): v for k, v in est.folding_config().items()}
    fold_diff = [
        k
        for k, v in theirs.items()
        if k != "Defaults"
        and any(mine.get(k, {}).get(a) != v[a] for a in ("PE", "SIMD", "parallel_window") if a in v)
    ]
    perf, res = finn["summary"]["performance"], finn["summary"]["resources"]
    return {
        "net": net,
        "target_fps": fps,
        "export_s": round(t_export, 2),
        "ours_s": round(t_ours, 3),
        "finn_s": round(t_finn, 2),
        "finn_steps_s": finn["summary"]["seconds"],
        "speedup": round(t_finn / t_ours, 1),
        "layers": cmp["layers"],
        "kinds_equal": cmp["kinds_equal"],
        "exact": cmp["exact"],
        "known": len(cmp["known"]),
        "known_fields": sorted({(k["name"].rsplit("_", 1)[0], k["field"]) for k in cmp["known"]}),
        "differ": cmp["diffs"],
        "setfolding_layers_differ": fold_diff,
        "ours": {"fps": est.fps, "max_cycles": est.max_cycles, **est.totals},
        "ours_same_folding": {"fps": same.fps, **same.totals},
        "finn": {
            "fps": perf["fps"],
            "max_cycles": perf["max_cycles"],
            "lut": res["LUT"],
            "bram18": res["BRAM_18K"],
            "uram": res["URAM"],
            "dsp": res["DSP"],
        },
    }


def show(r: dict) -> str:
    if "finn_error" in r:
        o = r["ours"]
        return "\n".join(
            [
                f"{r['net']}: target {r['target_fps']:g} fps, {r['layers']} layers (export {r['export_s']} s)",
                f"  wall time: nash hw estimate {r['ours_s']} s (fps {o['fps']:.1f}, LUT {o['lut']:.0f}, "
                f"BRAM18 {o['bram18']:.0f}) | FINN+ flow failed after {r['finn_failed_after_s']} s: {r['finn_error']}",
            ]
        )
    o, s, f = r["ours"], r["ours_same_folding"], r["finn"]
    return "\n".join(
        [
            f"{r['net']}: target {r['target_fps']:g} fps, {r['layers']} layers (export {r['export_s']} s, not compared)",
            f"  wall time: nash hw estimate {r['ours_s']} s | FINN+ flow {r['finn_s']} s  -> {r['speedup']}x",
            f"  FINN+ steps (s): {r['finn_steps_s']}",
            f"  same folding: {r['exact']}/{r['layers']} layers exact, {r['known']} known (threshold width), "
            f"{len(r['differ'])} differ; layer kinds equal: {r['kinds_equal']}",
            f"  same target: SetFolding differs on {len(r['setfolding_layers_differ'])} layers",
            f"  fps ours {o['fps']:.1f} / FINN+ {f['fps']:.1f}; LUT ours {s['lut']:.0f} / FINN+ {f['lut']:.0f}; "
            f"BRAM18 {s['bram18']:.0f} / {f['bram18']:.0f}; URAM {s['uram']:.0f} / {f['uram']:.0f}; "
            f"DSP {s['dsp']:.0f} / {f['dsp']:.0f}",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--nets",
        default="resnet18,resnet18-small-stem,cnv",
        help="comma list of resnet18, resnet18-small-stem, cnv",
    )
    ap.add_argument("--clock-ns", type=float, default=5.0)
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="hw_vs_finn_") as tmp:
        for net in args.nets.split(","):
            d = Path(tmp) / net
            d.mkdir()
            r = run(net, d, args.clock_ns)
            results.append(r)
            print(show(r), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
