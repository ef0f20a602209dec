"""``nash finn build``: compile a QONNX export with the real FINN compiler (FINN+), up to its reports."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="run FINN+ (streamline, HW layers, folding, estimate reports; IP with Vivado) on a QONNX model",
    )
    p.add_argument("model", help="QONNX model (nash export, or nash hw estimate --backbone ... --out DIR)")
    p.add_argument("--out", required=True, help="output directory (replaced only by a complete new run)")
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--folding", default=None, help="FINN folding JSON (e.g. folding_config.json of nash hw estimate)"
    )
    g.add_argument("--target-fps", type=float, default=None, help="FINN+ SetFolding for this many frames/s")
    p.add_argument(
        "--device",
        default=None,
        help="device of `nash hw devices`: sets the FPGA part and clock; alone, fits the fastest folding",
    )
    p.add_argument("--clock-ns", type=float, default=None, help="clock period in ns (default: device's or 5)")
    p.add_argument("--part", default=None, help="FPGA part (default: the device's, else the U250's)")
    p.add_argument(
        "--utilization", type=float, default=0.85, help="resource limit for --device fits (default 0.85)"
    )
    p.add_argument(
        "--mvau-wwidth-max", type=int, default=36, help="SetFolding cap on MVAU weight stream bits"
    )
    p.add_argument(
        "--checkpoint", default=None, help="best.pt the model was exported from: run the integer check"
    )
    p.add_argument(
        "--n-check", type=int, default=1000, help="test images for the streamlined-graph check (default 1000)"
    )
    p.add_argument(
        "--n-check-hw", type=int, default=100, help="of those, images for the HW-layer graph (default 100)"
    )
    p.add_argument("--data", default=None, help="dataset directory for the check images")
    p.add_argument(
        "--no-label-select", action="store_true", help="end the accelerator at the logits (no TopK)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nash finn build``."""
    finn = subparsers.add_parser("finn", help="compile with the real FINN compiler (FINN+)")
    sub = finn.add_subparsers(dest="finn_command", metavar="FINN_COMMAND")
    _add_build(sub)
    finn.set_defaults(func=lambda args: (finn.print_help(), 2)[1])


def _print_summary(s: dict) -> None:
    perf, res, nodes = s["performance"], s["resources"], s["nodes"]
    print(
        f"FINN+ {s['finn_plus_version']} | {nodes['inside_partition']} HW layers in one dataflow partition, "
        f"outside: {', '.join(nodes['outside_partition']) or 'none'}"
    )
    print(
        f"fps {perf['fps']:.1f} @ {s['clock_ns']} ns | bottleneck {perf['bottleneck']} ({perf['max_cycles']} cycles) "
        f"| latency {perf['latency_ms']:.3f} ms"
    )
    print(
        f"LUT {res['LUT']:.0f} | BRAM18 {res['BRAM_18K']:.0f} | URAM {res['URAM']:.0f} | DSP {res['DSP']:.0f} "
        f"({s['part']}, folding: {s['folding'].get('mode')})"
    )
    if "check" in s:
        c = s["check"]
        print(
            f"integer check: top-1 agreement {100 * c['top1_agreement']:.2f} % on {c['n']} images "
            f"(HW-layer graph on {c['n_hw']}), max logit deviation {c['max_abs_diff']:.3g} -> "
            f"{'ok' if c['ok'] else 'FAILED'}"
        )
    print(s["hardware"].get("skipped") or f"hardware steps done: {', '.join(s['hardware'].get('steps', []))}")


def run(args: argparse.Namespace) -> int:
    """Run ``nash finn build``."""
    from nash.finn import build
    from nash.runtime import quiet_brevitas

    quiet_brevitas()

    summary = build(
        args.model,
        args.out,
        folding=args.folding,
        target_fps=args.target_fps,
        device=args.device,
        clock_ns=args.clock_ns,
        part=args.part,
        checkpoint=args.checkpoint,
        n_check=args.n_check,
        n_check_hw=args.n_check_hw,
        data_root=args.data,
        mvau_wwidth_max=args.mvau_wwidth_max,
        utilization=args.utilization,
        label_select=not args.no_label_select,
        progress=not args.no_progress,
    )
    _print_summary(summary)
    print(
        f"wrote {args.out}/finn_build.json, {args.out}/report/"
        + (" and finn_check.json" if "check" in summary else "")
    )
    if "check" in summary and not summary["check"]["ok"]:
        return 1
    return 0
