"""Hardware-aware search variants as versions of the grid (issue 11, item 4): plan, records, a real run.

The bookkeeping tests replace search, training, export and estimate by fakes (seconds); the last two
run the real search (hardware term on) and training on a tiny grid, on a hand-made cost table and
(marked slow, ~8 min) on one the builder makes and caches under NASH_CACHE_DIR.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from nash.cli import main
from nash.config.base import from_dict, save_config, to_dict
from nash.config.pipeline import ExperimentConfig
from nash.pipeline import StageChanged, run_experiment

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

EXP = {
    "name": "variants",
    "versions": ["o", "v3"],
    "bits": ["w2a2"],
    "search": {"width": 4, "epochs": 1, "train_subset": 256, "steps_per_epoch": 4, "batch_size": 32},
    "train": {"width": 4, "epochs": 1, "train_subset": 64, "stem": "small"},
    "export": {"n_check": 8, "onnxruntime": False},
    "hw": {"fold": "max", "clock_ns": 5.0},
    "hw_search": {"strategy": "v3", "hw_objective": "bram18", "hw_input": "3x32x32", "hw_classes": 10},
    "hw_variants": {"hw-l0.3": {"hw_weight": 0.3}, "hw-budget": {"hw_limit": 0.8, "hw_weight": 0.1}},
}


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "exp.yaml"
    save_config(from_dict(ExperimentConfig, data), path)
    return path


def test_plan_lists_the_variants_search_and_train_cells(tmp_path, capsys):
    assert main(["run", str(_write(tmp_path, EXP)), "--out", str(tmp_path / "out"), "--plan"]) == 0
    out = capsys.readouterr().out
    search = next(line for line in out.splitlines() if line.startswith("search ("))
    train = next(line for line in out.splitlines() if line.startswith("train ("))
    assert search == "search (3): resnet18-v3, resnet18-hw-l0.3, resnet18-hw-budget"
    for version in ("o", "v3", "hw-l0.3", "hw-budget"):
        assert f"resnet18-{version}-w2a2" in train
    assert "  hw-l0.3: hw_weight 0.3; trains as v3" in out
    assert "  hw-budget: hw_limit 0.8, hw_weight 0.1; trains as v3" in out
    assert "plan ok: 4 grid cells" in out
    assert not (tmp_path / "out").exists()  # a plan runs nothing


def test_plan_of_the_shipped_hw_aware_demo(capsys):
    assert main(["run", str(CONFIGS / "hw-aware-demo.yaml"), "--out", "unused", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "search (8): resnet18-v3, resnet18-hw-l0.1, resnet18-hw-l0.3, resnet18-hw-l1, resnet18-hw-l3, " \
        "resnet18-hw-budget, resnet18-hw-bits, resnet18-hw-fit" in out  # fmt: skip
    assert "hw-fit: hw_fit True, hw_utilization 0.5, hw_objective lut+bram18" in out
    assert "plan ok: 9 grid cells" in out


def test_bad_variant_is_a_one_line_cli_error(tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text("versions: [o]\nbits: [w2a2]\nhw_variants:\n  hw-x: {hw_weight: 0.3}\n")
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--plan"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: hw_variants.hw-x: not hardware-aware") and "\n" not in err


class Fakes:
    """Fakes of search, training, export and estimate that record what they were asked to do."""

    def __init__(self) -> None:
        self.searched: dict[str, object] = {}
        self.trained: dict[str, object] = {}

    def run_search(self, cfg, out_dir, *, resume=False, progress=True):
        from nash.space import Genotype, default_reference_path, load_reference_genotypes

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.searched[out.name] = cfg
        cells = load_reference_genotypes(default_reference_path())[cfg.strategy].cells
        meta = {"search_config": to_dict(cfg)}
        bits = None
        if cfg.hw_aware():
            meta["hw"] = {"objective": cfg.hw_objective, "limit": cfg.hw_limit, "hw_lambda": 0.42,
                          "hw_expected": 0.9, "hw_derived": 0.75, "hw_derived_resources": {"bram18": 0.75},
                          "history": []}  # fmt: skip
            bits = ((2, 2), (4, 4), (4, 4), (2, 2))
        genotype = Genotype("resnet18", cfg.strategy, cells, meta=meta, bits=bits)
        genotype.save(out / "genotype.json")
        return genotype

    def run_training(self, cfg, out_dir, *, resume=False, progress=True):
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.trained[out.name] = cfg
        save_config(cfg, out / "config.yaml")
        (out / "best.pt").write_bytes(f"weights {cfg.version} {cfg.genotype}".encode() * 20)
        return {"top1": 80.0 + len(self.trained), "top5": 99.0, "epoch": 1, "params": 10, "macs": 100,
                "num_classes": 10}  # fmt: skip

    def export_checkpoint(self, ckpt, out_path, **kw):
        out = Path(out_path)
        out.write_bytes(b"onnx:" + Path(ckpt).read_bytes()[:40])
        (out.parent / "export_check.json").write_text('{"ok": true}')
        return {"ok": True, "max_abs_diff": 0.0, "top1_agreement": 1.0, "n": 8, "conformance": []}

    def estimate_model(self, onnx_path, cfg):
        lut = 100.0 + len(Path(onnx_path).parent.name)
        return SimpleNamespace(fps=100.0, latency_ms=1.0, totals={"lut": lut, "bram18": 2, "dsp": 0, "uram": 0},
                               device=None, fits=None)  # fmt: skip

    def write_estimate(self, est, out_dir):
        Path(out_dir, "estimate.json").write_text(json.dumps({"fps": est.fps, "totals": est.totals}))


@pytest.fixture
def fakes(monkeypatch):
    import nash.export
    import nash.hw
    import nash.search
    import nash.train

    f = Fakes()
    monkeypatch.setattr(nash.search, "run_search", f.run_search)
    monkeypatch.setattr(nash.train, "run_training", f.run_training)
    monkeypatch.setattr(nash.export, "export_checkpoint", f.export_checkpoint)
    monkeypatch.setattr(nash.hw, "estimate_model", f.estimate_model)
    monkeypatch.setattr(nash.hw, "write_estimate", f.write_estimate)
    return f


def _run(data: dict, root: Path, **kw):
    cfg = from_dict(ExperimentConfig, data)
    return run_experiment(cfg, root, to=kw.pop("to", "hw"), progress=False, log=lambda s: None, **kw)


def test_variant_cells_search_train_and_record_under_their_name(fakes, tmp_path):
    root = tmp_path / "exp"
    rows = _run(EXP, root)
    assert [r["version"] for r in rows] == ["o", "v3", "hw-l0.3", "hw-budget"]
    assert all(r["status"] == "ok" for r in rows), rows
    # each variant searched with its merged config and the v3 rule; v3 searched without a hardware term
    assert sorted(fakes.searched) == ["resnet18-hw-budget", "resnet18-hw-l0.3", "resnet18-v3"]
    l03, budget = fakes.searched["resnet18-hw-l0.3"], fakes.searched["resnet18-hw-budget"]
    assert (l03.strategy, l03.hw_objective, l03.hw_weight, l03.hw_limit, l03.hw_input) == (
        "v3", "bram18", 0.3, None, "3x32x32")  # fmt: skip
    assert (budget.hw_weight, budget.hw_limit, budget.width) == (0.1, 0.8, 4)
    assert not fakes.searched["resnet18-v3"].hw_aware()
    # a variant trains as its base strategy on its own genotype, at the grid's bits
    train = fakes.trained["resnet18-hw-l0.3-w2a2"]
    assert (train.version, train.bits) == ("v3", "w2a2")
    assert Path(train.genotype) == (root / "search" / "resnet18-hw-l0.3" / "genotype.json").resolve()
    row = rows[2]
    assert row["genotype_path"] == "search/resnet18-hw-l0.3/genotype.json"
    assert row["checkpoint_path"] == "train/resnet18-hw-l0.3-w2a2/best.pt"
    assert (root / "hw" / "resnet18-hw-l0.3-w2a2" / "estimate.json").is_file()
    # the search record holds the variant's full SearchConfig
    record = json.loads((root / "search" / "resnet18-hw-budget" / "stage.json").read_text())
    assert record["settings"]["hw_limit"] == 0.8 and record["settings"]["strategy"] == "v3"
    assert record["settings"]["batch_size"] == 32  # from search:
    with open(root / "results.csv") as fh:
        assert "hw-budget" in fh.read()


def test_changed_variant_setting_is_refused_naming_the_variant(fakes, tmp_path):
    root = tmp_path / "exp"
    _run(EXP, root, to="search")
    changed = {**EXP, "hw_variants": {**EXP["hw_variants"], "hw-l0.3": {"hw_weight": 0.5}}}
    with pytest.raises(
        StageChanged, match=r"search resnet18-hw-l0\.3 ran.*hw_variants\.hw-l0\.3\.hw_weight 0\.3 -> 0\.5"
    ):
        _run(changed, root, to="search")
    shared = {**EXP, "hw_search": {**EXP["hw_search"], "hw_classes": 100}}
    with pytest.raises(StageChanged, match=r"hw_search\.hw_classes 10 -> 100.*--rerun search"):
        _run(shared, root, to="search")
    fakes.searched.clear()
    _run(changed, root, to="search", rerun=["search"])
    assert sorted(fakes.searched) == ["resnet18-hw-l0.3"]  # only the changed variant searches again
    # adding a variant searches only the new one
    fakes.searched.clear()
    more = {**changed, "hw_variants": {**changed["hw_variants"], "hw-l3": {"hw_weight": 3.0}}}
    _run(more, root, to="search")
    assert sorted(fakes.searched) == ["resnet18-hw-l3"]


def test_report_shows_variant_series_and_the_hw_search_table(fakes, tmp_path):
    root = tmp_path / "exp"
    _run(EXP, root, to="report")
    html = (root / "report" / "report.html").read_text(encoding="utf-8")
    md = (root / "report" / "report.md").read_text(encoding="utf-8")
    assert 'id="hwsearch"' in html and "Hardware-aware searches" in md
    table = md.split("## Hardware-aware searches")[1].split("##")[0]
    assert (
        "| resnet18 | hw-l0.3 | v3 | bram18 |" in table and "| resnet18 | hw-budget | v3 | bram18 |" in table
    )
    assert "0.420" in table and "w2a2 | w4a4 | w4a4 | w2a2" in html
    assert "| resnet18 | v3 |" not in table  # the plain search has no hardware term
    pareto_svg = (root / "report" / "pareto_error_lut.svg").read_text(encoding="utf-8")
    assert "hw-l0.3" in pareto_svg and "hw-budget" in pareto_svg  # own legend entries


def _tiny_real(tmp_path: Path, fmnist_dir: Path) -> tuple[list[dict], Path]:
    """search + train of v3 and one variant (lambda 1, a 32 px deployment of width 4) for real."""
    data = {
        **EXP,
        "versions": ["v3"],
        "search": {**EXP["search"], "data_root": str(fmnist_dir)},
        "train": {
            "width": 4,
            "epochs": 1,
            "train_subset": 256,
            "test_subset": 64,
            "max_steps_per_epoch": 4,
            "batch_size": 32,
            "stem": "small",
            "data_root": str(fmnist_dir),
        },  # fmt: skip
        "hw_search": {
            "hw_objective": "bram18",
            "hw_input": "3x32x32",
            "hw_classes": 10,
            "hw_width": 4,
            "hw_stem": "small",
        },  # fmt: skip
        "hw_variants": {"hw-l1": {"hw_weight": 1.0}},
    }
    root = tmp_path / "exp"
    rows = _run(data, root, to="train")
    assert [(r["version"], r["status"], r["error_message"]) for r in rows] == [
        ("v3", "ok", ""), ("hw-l1", "ok", "")]  # fmt: skip
    return rows, root


def _check_tiny_real(root: Path) -> None:
    from nash.space import Genotype

    assert (root / "train" / "resnet18-hw-l1-w2a2" / "best.pt").is_file()
    genotype = Genotype.load(root / "search" / "resnet18-hw-l1" / "genotype.json")
    assert genotype.strategy == "v3" and genotype.meta["hw"]["objective"] == "bram18"
    assert genotype.meta["search_config"]["hw_weight"] == 1.0
    assert "hw" not in Genotype.load(root / "search" / "resnet18-v3" / "genotype.json").meta
    trained = (root / "train" / "resnet18-hw-l1-w2a2" / "config.yaml").read_text()
    assert "version: v3" in trained


def test_tiny_real_run_of_a_variant_on_a_hand_made_table(tmp_path, monkeypatch, fmnist_dir):
    """The real search (hardware term on) and training behind the pipeline; the table is made up."""
    table_build = pytest.importorskip("nash.hw.table_build", reason="no cost-table builder in this checkout")
    import numpy as np

    from nash.space import OPS, cell_edges, cell_specs

    n_edges = sum(len(cell_edges(s)) for s in cell_specs("resnet18"))
    res = ("lut", "bram18", "latency_cycles")
    edges = np.zeros((n_edges, len(OPS), len(res)))
    edges[:, 1:, :] = np.arange(1, len(OPS), dtype=float)[None, :, None]  # dearer op, dearer edge
    table = SimpleNamespace(resources=res, base=np.array([100.0, 10.0, 1000.0]), edges=edges, bits=("w2a2",),
                            cell_bits=None, original=np.array([200.0, 20.0, 2000.0]), device_budget=None,
                            save=lambda path: Path(path).write_text("{}"))  # fmt: skip
    built = []
    monkeypatch.setattr(table_build, "build_cost_table", lambda **kw: built.append(kw) or table)
    _tiny_real(tmp_path, fmnist_dir)
    _check_tiny_real(tmp_path / "exp")
    assert len(built) == 1 and built[0]["input_shape"] == "3x32x32" and built[0]["width"] == 4
    assert (built[0]["version"], built[0]["stem"], built[0]["num_classes"]) == ("v3", "small", 10)


@pytest.mark.slow
def test_tiny_real_run_of_a_variant_builds_and_caches_its_table(tmp_path, monkeypatch, fmnist_dir):
    """As above with the real cost-table builder (about 60 probe exports: 5-8 min on 2 cores)."""
    pytest.importorskip("nash.hw.table_build", reason="no cost-table builder in this checkout")
    monkeypatch.setenv("NASH_CACHE_DIR", str(tmp_path / "cache"))
    _tiny_real(tmp_path, fmnist_dir)
    _check_tiny_real(tmp_path / "exp")
    assert list((tmp_path / "cache").rglob("*.json")), "the cost table was not cached under NASH_CACHE_DIR"
