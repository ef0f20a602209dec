"""``nash.finn.build`` (this module: ``nash.finn.flow``): compile a QONNX export with FINN+ up to its estimate reports (and further with Vivado).

Output directory layout (written into ``.<name>.tmp-<pid>`` beside ``out_dir`` and renamed to
``out_dir`` only when the whole run succeeded, so a previous run is never half-overwritten)::

    out_dir/
      finn_build.json            our summary (nodes inside/outside, fps, cycles, resources, timings)
      finn_check.json            the integer-graph check (only with a checkpoint)
      build.log                  what FINN+ printed
      report/                    FINN+'s own estimate reports (same names as its builder writes):
        estimate_layer_cycles.json, estimate_layer_resources.json,
        estimate_layer_config_alternatives.json, estimate_network_performance.json,
        op_and_param_counts.json, auto_folding_config.json | applied_folding_config.json,
        final_folding_config.json
      intermediate_models/       finn.onnx, streamlined.onnx, hw_layers.onnx, dataflow_parent.onnx,
                                 dataflow.onnx (specialised, folded, minimised), partition files
      stitched_ip/ ...           only when Vivado is installed (FINN+'s own step outputs)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nash.errors import ConfigError, NashError
from nash.finn._env import FinnError, UnmappedNodesError, finn_version, require_finn, vivado_available

__all__ = ["build", "DEFAULT_PART", "VIVADO_MISSING"]

DEFAULT_PART = "xcu250-figd2104-2L-e"  # Alveo U250, the paper's board
VIVADO_MISSING = "Vivado/Vitis not found (XILINX_VIVADO unset): stopped after FINN+'s estimate reports"


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _load(path: Path) -> Any:
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper

    if not path.is_file():
        raise FinnError(
            f"model {path} not found; export one with `nash export` or `nash hw estimate --backbone ... --out DIR`"
        )
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError, ValueError, ... on damaged files
        raise FinnError(f"{path} is not a readable ONNX file ({type(exc).__name__}); re-export it") from None
    consts = {t.name for t in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in consts]  # older exports list weights too
    if not proto.graph.node or len(inputs) != 1:
        raise FinnError(f"{path} has no nodes or not exactly one input; give a QONNX classifier export")
    from qonnx.transformation.general import RemoveStaticGraphInputs

    return ModelWrapper(proto).transform(RemoveStaticGraphInputs())


def _meta(model: Any) -> dict[str, str]:
    return {p.key: p.value for p in model.model.metadata_props}


def _allowed_outside(model: Any, node: Any) -> bool:
    """The documented I/O nodes that may stay on the host: the layout transpose of the graph input,
    and (only without LabelSelect) the float ``Mul`` that scales the integer logits at the output."""
    inp, out = model.graph.input[0].name, model.graph.output[0].name
    if node.op_type == "Transpose" and list(node.input) == [inp]:
        return True
    if (
        node.op_type == "Mul"
        and list(node.output) == [out]
        and model.get_initializer(node.input[1]) is not None
    ):
        prod = model.find_producer(node.input[0])
        return prod is not None and prod.domain.startswith("finn.custom_op.fpgadataflow")
    return False


def _check_hw(model: Any) -> list[Any]:
    """Nodes outside FINN+ HW layers apart from the documented I/O nodes; raise when there are any."""
    from nash.finn.steps import non_hw_nodes

    outside = non_hw_nodes(model)
    bad = [n for n in outside if not _allowed_outside(model, n)]
    if bad:
        names = [f"{n.name or '?'} ({n.op_type})" for n in bad]
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
        raise UnmappedNodesError(
            f"{len(bad)} node(s) cannot become FINN+ HW layers and would split the dataflow partition: "
            f"{shown}; see docs/finn.md (supported graphs)",
            [n.name for n in bad],
        )
    return outside


def _resolve_target(device: str | None, clock_ns: float | None, part: str | None) -> tuple[str, float, Any]:
    dev = None
    if device:
        from nash.hw import get_device

        dev = get_device(device)
    part = part or (dev.part if dev else DEFAULT_PART)
    clock = float(clock_ns) if clock_ns else (dev.clock_ns if dev else 5.0)
    if clock <= 0:
        raise ConfigError(f"--clock-ns must be > 0, got {clock}")
    return part, clock, dev


@contextlib.contextmanager
def _captured(log_file: Path) -> Iterator[None]:
    """Send what FINN+ prints (stdout and its logger) to ``log_file`` instead of the terminal."""
    import logging
    import warnings

    fh = open(log_file, "a", encoding="utf-8")  # noqa: SIM115 - closed below
    handler = logging.StreamHandler(fh)
    finn_log = logging.getLogger("finn_logger")
    old_prop, old_handlers = finn_log.propagate, list(finn_log.handlers)
    finn_log.handlers = [handler]
    finn_log.propagate = False
    try:
        with contextlib.redirect_stdout(fh), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        finn_log.handlers, finn_log.propagate = old_handlers, old_prop
        fh.close()


def _minimize_bit_width(model: Any) -> Any:
    """FINN+'s bit-width minimisation: weights, accumulators, thresholds (its builder's sequence)."""
    from finn.transformation.fpgadataflow.minimize_accumulator_width import MinimizeAccumulatorWidth
    from finn.transformation.fpgadataflow.minimize_weight_bit_width import MinimizeWeightBitWidth
    from finn.transformation.streamline.round_thresholds import RoundAndClipThresholds
    from qonnx.transformation.infer_datatypes import InferDataTypes

    for t in (
        MinimizeWeightBitWidth(),
        MinimizeAccumulatorWidth(),
        InferDataTypes(),
        RoundAndClipThresholds(),
        InferDataTypes(),
        MinimizeWeightBitWidth(),
        InferDataTypes(),
    ):
        model = model.transform(t)
    return model


def _estimate_reports(model: Any, report: Path, part: str, clock_ns: float) -> dict[str, Any]:
    """FINN+'s analytical estimate reports, written with the names its builder uses."""
    from functools import partial

    from finn.analysis.fpgadataflow.dataflow_performance import dataflow_performance
    from finn.analysis.fpgadataflow.exp_cycles_per_layer import exp_cycles_per_layer
    from finn.analysis.fpgadataflow.op_and_param_counts import aggregate_dict_keys, op_and_param_counts
    from finn.analysis.fpgadataflow.res_estimation import res_estimation, res_estimation_complete
    from finn.transformation.fpgadataflow.annotate_cycles import AnnotateCycles

    report.mkdir(parents=True, exist_ok=True)

    def dump(name: str, obj: Any) -> None:
        (report / name).write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")

    dump("op_and_param_counts.json", model.analysis(op_and_param_counts))
    cycles = model.analysis(exp_cycles_per_layer)
    dump("estimate_layer_cycles.json", cycles)
    res = model.analysis(partial(res_estimation, fpgapart=part))
    res["total"] = aggregate_dict_keys(res)
    dump("estimate_layer_resources.json", res)
    dump(
        "estimate_layer_config_alternatives.json",
        model.analysis(partial(res_estimation_complete, fpgapart=part)),
    )
    model = model.transform(AnnotateCycles())
    perf = dict(model.analysis(dataflow_performance))
    perf["estimated_throughput_fps"] = (1e9 / clock_ns) / float(perf["max_cycles"])
    perf["estimated_latency_ns"] = float(perf["critical_path_cycles"]) * clock_ns
    dump("estimate_network_performance.json", perf)
    return {"cycles": cycles, "resources": res, "performance": perf, "model": model}


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def _layers(model: Any, cycles: dict[str, Any], res: dict[str, Any]) -> list[dict[str, Any]]:
    from qonnx.custom_op.registry import getCustomOp

    rows = []
    for n in model.graph.node:
        if not n.domain.startswith("finn.custom_op.fpgadataflow"):
            continue
        inst = getCustomOp(n)
        known = inst.get_nodeattr_types()
        r = res.get(n.name, {})
        row = {"name": n.name, "op_type": n.op_type, "cycles": int(cycles.get(n.name, 0))}
        for a in ("PE", "SIMD"):
            if a in known:
                row[a] = int(inst.get_nodeattr(a))
        row.update({k: float(r.get(k, 0)) for k in ("LUT", "BRAM_18K", "URAM", "DSP")})
        rows.append(row)
    return rows


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished run ``tmp`` to ``out``; an older ``out`` is only removed after the swap."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# the build
# ----------------------------------------------------------------------------------------------


def build(
    onnx_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    folding: str | os.PathLike[str] | None = None,
    target_fps: float | None = None,
    device: str | None = None,
    clock_ns: float | None = None,
    part: str | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    n_check: int = 1000,
    n_check_hw: int = 100,
    data_root: str | None = None,
    mvau_wwidth_max: int = 36,
    utilization: float = 0.85,
    label_select: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Compile ``onnx_path`` with FINN+ into ``out_dir`` and return the summary (``finn_build.json``).

    Folding: ``folding`` (a FINN folding JSON, e.g. ``nash hw estimate --out``'s), else
    ``target_fps`` (FINN+'s SetFolding), else ``device`` alone (the fastest SetFolding target that
    fits ``utilization`` x the device), else maximum parallelism (SetFolding with a 1-cycle target,
    weight streams capped at ``mvau_wwidth_max`` bits, two-pass relaxation). ``device`` also sets
    the FPGA part and default clock; without it the part is the U250's and the clock 5 ns.

    With ``checkpoint`` the integer-graph check runs on ``n_check`` test images of the checkpoint's
    dataset (HW-layer graph on the first ``n_check_hw`` of them) and ``finn_check.json`` is written.

    Raises:
        FinnNotInstalledError: FINN+ is not importable.
        FinnError / UnmappedNodesError: unreadable model, or nodes that cannot become HW layers.
        FoldingError: a folding file that does not fit the graph. ConfigError: bad option values.
    """
    require_finn()
    t_start = time.perf_counter()
    src = Path(onnx_path)
    out = Path(out_dir)
    if folding is not None and target_fps is not None:
        raise ConfigError("give either --folding or --target-fps, not both")
    if target_fps is not None and target_fps <= 0:
        raise ConfigError(f"--target-fps must be > 0, got {target_fps}")
    if n_check < 0 or n_check_hw < 0:
        raise ConfigError("--n-check and --n-check-hw must be >= 0")
    part, clock, dev = _resolve_target(device, clock_ns, part)
    model = _load(src)
    ckpt_path = Path(checkpoint) if checkpoint else None
    if ckpt_path is not None and not ckpt_path.is_file():
        raise FinnError(f"checkpoint {ckpt_path} not found; pass the best.pt the model was exported from")
    fold_cfg = None
    if folding is not None:
        from nash.finn.folding import load_folding_file

        fold_cfg = load_folding_file(folding)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "intermediate_models").mkdir(parents=True)
    try:
        summary = _run(
            model,
            src,
            tmp,
            out,
            part=part,
            clock=clock,
            dev=dev,
            fold_cfg=fold_cfg,
            folding=folding,
            target_fps=target_fps,
            utilization=utilization,
            mvau_wwidth_max=mvau_wwidth_max,
            label_select=label_select,
            ckpt_path=ckpt_path,
            n_check=n_check,
            n_check_hw=n_check_hw,
            data_root=data_root,
            progress=progress,
        )
        summary["seconds"]["total"] = round(time.perf_counter() - t_start, 2)
        (tmp / "finn_build.json").write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")
    except BaseException:
        failed = out.with_name(f"{out.name}.failed")
        shutil.rmtree(failed, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.replace(tmp, failed)
        raise
    _replace_dir(tmp, out)
    return summary


def _run(model: Any, src: Path, tmp: Path, out: Path, **kw: Any) -> dict[str, Any]:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp
    from qonnx.transformation.general import GiveUniqueNodeNames
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes
    from tqdm.auto import tqdm

    from nash.finn import steps
    from nash.finn.folding import apply_folding_file, fit_device, folding_of, load_shapes_beside, set_folding

    inter = tmp / "intermediate_models"
    log_file = tmp / "build.log"
    seconds: dict[str, float] = {}
    names = [
        "qonnx_to_finn",
        "tidy",
        "streamline",
        "convert_to_hw",
        "dataflow_partition",
        "specialize",
        "folding",
        "minimize_bit_width",
        "estimate_reports",
    ]
    bar = tqdm(total=len(names), desc="FINN+ build", disable=not kw["progress"], leave=False)

    def step(name: str, fn: Callable[[], Any]) -> Any:
        bar.set_postfix_str(name)
        t = time.perf_counter()
        try:
            with _captured(log_file):
                value = fn()
        except NashError:
            raise
        except Exception as exc:  # FINN+/qonnx raise assorted exception types; make them one line
            msg = " ".join(str(exc).split())[:300]
            raise FinnError(
                f"FINN+ failed in step {name}: {type(exc).__name__}: {msg} (intermediate models and "
                f"build.log in {out.name}.failed/)"
            ) from exc
        seconds[name] = round(time.perf_counter() - t, 2)
        bar.update(1)
        return value

    meta = _meta(model)
    from_ckpt = False
    if kw["ckpt_path"] is not None and not (meta.get("mean") and meta.get("std")):
        # a file without our metadata (e.g. exported by hand): take the normalisation from the
        # checkpoint, so that the accelerator's pixel input matches what the model was trained on
        from nash.export import load_checkpoint

        data = load_checkpoint(kw["ckpt_path"]).get("data") or {}
        if data.get("mean") and data.get("std"):
            meta.update(mean=json.dumps(list(data["mean"])), std=json.dumps(list(data["std"])))
            from_ckpt = True
    shape = model.get_tensor_shape(model.graph.input[0].name) or []
    channels = int(shape[1]) if len(shape) == 4 else 1
    prep = steps.input_preprocessing(meta, channels) if len(shape) == 4 else None
    if prep is not None and from_ckpt and prep["source"] == "metadata":
        prep["source"] = "checkpoint"
    model = step("qonnx_to_finn", lambda: steps.step_qonnx_to_finn(model, prep))
    model = step("tidy", lambda: steps.step_tidy(model))
    model.save(str(inter / "finn.onnx"))
    streamlined = step("streamline", lambda: steps.step_streamline(model))
    streamlined.save(str(inter / "streamlined.onnx"))

    def convert() -> Any:
        m = steps.step_label_select(streamlined) if kw["label_select"] else streamlined
        m = steps.step_convert_to_hw(m)
        return m

    hw = step("convert_to_hw", convert)
    hw.save(str(inter / "hw_layers.onnx"))
    outside = _check_hw(hw)

    def partition() -> Any:
        from finn.transformation.fpgadataflow.create_dataflow_partition import CreateDataflowPartition

        m = _minimize_bit_width(hw)  # FINN+ minimises once before specialisation as well
        parent = m.transform(
            CreateDataflowPartition(partition_model_dir=str(inter / "supported_op_partitions"))
        )
        sdps = parent.get_nodes_by_op_type("StreamingDataflowPartition")
        if len(sdps) != 1:
            raise UnmappedNodesError(
                f"FINN+ made {len(sdps)} dataflow partitions instead of one; nodes outside: "
                + ", ".join(n.name for n in parent.graph.node if n.op_type != "StreamingDataflowPartition"),
                [n.name for n in parent.graph.node if n.op_type != "StreamingDataflowPartition"],
            )
        inst = getCustomOp(sdps[0])
        child_path = Path(inst.get_nodeattr("model"))
        final_child = out / child_path.relative_to(tmp)
        inst.set_nodeattr("model", str(final_child))
        parent.save(str(inter / "dataflow_parent.onnx"))
        return parent, ModelWrapper(str(child_path))

    parent, df = step("dataflow_partition", partition)
    outside_parent = [n for n in parent.graph.node if n.op_type != "StreamingDataflowPartition"]

    def specialize() -> Any:
        from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers

        m = df.transform(SpecializeLayers(kw["part"]))
        m = m.transform(GiveUniqueNodeNames())
        m = m.transform(InferShapes())
        return m.transform(InferDataTypes())

    df = step("specialize", specialize)
    report = tmp / "report"
    report.mkdir(exist_ok=True)
    fold_info: dict[str, Any] = {}

    def fold() -> Any:
        if kw["fold_cfg"] is not None:
            m, mapping = apply_folding_file(df, kw["fold_cfg"], load_shapes_beside(kw["folding"]))
            fold_info.update(mode="file", file=str(kw["folding"]), mapping=mapping)
            (report / "applied_folding_config.json").write_text(json.dumps(folding_of(m), indent=2) + "\n")
            return m
        if kw["target_fps"] is not None:
            target = int((1e9 / kw["clock"]) / kw["target_fps"])
            fold_info.update(mode="target_fps", target_fps=kw["target_fps"], target_cycles=target)
            m = set_folding(df, target, mvau_wwidth_max=kw["mvau_wwidth_max"])
        elif kw["dev"] is not None:
            m, fit = fit_device(
                df,
                kw["dev"].capacity(),
                kw["part"],
                utilization=kw["utilization"],
                mvau_wwidth_max=kw["mvau_wwidth_max"],
                progress=False,
            )
            fold_info.update(mode="fit", device=kw["dev"].name, utilization=kw["utilization"], **fit)
        else:
            fold_info.update(mode="max", target_cycles=1)
            m = set_folding(df, 1, mvau_wwidth_max=kw["mvau_wwidth_max"])
        (report / "auto_folding_config.json").write_text(json.dumps(folding_of(m), indent=2) + "\n")
        return m

    df = step("folding", fold)
    df = step("minimize_bit_width", lambda: _minimize_bit_width(df))
    est = step("estimate_reports", lambda: _estimate_reports(df, report, kw["part"], kw["clock"]))
    df = est["model"]
    df.save(str(inter / "dataflow.onnx"))
    (report / "final_folding_config.json").write_text(json.dumps(folding_of(df), indent=2) + "\n")
    bar.close()

    perf, res, cycles = est["performance"], est["resources"], est["cycles"]
    layers = _layers(df, cycles, res)
    bottleneck = max(layers, key=lambda r: r["cycles"]) if layers else None
    total = res.get("total", {})
    summary: dict[str, Any] = {
        "model": str(src.resolve()),
        "finn_plus_version": finn_version(),
        "part": kw["part"],
        "clock_ns": kw["clock"],
        "input_preprocessing": prep,
        "folding": fold_info,
        "nodes": {
            "inside_partition": len(df.graph.node),
            "outside_partition": [f"{n.name} ({n.op_type})" for n in outside_parent],
            "outside_documented": [
                f"{n.name} ({n.op_type}): "
                + (
                    "input layout NCHW -> NHWC on the host"
                    if n.op_type == "Transpose"
                    else "output scale on the host"
                )
                for n in outside
            ],
            "hw_layer_kinds": steps.op_histogram(df),
            "all_hw_layers": all(n.domain.startswith(steps.HW_DOMAIN) for n in df.graph.node),
        },
        "performance": {
            "fps": float(perf["estimated_throughput_fps"]),
            "max_cycles": int(perf["max_cycles"]),
            "max_cycles_node": perf.get("max_cycles_node_name"),
            "critical_path_cycles": int(perf["critical_path_cycles"]),
            "latency_ms": float(perf["estimated_latency_ns"]) / 1e6,
            "bottleneck": bottleneck["name"] if bottleneck else None,
        },
        "resources": {k: float(total.get(k, 0)) for k in ("LUT", "BRAM_18K", "URAM", "DSP")},
        "layers": layers,
        "seconds": seconds,
    }
    if kw["dev"] is not None:
        cap = kw["dev"].capacity()
        summary["device"] = {
            "name": kw["dev"].name,
            "utilization": {
                "LUT": summary["resources"]["LUT"] / cap["lut"],
                "BRAM_18K": summary["resources"]["BRAM_18K"] / cap["bram18"],
                "URAM": (summary["resources"]["URAM"] / cap["uram"]) if cap["uram"] else 0.0,
                "DSP": summary["resources"]["DSP"] / cap["dsp"],
            },
        }

    if kw["ckpt_path"] is not None and kw["n_check"] > 0:
        t = time.perf_counter()
        check = _integer_check(
            kw["ckpt_path"],
            streamlined,
            hw,
            prep,
            kw["n_check"],
            kw["n_check_hw"],
            kw["data_root"],
            kw["progress"],
        )
        seconds["integer_check"] = round(time.perf_counter() - t, 2)
        (tmp / "finn_check.json").write_text(json.dumps(check, indent=2, default=_json_default) + "\n")
        summary["check"] = {k: check[k] for k in ("n", "top1_agreement", "max_abs_diff", "ok")}
        summary["check"]["n_hw"] = check.get("hw", {}).get("n", 0)

    if vivado_available():
        t = time.perf_counter()
        summary["hardware"] = _vivado_flow(df, tmp, kw["part"], kw["clock"], log_file)
        seconds["vivado"] = round(time.perf_counter() - t, 2)
    else:
        summary["hardware"] = {"skipped": VIVADO_MISSING}
    return summary


def _integer_check(
    ckpt_path: Path,
    streamlined: Any,
    hw: Any,
    prep: Any,
    n: int,
    n_hw: int,
    data_root: str | None,
    progress: bool,
) -> dict[str, Any]:
    """Load the checkpoint's PyTorch model and test images, run ``nash.finn.check.integer_check``."""
    from nash.export import check_images, load_checkpoint, model_from_checkpoint, run_torch
    from nash.finn.check import from_pixels, integer_check, to_pixels

    if prep is None:
        raise FinnError("the integer check needs an image model (N x C x H x W input)")
    ckpt = load_checkpoint(ckpt_path)
    model = model_from_checkpoint(ckpt)
    images = check_images(ckpt, n, data_root)
    pixels = to_pixels(images, prep)
    torch_logits = run_torch(model, from_pixels(pixels, prep), batch_size=256)
    res = integer_check(torch_logits, pixels, streamlined, hw, n_hw=n_hw, progress=progress)
    res["checkpoint"] = str(ckpt_path.resolve())
    res["dataset"] = (ckpt.get("data") or {}).get("dataset")
    res["compared"] = (
        "PyTorch logits vs the streamlined graph's output (integer classifier accumulator x its float "
        "output scale, so in logit units); HW-layer graph: its LabelSelect top-1 vs PyTorch, and its "
        "integer accumulator vs the streamlined graph's (exact)"
    )
    return res


def _vivado_flow(model: Any, tmp: Path, part: str, clock: float, log_file: Path) -> dict[str, Any]:
    """With Vivado: FINN+'s own builder steps from HW code generation to the stitched IP.

    Not exercised on the development machine (no Vivado there); it calls FINN+'s step functions
    with a ``DataflowBuildConfig`` that mirrors this build.
    """
    from finn.builder import build_dataflow_steps as bds
    from finn.builder.build_dataflow_config import DataflowBuildConfig, DataflowOutputType

    cfg = DataflowBuildConfig(
        output_dir=str(tmp),
        synth_clk_period_ns=clock,
        fpga_part=part,
        generate_outputs=[DataflowOutputType.STITCHED_IP],
        folding_config_file=None,
        target_fps=None,
    )
    done = []
    with _captured(log_file), contextlib.redirect_stderr(io.StringIO()):
        for name in ("step_generate_hardware", "step_create_stitched_ip"):
            model = getattr(bds, name)(model, cfg)
            done.append(name)
    model.save(str(tmp / "intermediate_models" / "stitched_ip.onnx"))
    return {"steps": done, "output_dir_files": sorted(p.name for p in tmp.iterdir())}
