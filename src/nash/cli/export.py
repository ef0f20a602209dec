"""``nash export``: checkpoint -> verified QONNX, or ``--check`` any QONNX file for FINN conformance."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="export a checkpoint to QONNX and verify it (or --check a QONNX file)",
        description="Export a trained checkpoint to QONNX, compare it with PyTorch on test images and "
        "check that FINN can map it to dataflow layers. Writes export_check.json beside the model.",
    )
    p.add_argument("checkpoint", nargs="?", help="last.pt / best.pt written by `nash train`")
    p.add_argument("--out", help="output .onnx file (default: model.onnx beside the checkpoint)")
    p.add_argument(
        "--n-check", type=int, default=64, help="test images for the equivalence check (default: 64)"
    )
    p.add_argument("--strict", action="store_true", help="fail on dataflow-conformance violations")
    p.add_argument(
        "--data", default=None, help="dataset directory (default: the dataset's standard location)"
    )
    p.add_argument("--check", metavar="ONNX", help="only run the conformance check on this QONNX file")
    p.add_argument("--skip-onnxruntime", action="store_true", help="check with qonnx execution only")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def _run_check(path: str, strict: bool) -> int:
    from nash.errors import ExportError
    from nash.export import check_file

    violations = check_file(path)
    for v in violations:
        print(f"violation: {v}")
    print(f"{path}: {len(violations)} dataflow-conformance violation(s)")
    if violations and strict:
        raise ExportError(f"{path} has {len(violations)} dataflow-conformance violations (--strict)")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the export (or the conformance-only check) and print a summary."""
    import sys
    from pathlib import Path

    from nash.errors import ExportError

    if args.check:
        return _run_check(args.check, args.strict)
    if not args.checkpoint:
        raise ExportError("give a CHECKPOINT to export, or --check MODEL.onnx to check a QONNX file")
    from nash.io import ensure_writable

    out = args.out or str(Path(args.checkpoint).with_name("model.onnx"))
    ensure_writable(out, kind="file")  # before the export, which takes up to a minute
    print(f"exporting {args.checkpoint} to QONNX and checking it against PyTorch on {args.n_check} images ...",
          flush=True)  # fmt: skip
    from nash.runtime import quiet_brevitas

    quiet_brevitas()
    from nash.export import export_checkpoint

    check = export_checkpoint(
        args.checkpoint,
        out,
        n_check=args.n_check,
        data_root=args.data,
        strict=args.strict,
        onnxruntime=not args.skip_onnxruntime,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    for v in check["conformance"]:
        print(f"violation: {v['node']} ({v['op_type']}) [{v['rule']}]: {v['message']}; {v['hint']}")
    print(
        f"wrote {out}: max |logit diff| {check['max_abs_diff']:.3g}, top-1 agreement "
        f"{100 * check['top1_agreement']:.2f}% on {check['n']} images, "
        f"{len(check['conformance'])} conformance violation(s); report {Path(out).parent / 'export_check.json'}"
    )
    return 0
