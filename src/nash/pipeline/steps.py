"""The pipeline's steps: each turns a grid cell's settings into an artefact in its own directory.

Every step is ``step(ctx, ...) -> StageResult`` built on ``run_stage`` (skip when done, resume when
partial). Steps import their stage lazily so ``nash run --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nash.config.base import from_dict
from nash.config.pipeline import ExperimentConfig
from nash.errors import ConfigError
from nash.pipeline.stage import StageResult, run_stage

__all__ = ["Context", "search_step", "train_step", "export_step", "hw_step", "STEPS"]


@dataclass(frozen=True)
class Context:
    """Where an experiment lives and how it was configured."""

    cfg: ExperimentConfig
    root: Path
    progress: bool = True

    def dir(self, stage: str, *parts: str) -> Path:
        """The run directory of one stage for one grid cell, e.g. ``train/resnet18-v3-w2a2``."""
        return self.root / stage / "-".join(parts)


def search_step(ctx: Context, backbone: str, strategy: str) -> StageResult:
    """Search (Algorithm 1) with one strategy, or copy a published genotype; -> genotype.json."""
    out = ctx.dir("search", backbone, strategy)
    if ctx.cfg.reference_genotypes:
        settings = {"reference": str(ctx.cfg.reference_genotypes), "backbone": backbone, "strategy": strategy}

        def work(resume: bool) -> dict[str, Any]:
            from nash.space import default_reference_path, load_reference_genotypes

            source = ctx.cfg.reference_genotypes
            path = default_reference_path() if source == "paper" else source
            genotypes = load_reference_genotypes(path, backbone=backbone)
            path = genotypes[strategy].save(out / "genotype.json")
            return {"genotype": str(path)}

        return run_stage("search", out, settings, work)

    from nash.config.search import SearchConfig

    scfg = from_dict(
        SearchConfig, {**ctx.cfg.search, "backbone": backbone, "strategy": strategy, "seed": ctx.cfg.seed}
    )

    def work(resume: bool) -> dict[str, Any]:
        from nash.search import run_search

        run_search(scfg, out, resume=resume, progress=ctx.progress)
        return {"genotype": str(out / "genotype.json")}

    return run_stage("search", out, _settings(scfg), work)


def train_step(ctx: Context, backbone: str, version: str, bits: str, genotype: str | None) -> StageResult:
    """QAT training (Algorithm 2) of one grid cell; -> best.pt and its metrics."""
    from nash.config.train import TrainConfig

    out = ctx.dir("train", backbone, version, bits)
    tcfg = from_dict(
        TrainConfig,
        {
            **ctx.cfg.train,
            "backbone": backbone,
            "version": version,
            "bits": bits,
            "genotype": genotype,
            "seed": ctx.cfg.seed,
        },
    )

    def work(resume: bool) -> dict[str, Any]:
        from nash.train import run_training

        metrics = run_training(tcfg, out, resume=resume, progress=ctx.progress)
        return {**_plain(metrics), "checkpoint": str(out / "best.pt")}

    return run_stage("train", out, _settings(tcfg), work)


def export_step(ctx: Context, backbone: str, version: str, bits: str, checkpoint: str) -> StageResult:
    """Export the trained model to QONNX and verify it against PyTorch; -> model.onnx."""
    out = ctx.dir("export", backbone, version, bits)
    opts = _export_options(ctx.cfg.export)
    settings = {"checkpoint": checkpoint, **opts, "source": _stamp(checkpoint)}

    def work(resume: bool) -> dict[str, Any]:
        from nash.export import export_checkpoint

        check = export_checkpoint(
            checkpoint,
            out / "model.onnx",
            data_root=ctx.cfg.train.get("data_root"),
            progress=ctx.progress,
            **opts,
        )
        return {"onnx": str(out / "model.onnx"), "check": _plain(check)}

    return run_stage("export", out, settings, work)


_EXPORT_KEYS = {"n_check": int, "strict": bool, "onnxruntime": bool}


def _export_options(section: dict[str, Any]) -> dict[str, Any]:
    """The experiment's ``export:`` section: n_check (64), strict (False), onnxruntime (True)."""
    unknown = sorted(set(section) - set(_EXPORT_KEYS))
    if unknown:
        raise ConfigError(f"unknown config key 'export.{unknown[0]}'; valid keys: {', '.join(_EXPORT_KEYS)}")
    opts = {"n_check": 64, "strict": False, "onnxruntime": True}
    opts.update({k: _EXPORT_KEYS[k](v) for k, v in section.items()})
    return opts


def hw_step(ctx: Context, backbone: str, version: str, bits: str, onnx_path: str) -> StageResult:
    """Lower the QONNX graph to dataflow layers, fold, estimate; -> estimate.json."""
    from nash.config.hw import HwConfig

    out = ctx.dir("hw", backbone, version, bits)
    hcfg = from_dict(HwConfig, dict(ctx.cfg.hw))

    def work(resume: bool) -> dict[str, Any]:
        from nash.hw import estimate_model, write_estimate

        est = estimate_model(onnx_path, hcfg)
        write_estimate(est, out)
        return {"estimate": str(out / "estimate.json"), **_hw_summary(est)}

    return run_stage("hw", out, {**_settings(hcfg), "source": _stamp(onnx_path)}, work)


def _hw_summary(est: Any) -> dict[str, Any]:
    totals = est.totals
    return {
        "fps": est.fps,
        "latency_ms": est.latency_ms,
        "lut": totals.get("lut"),
        "bram18": totals.get("bram18"),
        "dsp": totals.get("dsp"),
        "uram": totals.get("uram"),
        "fits_device": est.fits if est.device is not None else None,
        "device": est.device.name if est.device is not None else None,
    }


def _settings(cfg: Any) -> dict[str, Any]:
    from nash.config.base import to_dict

    return to_dict(cfg)


def _stamp(path: str) -> str:
    """Identify an input artefact by size and mtime, so a re-trained model is re-exported."""
    p = Path(path)
    st = p.stat()
    return f"{st.st_size}:{int(st.st_mtime)}"


def _plain(d: Any) -> Any:
    """Numbers, strings, lists and dicts only (drop tensors / objects from stage results)."""
    if isinstance(d, dict):
        return {str(k): _plain(v) for k, v in d.items() if _plain(v) is not _DROP}
    if isinstance(d, list | tuple):
        return [_plain(v) for v in d]
    if isinstance(d, str | int | float | bool) or d is None:
        return d
    if hasattr(d, "item"):
        try:
            return d.item()
        except (ValueError, RuntimeError):
            return _DROP
    return str(d)


_DROP = object()

STEPS = {"search": search_step, "train": train_step, "export": export_step, "hw": hw_step}


def check_sections(cfg: ExperimentConfig) -> None:
    """Validate every stage section before anything runs, so a typo fails in seconds, not hours.

    Raises:
        ConfigError: naming the section and the bad key or value.
    """
    from nash.config.hw import HwConfig
    from nash.config.search import SearchConfig
    from nash.config.train import TrainConfig

    backbone = cfg.backbones[0]
    checks = [
        ("search", SearchConfig, {"backbone": backbone, "strategy": "v3"}),
        ("train", TrainConfig, {"backbone": backbone, "version": "o", "bits": cfg.bits[0]}),
        ("hw", HwConfig, {}),
    ]
    for name, cls, grid in checks:
        section = getattr(cfg, name)
        try:
            from_dict(cls, {**section, **grid})
        except ConfigError as exc:
            raise ConfigError(f"experiment section '{name}': {exc}") from None
    _export_options(cfg.export)
