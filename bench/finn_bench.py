"""Benchmark: ``nash hw estimate`` (our re-implemented cost model) vs the real FINN+ estimate flow.

For each network: export it (not timed), time ``nash.hw.estimate_model`` at a target fps, then time
``nash.finn.build`` (FINN+ up to its estimate reports) with the *same folding* (our
``folding_config.json`` mapped onto FINN+'s nodes by kind and order; when the two lowerings have
different layer kinds, e.g. CNV's max-pools, FINN+ runs its own SetFolding for the same target and
the table says so). Per-layer agreement is computed on the layers matched by kind and order:
cycles equal, LUT within 10 %, BRAM18 equal.

Networks: Brevitas's ``cnv_1w1a`` (bnn_pynq, untrained, exported with Brevitas's QONNX export) and
our original ResNet18 3x224x224 w2a2, 1000 classes (architecture only, untrained).

    python bench/finn_bench.py                      # both, 3000 fps at 5 ns
    python bench/finn_bench.py --nets cnv --keep runs/finn-bench
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def export_cnv(out: Path) -> Path:
    import torch
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    model, _ = model_with_cfg("cnv_1w1a", pretrained=False)
    path = out / "cnv_1w1a.onnx"
    export_qonnx(model.eval(), torch.randn(1, 3, 32, 32), str(path))
    return path


def export_resnet18(out: Path) -> Path:
    from nash.hw.from_arch import export_arch

    d = out / "resnet18"
    d.mkdir(parents=True, exist_ok=True)
    return export_arch("resnet18", bits="w2a2", input_shape="3x224x224", num_classes=1000, out_dir=str(d))


def kind(name: str) -> str:
    from nash.finn.folding import layer_kind

    return layer_kind(name)


def match_layers(ours: list[dict], theirs: list[dict]) -> list[tuple[dict, dict]]:
    """Pair layers of the same kind in graph order (kinds whose counts differ are left out)."""
    by_kind_o: dict[str, list[dict]] = {}
    by_kind_t: dict[str, list[dict]] = {}
    for r in ours:
        by_kind_o.setdefault(kind(r["name"]), []).append(r)
    for r in theirs:
        by_kind_t.setdefault(kind(r["name"]), []).append(r)
    pairs = []
    for k, rows in by_kind_o.items():
        other = by_kind_t.get(k, [])
        if len(other) == len(rows):
            pairs.extend(zip(rows, other))
    return pairs


def run_net(name: str, onnx_path: Path, work: Path, target_fps: float, clock_ns: float) -> dict:
    from nash.config.hw import HwConfig
    from nash.errors import FoldingError
    from nash.finn import build
    from nash.hw import estimate_model, write_estimate

    t = time.perf_counter()
    est = estimate_model(
        onnx_path, HwConfig(fold="target_fps", target_fps=target_fps, clock_ns=clock_ns), progress=False
    )
    t_nash = time.perf_counter() - t
    write_estimate(est, work / f"{name}-hw")
    ours = [
        {"name": la.name, "cycles": c.cycles, "LUT": c.lut, "BRAM_18K": c.bram18}
        for la, c in zip(est.layers, est.costs)
        if c is not None
    ]
    folding_note = "same folding (nash hw folding_config.json)"
    t = time.perf_counter()
    try:
        s = build(
            onnx_path,
            work / f"{name}-finn",
            folding=work / f"{name}-hw" / "folding_config.json",
            clock_ns=clock_ns,
            progress=True,
        )
    except FoldingError as exc:
        folding_note = f"FINN+ SetFolding for {target_fps:g} fps ({str(exc)[:60]}...)"
        t = time.perf_counter()
        s = build(onnx_path, work / f"{name}-finn", target_fps=target_fps, clock_ns=clock_ns, progress=True)
    t_finn = time.perf_counter() - t
    theirs = s["layers"]
    pairs = match_layers(ours, theirs)
    n = max(1, len(pairs))
    cyc = sum(1 for a, b in pairs if a["cycles"] == b["cycles"]) / n
    lut = sum(1 for a, b in pairs if abs(a["LUT"] - b["LUT"]) <= 0.1 * max(1.0, b["LUT"])) / n
    bram = sum(1 for a, b in pairs if a["BRAM_18K"] == b["BRAM_18K"]) / n
    worst = sorted(pairs, key=lambda p: -abs(p[0]["LUT"] - p[1]["LUT"]))[:3]
    return {
        "net": name,
        "nash_s": t_nash,
        "finn_s": t_finn,
        "finn_steps_s": s["seconds"],
        "layers": f"{len(ours)}/{len(theirs)}",
        "matched": len(pairs),
        "cycles_equal": cyc,
        "lut_within_10pct": lut,
        "bram_equal": bram,
        "fps": (est.fps, s["performance"]["fps"]),
        "lut": (est.totals["lut"], s["resources"]["LUT"]),
        "bram18": (est.totals["bram18"], s["resources"]["BRAM_18K"]),
        "bottleneck": (est.bottleneck, s["performance"]["bottleneck"]),
        "folding": folding_note,
        "worst_lut": [(a["name"], a["LUT"], b["name"], b["LUT"]) for a, b in worst],
        "outside": s["nodes"]["outside_partition"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", default="cnv,resnet18", help="comma list of cnv, resnet18")
    ap.add_argument("--target-fps", type=float, default=3000.0)
    ap.add_argument("--clock-ns", type=float, default=5.0)
    ap.add_argument("--keep", default=None, help="keep exports and build directories here")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="finn_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    exporters = {"cnv": export_cnv, "resnet18": export_resnet18}
    rows = []
    for net in [n.strip() for n in args.nets.split(",") if n.strip()]:
        t = time.perf_counter()
        path = exporters[net](work)
        print(f"[{net}] exported in {time.perf_counter() - t:.1f} s (not timed below)", flush=True)
        rows.append(run_net(net, path, work, args.target_fps, args.clock_ns))
        (work / f"{net}-bench.json").write_text(json.dumps(rows[-1], indent=2, default=str) + "\n")
    head = (
        f"{'net':<10}{'nash hw s':>10}{'FINN+ s':>9}{'layers':>9}{'matched':>8}{'cyc=':>7}{'LUT±10%':>8}"
        f"{'BRAM=':>7}{'fps nash/FINN+':>20}{'LUT nash/FINN+':>18}{'BRAM18 nash/FINN+':>19}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['net']:<10}{r['nash_s']:>10.2f}{r['finn_s']:>9.1f}{r['layers']:>9}{r['matched']:>8}"
            f"{100 * r['cycles_equal']:>6.0f}%{100 * r['lut_within_10pct']:>7.0f}%{100 * r['bram_equal']:>6.0f}%"
            f"{r['fps'][0]:>10.1f}/{r['fps'][1]:<9.1f}{r['lut'][0]:>9.0f}/{r['lut'][1]:<8.0f}"
            f"{r['bram18'][0]:>9.0f}/{r['bram18'][1]:<9.0f}"
        )
    for r in rows:
        print(
            f"{r['net']}: folding: {r['folding']}; bottleneck nash {r['bottleneck'][0]} / FINN+ {r['bottleneck'][1]};"
            f" outside the partition: {', '.join(r['outside']) or 'none'}"
        )
        print(f"  FINN+ step seconds: {json.dumps({k: v for k, v in r['finn_steps_s'].items()})}")
        print(
            "  largest LUT differences: "
            + "; ".join(f"{a} {la:.0f} vs {b} {lb:.0f}" for a, la, b, lb in r["worst_lut"])
        )
    print(f"outputs in {work}")


if __name__ == "__main__":
    main()
