"""The pipeline's steps, in one table (``STEPS``) that the runner iterates in order.

A ``Step`` knows its settings for a grid cell, the upstream artefacts it reads (``inputs``), the
files it leaves in its directory, how to do the work, and how to put its outputs into a results
row. Adding a stage = one ``Step`` in ``STEPS`` (and its name in ``nash.config.pipeline.STAGES``).
Steps import their stage lazily so ``nash run --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nash.config.base import from_dict, to_dict
from nash.config.pipeline import DEFAULT_HW_STRATEGY, ExperimentConfig
from nash.errors import ConfigError
from nash.pipeline.stage import StageResult, read_record, run_stage, settings_diff
from nash.runtime import quiet_brevitas  # re-exported: the pipeline calls it before exports

__all__ = [
    "Context",
    "Step",
    "STEPS",
    "check_sections",
    "planned_conflicts",
    "plan_lines",
    "quiet_brevitas",
]

# (backbone, version) for search (a version: v1..v4 or a hardware-aware variant);
# (backbone, version, bits) for the rest
Cell = tuple[str, ...]


@dataclass(frozen=True)
class Context:
    """Where an experiment lives, how it was configured, and how it should run."""

    cfg: ExperimentConfig
    root: Path
    progress: bool = True
    rerun: frozenset[str] = frozenset()  # stages whose changed settings re-run instead of failing
    log: Callable[[str], None] = print

    def dir(self, stage: str, *parts: str) -> Path:
        """The run directory of one stage for one grid cell, e.g. ``train/resnet18-v3-w2a2``."""
        return self.root / stage / "-".join(parts)


@dataclass(frozen=True)
class Step:
    """One pipeline stage; see the module docstring."""

    name: str
    scope: str  # "strategy": once per (backbone, strategy); "cell": once per grid cell
    doing: str | Callable[[Context, Cell], str]  # what the log says when it starts
    files: Mapping[str, str]  # output name -> file name in the stage directory
    settings: Callable[[Context, Cell], dict[str, Any]]
    work: Callable[[Context, Cell, Path, Mapping[str, StageResult], bool], dict[str, Any]]
    inputs: Callable[[Context, Cell, Mapping[str, StageResult]], dict[str, Path]] = lambda c, k, u: {}
    fill: Callable[[dict[str, Any], StageResult, Context], None] = lambda row, res, ctx: None
    free: tuple[str, ...] = ()  # settings that may change without changing the result
    may_rerun: bool = False  # changed settings re-run it without --rerun (cheap, deterministic)
    section: str = ""  # the experiment config section its settings come from
    enabled: Callable[[ExperimentConfig], bool] = field(default=lambda cfg: True)  # off: not run
    # the settings' defaults: records written before a setting existed match it at its default
    defaults: Callable[[], dict[str, Any]] | None = None

    def directory(self, ctx: Context, cell: Cell) -> Path:
        return ctx.dir(self.name, *cell)

    def key_name(self, key: str, ctx: Context | None = None, cell: Cell | None = None) -> str:
        """A settings key as the experiment config spells it (``lr`` -> ``train.lr``); a variant's
        search keys name the section they come from (``hw_variants.hw-l0.3.hw_weight``)."""
        if key in ("seed", "backbone", "version", "strategy", "bits"):
            return key
        if key == "reference":
            return "reference_genotypes"
        if self.name == "search" and ctx is not None and cell is not None and ctx.cfg.is_variant(cell[1]):
            if key in ctx.cfg.hw_variants[cell[1]]:
                return f"hw_variants.{cell[1]}.{key}"
            if key in ctx.cfg.hw_search:
                return f"hw_search.{key}"
        return f"{self.section}.{key}" if self.section else key

    def run(self, ctx: Context, cell: Cell, upstream: Mapping[str, StageResult]) -> StageResult:
        """Run (or skip, or resume) this step for one cell; see ``nash.pipeline.stage.run_stage``."""
        out = self.directory(ctx, cell)
        label = "-".join(cell)

        def start(resume: bool, reason: str) -> None:
            why = "" if reason in ("new", "resuming") else f" ({reason})"
            doing = self.doing if isinstance(self.doing, str) else self.doing(ctx, cell)
            ctx.log(f"[{self.name} {label}] {'resuming: ' if resume else ''}{doing}{why}")

        return run_stage(
            self.name,
            out,
            self.settings(ctx, cell),
            lambda resume: self.work(ctx, cell, out, upstream, resume),
            root=ctx.root,
            inputs=self.inputs(ctx, cell, upstream),
            files=self.files,
            free=self.free,
            rerun=self.may_rerun or self.name in ctx.rerun,
            key_name=lambda key: self.key_name(key, ctx, cell),
            label=label,
            on_start=start,
            defaults=self.defaults() if self.defaults else None,
        )

    def conflict(self, ctx: Context, cell: Cell) -> list[tuple[str, Any, Any]]:
        """Settings that differ from this cell's record and would be refused (empty when fine)."""
        if self.may_rerun or self.name in ctx.rerun:
            return []
        record = read_record(self.directory(ctx, cell))
        return [
            (self.key_name(k, ctx, cell), o, n)
            for k, o, n in settings_diff(
                record, self.settings(ctx, cell), self.free, self.defaults() if self.defaults else None
            )
        ]


# ---------------------------------------------------------------- search


def _copies_reference(ctx: Context, version: str) -> bool:
    """True when ``version``'s search is a published genotype (hardware-aware variants always search)."""
    return bool(ctx.cfg.reference_genotypes) and not ctx.cfg.is_variant(version)


def _search_settings(ctx: Context, cell: Cell) -> dict[str, Any]:
    backbone, strategy = cell
    if _copies_reference(ctx, strategy):
        return {"reference": str(ctx.cfg.reference_genotypes), "backbone": backbone, "strategy": strategy}
    return to_dict(_search_config(ctx, cell))


def _search_config(ctx: Context, cell: Cell) -> Any:
    """The SearchConfig of a search cell; a variant's is its merged one (``ExperimentConfig.variant_search``)."""
    from nash.config.search import SearchConfig

    backbone, version = cell
    section = ctx.cfg.search_section(version)
    grid = {"backbone": backbone, "strategy": ctx.cfg.strategy_of(version), "seed": ctx.cfg.seed}
    return from_dict(SearchConfig, {**section, **grid})


def _search_doing(ctx: Context, cell: Cell) -> str:
    version = cell[1]
    if _copies_reference(ctx, version):
        return "copying the reference genotype"
    if not ctx.cfg.is_variant(version):
        return "searching"
    cfg = _search_config(ctx, cell)
    budget = f", budget {cfg.hw_limit:g}" if cfg.hw_limit is not None else ""
    return (
        f"searching, hardware-aware ({cfg.strategy} rule, {cfg.hw_objective} of {cfg.hw_input} "
        f"{cfg.hw_bits}, lambda {cfg.hw_weight:g}{budget}; a new deployment's cost table is built first)"
    )


def _search_work(
    ctx: Context, cell: Cell, out: Path, upstream: Mapping[str, StageResult], resume: bool
) -> dict:
    backbone, strategy = cell
    if _copies_reference(ctx, strategy):
        from nash.space import default_reference_path, load_reference_genotypes

        source = ctx.cfg.reference_genotypes
        path = default_reference_path() if source == "paper" else source
        load_reference_genotypes(path, backbone=backbone)[strategy].save(out / "genotype.json")
        return {}
    from nash.search import run_search

    run_search(_search_config(ctx, cell), out, resume=resume, progress=ctx.progress)
    return {}


def _search_fill(row: dict[str, Any], res: StageResult, ctx: Context) -> None:
    row["genotype_path"] = _rel(ctx, res.files["genotype"])


# ---------------------------------------------------------------- train


def _train_config(ctx: Context, cell: Cell, genotype: str | None) -> Any:
    from nash.config.train import TrainConfig

    backbone, version, bits = cell
    grid = {
        "backbone": backbone,
        "version": ctx.cfg.strategy_of(version),  # a variant trains as its base strategy
        "bits": bits,
        "genotype": genotype,
        "seed": ctx.cfg.seed,
    }
    return from_dict(TrainConfig, {**ctx.cfg.train, **grid})


def _train_settings(ctx: Context, cell: Cell) -> dict[str, Any]:
    placeholder = None if cell[1] == "o" else "search/genotype.json"  # validation wants one
    settings = to_dict(_train_config(ctx, cell, placeholder))
    settings.pop("genotype", None)  # the genotype is an input, identified by its checksum
    return settings


def _train_inputs(ctx: Context, cell: Cell, upstream: Mapping[str, StageResult]) -> dict[str, Path]:
    return {"genotype": upstream["search"].files["genotype"]} if "search" in upstream else {}


def _train_work(
    ctx: Context, cell: Cell, out: Path, upstream: Mapping[str, StageResult], resume: bool
) -> dict:
    from nash.train import run_training

    genotype = upstream["search"].files["genotype"].resolve() if "search" in upstream else None
    cfg = _train_config(ctx, cell, None if genotype is None else str(genotype))
    metrics = run_training(cfg, out, resume=resume, progress=ctx.progress)
    outputs = {k: v for k, v in _plain(metrics).items() if not k.endswith("_path")}
    if outputs.get("num_classes") is None:
        outputs["num_classes"] = _checkpoint_classes(out / "best.pt")
    return outputs


def _checkpoint_classes(path: Path) -> int | None:
    """The classifier width of a training checkpoint (``arch["num_classes"]``), None when unreadable."""
    from nash.errors import NashError
    from nash.runtime import load_checkpoint

    try:
        arch = load_checkpoint(path, required=("arch",))["arch"]
    except NashError:
        return None
    classes = arch.get("num_classes") if isinstance(arch, dict) else None
    return int(classes) if isinstance(classes, int) and not isinstance(classes, bool) else None


def _train_fill(row: dict[str, Any], res: StageResult, ctx: Context) -> None:
    top1 = res.outputs.get("top1")
    classes = res.outputs.get("num_classes")
    if "num_classes" not in res.outputs:  # recorded before the class count was: read the checkpoint
        classes = _checkpoint_classes(res.files["checkpoint"])
    row.update(
        {
            "top1": top1,
            "top5": res.outputs.get("top5"),
            "error": None if top1 is None else round(100.0 - float(top1), 4),
            "params": res.outputs.get("params"),
            "macs": res.outputs.get("macs"),
            "checkpoint_path": _rel(ctx, res.files["checkpoint"]),
            "num_classes": classes,
        }
    )


# ---------------------------------------------------------------- export

_EXPORT_KEYS = {"n_check": int, "strict": bool, "onnxruntime": bool}


def _export_options(section: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment's ``export:`` section: n_check (64), strict (False), onnxruntime (True)."""
    return {
        "n_check": 64,
        "strict": False,
        "onnxruntime": True,
        **_checked_section("export", section, _EXPORT_KEYS),
    }


def _checked_section(name: str, section: Mapping[str, Any], keys: Mapping[str, Callable[[Any], Any]]) -> dict:
    """A plain stage section (``export:``, ``finn:``): unknown keys and bad values are one-line errors."""
    unknown = sorted(set(section) - set(keys))
    if unknown:
        raise ConfigError(f"unknown config key '{name}.{unknown[0]}'; valid keys: {', '.join(keys)}")
    try:
        return {k: keys[k](v) for k, v in section.items() if v is not None}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"experiment section '{name}': {exc}") from None


def _export_work(
    ctx: Context, cell: Cell, out: Path, upstream: Mapping[str, StageResult], resume: bool
) -> dict:
    quiet_brevitas()
    from nash.export import export_checkpoint

    check = export_checkpoint(
        upstream["train"].files["checkpoint"],
        out / "model.onnx",
        data_root=ctx.cfg.train.get("data_root"),
        progress=ctx.progress,
        **_export_options(ctx.cfg.export),
    )
    return {"check": _plain(check)}


def _export_fill(row: dict[str, Any], res: StageResult, ctx: Context) -> None:
    row["onnx_path"] = _rel(ctx, res.files["onnx"])


# ---------------------------------------------------------------- hw


def _hw_config(ctx: Context) -> Any:
    from nash.config.hw import HwConfig

    return from_dict(HwConfig, dict(ctx.cfg.hw))


def _hw_settings(ctx: Context, cell: Cell) -> dict[str, Any]:
    settings = to_dict(_hw_config(ctx))
    deploy = ctx.cfg.deploy_settings()
    return settings if deploy is None else settings | {"deploy": deploy}


def _hw_work(ctx: Context, cell: Cell, out: Path, upstream: Mapping[str, StageResult], resume: bool) -> dict:
    from nash.hw import estimate_model, write_estimate

    deploy = ctx.cfg.deploy_settings()
    source = upstream["export"].files["onnx"]
    if deploy is not None:  # the cell's architecture rebuilt at deployment size (untrained weights)
        from nash.hw.from_arch import export_arch

        backbone, version, bits = cell
        genotype = upstream["search"].files["genotype"] if "search" in upstream else None
        source = export_arch(
            backbone,
            bits=bits,
            input_shape=deploy["input"],
            num_classes=deploy["classes"],
            genotype=None if genotype is None else str(genotype),
            strategy=None if genotype is None else ctx.cfg.strategy_of(version),
            width=deploy["width"],
            stem=deploy["stem"],
            out_dir=str(out),
            recipe=ctx.cfg.recipe,
        )
    est = estimate_model(source, _hw_config(ctx))
    write_estimate(est, out)
    totals = est.totals
    return {
        "scale": "trained export"
        if deploy is None
        else f"deployed {deploy['input']}, {deploy['classes']} classes, width {deploy['width']}",
        "fps": est.fps,
        "latency_ms": est.latency_ms,
        "lut": totals.get("lut"),
        "bram18": totals.get("bram18"),
        "dsp": totals.get("dsp"),
        "uram": totals.get("uram"),
        "fits_device": est.fits if est.device is not None else None,
        "device": est.device.name if est.device is not None else None,
    }


def _hw_fill(row: dict[str, Any], res: StageResult, ctx: Context) -> None:
    for k in ("fps", "latency_ms", "lut", "bram18", "dsp", "uram", "fits_device", "device"):
        row[k] = res.outputs.get(k)
    row["hw_scale"] = res.outputs.get("scale", "trained export")
    row["estimate_path"] = _rel(ctx, res.files["estimate"])


# ---------------------------------------------------------------- finn (FINN+, optional)

_FINN_KEYS: dict[str, Callable[[Any], Any]] = {
    "target_fps": float,
    "clock_ns": float,
    "device": str,
    "folding": str,  # "hw": the folding the hw stage chose (its folding_config.json)
    "n_check": int,
    "n_check_hw": int,
    "mvau_wwidth_max": int,
    "utilization": float,
    "label_select": bool,
}


def _finn_options(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """The experiment's ``finn:`` section, checked: ``{}`` runs FINN+ at maximum parallelism."""
    return _checked_section("finn", section or {}, _FINN_KEYS)


def _finn_work(
    ctx: Context, cell: Cell, out: Path, upstream: Mapping[str, StageResult], resume: bool
) -> dict:
    from nash.finn import build

    opts = _finn_options(ctx.cfg.finn)
    if opts.get("folding") == "hw":
        opts["folding"] = str(upstream["hw"].directory / "folding_config.json")
    summary = build(
        upstream["export"].files["onnx"],
        out / "finn",
        checkpoint=upstream["train"].files["checkpoint"],
        data_root=ctx.cfg.train.get("data_root"),
        progress=ctx.progress,
        **opts,
    )
    check = summary.get("check") or {}
    res = summary.get("resources", {})
    return {
        "finn_fps": summary["performance"]["fps"],
        "finn_latency_ms": summary["performance"]["latency_ms"],
        "finn_lut": res.get("LUT"),
        "finn_bram18": res.get("BRAM_18K"),
        "finn_top1_agreement": check.get("top1_agreement"),
        "finn_check_ok": check.get("ok"),
    }


def _finn_fill(row: dict[str, Any], res: StageResult, ctx: Context) -> None:
    for k in (
        "finn_fps",
        "finn_latency_ms",
        "finn_lut",
        "finn_bram18",
        "finn_top1_agreement",
        "finn_check_ok",
    ):
        row[k] = res.outputs.get(k)


def _config_defaults(module: str, name: str) -> dict[str, Any]:
    import importlib

    return to_dict(getattr(importlib.import_module(module), name)())


STEPS: tuple[Step, ...] = (
    Step(
        name="search",
        scope="strategy",
        doing=_search_doing,
        files={"genotype": "genotype.json"},
        settings=_search_settings,
        work=_search_work,
        fill=_search_fill,
        free=("device", "data_root", "workers"),
        section="search",
        defaults=lambda: _config_defaults("nash.config.search", "SearchConfig"),
    ),
    Step(
        name="train",
        scope="cell",
        doing="training",
        files={"checkpoint": "best.pt"},
        settings=_train_settings,
        work=_train_work,
        inputs=_train_inputs,
        fill=_train_fill,
        free=("device", "data_root", "workers", "log_every"),
        section="train",
        defaults=lambda: _config_defaults("nash.config.train", "TrainConfig"),
    ),
    Step(
        name="export",
        scope="cell",
        doing="exporting to QONNX and checking it against PyTorch (20-80 s on a CPU)",
        files={"onnx": "model.onnx", "check": "export_check.json"},
        settings=lambda ctx, cell: _export_options(ctx.cfg.export),
        work=_export_work,
        inputs=lambda ctx, cell, up: {"checkpoint": up["train"].files["checkpoint"]},
        fill=_export_fill,
        may_rerun=True,
        section="export",
    ),
    Step(
        name="hw",
        scope="cell",
        doing="estimating FINN hardware cost",
        files={"estimate": "estimate.json"},
        settings=_hw_settings,
        work=_hw_work,
        inputs=lambda ctx, cell, up: {"onnx": up["export"].files["onnx"]},
        fill=_hw_fill,
        may_rerun=True,
        section="hw",
        defaults=lambda: _config_defaults("nash.config.hw", "HwConfig"),
    ),
    Step(
        name="finn",
        scope="cell",
        doing="compiling with FINN+ (streamline, HW layers, folding, estimate reports, integer check)",
        files={"summary": "finn/finn_build.json"},
        settings=lambda ctx, cell: _finn_options(ctx.cfg.finn),
        work=_finn_work,
        inputs=lambda ctx, cell, up: {
            "onnx": up["export"].files["onnx"],
            "checkpoint": up["train"].files["checkpoint"],
        },
        fill=_finn_fill,
        may_rerun=True,
        section="finn",
        enabled=lambda cfg: cfg.finn is not None,
    ),
)


def step_cells(ctx: Context, step: Step) -> list[Cell]:
    """The cells a step runs for: (backbone, strategy) pairs or the grid's (backbone, version, bits)."""
    if step.scope == "strategy":
        return [(b, s) for b in ctx.cfg.backbones for s in ctx.cfg.strategies()]
    return list(ctx.cfg.grid())


def planned_conflicts(ctx: Context, steps: tuple[Step, ...]) -> list[tuple[Step, Cell, list]]:
    """Every (step, cell) whose record holds other settings than the config (refused unless --rerun)."""
    found = []
    for step in steps:
        for cell in step_cells(ctx, step):
            diffs = step.conflict(ctx, cell)
            if diffs:
                found.append((step, cell, diffs))
    return found


def check_sections(cfg: ExperimentConfig, to: str = "report") -> None:
    """Validate every stage section before anything runs, so a typo fails in seconds, not hours.

    A missing (or empty) ``search:`` section is an error when a search would run, and a missing
    ``train:`` section when training would: both would silently start the full, paper-scale
    defaults (a 50-epoch width-64 search on 60k images).

    Raises:
        ConfigError: naming the section and the bad key or value.
    """
    from nash.config.hw import HwConfig
    from nash.config.search import SearchConfig
    from nash.config.train import TrainConfig

    names = [s.name for s in STEPS] + ["report"]
    last = names.index(to) if to in names else len(names) - 1
    searching = [v for v in cfg.strategies() if cfg.is_variant(v) or not cfg.reference_genotypes]
    if searching and not cfg.search:
        fix = (
            "set 'reference_genotypes: paper'"
            if not cfg.variants()
            else "hardware-aware variants always search, 'reference_genotypes' does not replace them"
        )
        raise ConfigError(
            "the experiment has no 'search:' section (or it is empty), so versions "
            f"{', '.join(searching)} would search with every paper-scale default; add a 'search:' "
            f"section (see configs/demo.yaml) or {fix}"
        )
    if last >= names.index("train") and not cfg.train:
        raise ConfigError(
            "the experiment has no 'train:' section (or it is empty), so every grid cell would train "
            "with the paper-scale defaults; add a 'train:' section (see configs/demo.yaml)"
        )
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
    for name in cfg.hw_variants:  # every defined variant, listed in versions or not
        try:
            from_dict(SearchConfig, {**cfg.variant_search(name), "backbone": backbone, "seed": cfg.seed})
        except ConfigError as exc:
            raise ConfigError(f"experiment section 'hw_variants.{name}' (over hw_search): {exc}") from None
    _export_options(cfg.export)
    if cfg.finn is not None:
        _finn_options(cfg.finn)


def plan_lines(cfg: ExperimentConfig, to: str = "report") -> list[str]:
    """What ``nash run --plan`` lists after the config: each stage's cells, and each variant's search."""
    ctx = Context(cfg, Path("."), progress=False)
    names = [s.name for s in STEPS] + ["report"]
    last = names.index(to) if to in names else len(names) - 1
    lines = []
    for step in STEPS[: last + 1]:
        if not step.enabled(cfg):
            continue
        cells = ["-".join(c) for c in step_cells(ctx, step)]
        lines.append(f"{step.name} ({len(cells)}): {', '.join(cells) if cells else '-'}")
    variants = cfg.variants()
    if variants and last >= names.index("search"):
        shared = {"strategy": DEFAULT_HW_STRATEGY, **cfg.hw_search}
        lines.append("hardware-aware searches (search: < hw_search: < the variant's settings):")
        lines.append(f"  hw_search: {_settings_text(shared)}")
        for name in variants:
            own = _settings_text(cfg.hw_variants[name]) or "(hw_search as is)"
            lines.append(f"  {name}: {own}; trains as {cfg.strategy_of(name)}")
    return lines


def _settings_text(section: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in section.items())


def _rel(ctx: Context, path: Path) -> str:
    """A path inside the experiment as the results table stores it: relative to the experiment."""
    try:
        return str(Path(path).relative_to(ctx.root))
    except ValueError:
        return str(path)


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
