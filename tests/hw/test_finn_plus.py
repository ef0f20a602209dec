"""``nash hw estimate --generation finn-plus`` equals FINN+ 1.6.1 layer by layer (issue 10, item 4).

Each network is exported (untrained, but for the original ResNet18: see below) and compiled by FINN+
through ``nash.finn.build`` at a target fps (FINN+'s own SetFolding). Then, on the same file:

* ``test_same_folding_same_costs``: FINN+'s final folding config is applied to our lowering
  (``--folding``, node names mapped onto ours by graph structure, ``finn_plus.match``); every layer
  must exist on both sides as the same FINN+ op type (kind and back-end) with equal cycles, LUT, BRAM18, URAM and DSP. The one kind of difference allowed is
  a Thresholding layer whose threshold datatype FINN+ minimised from the threshold values, and only
  when our formula with FINN+'s width gives FINN+'s numbers exactly (``finn_plus.THRESHOLD_CAUSE``).
* ``test_set_folding_matches``: our finn-plus SetFolding for the same target picks FINN+'s PE, SIMD
  and parallel_window for every layer, hence the same fps.

Networks in the default run (issue 10: the comparison runs in CI): Brevitas's cnv_1w1a (3000 fps at
5 ns, the issue's case) and tfc_2w2a, our original ResNet18 and cells 1-2 of NASH-v3 ResNet18 (w2a2,
width 8, 1x32x32). The original ResNet18 is the trained one of tests/finn/test_build_resnet.py,
compiled once per session at 2000 fps (session fixture ``finn_original``; under xdist both files'
tests of it run on one worker); the others are exported untrained. Nothing is cached across runs.

``resnet18-v3-cells12`` is the NASH-v3 ResNet18 without its cells 0 and 3 (stem, the two
downsampling cells 1 and 2 exactly as in the whole network, head; ``finn_plus.export_resnet_cells``):
every kind of NAS edge of the genotype (conv 5x5, conv 1x1, max-pool, identity; binary weights on
8-bit activations) and its adds, forks and pools, 103 FINN+ layers, built in ~30 s. The whole
NASH-v3 ResNet18 (190 layers: FINN+'s build time grows about with the square of the node count,
~130 s of streamlining and bit-width minimisation) is ``-m slow``; the default run's cells-1-2
network covers the same code paths on both sides.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("finn", reason="FINN+ (finn-plus) is not installed")
pytest.importorskip("torch")

import finn_plus as fp  # noqa: E402  (tests/hw on sys.path, conftest.py)

SHARED = None  # the network comes from the session fixture finn_original (a trained export, built once)
NETWORKS = {
    "cnv_1w1a": (lambda out: fp.export_brevitas("cnv_1w1a", out), 3000.0),
    "tfc_2w2a": (lambda out: fp.export_brevitas("tfc_2w2a", out), 100_000.0),
    "resnet18-o": (SHARED, 2000.0),
    "resnet18-v3-cells12": (lambda out: fp.export_resnet_cells("v3", (1, 2), out), 1000.0),
    "resnet18-v3": (lambda out: fp.export_resnet("v3", out), 1000.0),
}
SLOW = {"resnet18-v3"}  # the whole NASH-v3 ResNet18; resnet18-v3-cells12 covers it in the default run
PARAMS = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in NETWORKS]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``runs(net, request)`` -> (onnx path, FINN+ result, target fps), each built once per session."""
    root = tmp_path_factory.mktemp("finn_plus")
    cache: dict = {}

    def get(net: str, request: pytest.FixtureRequest):
        if net not in cache:
            export, fps = NETWORKS[net]
            if export is SHARED:
                run, summary = request.getfixturevalue("finn_original")
                cache[net] = (run / "model.onnx", fp.finn_plus_result(summary, run / "finn"), fps)
            else:
                d = root / net
                d.mkdir()
                path = export(d)
                cache[net] = (path, fp.finn_plus(path, d / "finn", fps), fps)
        return cache[net]

    return get


@pytest.mark.parametrize("net", PARAMS)
def test_same_folding_same_costs(net, runs, request):
    path, finn, _ = runs(net, request)
    est = fp.ours(path, finn["folding_file"], graph=finn["graph"])
    result = fp.compare(est, finn["summary"], finn["threshold_bits"])
    assert result["kinds_equal"], fp.table(result)
    assert not result["diffs"], f"{net}: {result['diffs']}\n{fp.table(result)}"
    assert all(k["name"].startswith("Thresholding_rtl") for k in result["known"])
    assert est.max_cycles == finn["summary"]["performance"]["max_cycles"]
    assert est.critical_path_cycles == finn["summary"]["performance"]["critical_path_cycles"]


@pytest.mark.parametrize("net", PARAMS)
def test_set_folding_matches(net, runs, request):
    from nash.config.hw import HwConfig
    from nash.hw import estimate_model

    path, finn, fps = runs(net, request)
    cfg = HwConfig(fold="target_fps", target_fps=fps, clock_ns=5.0, generation="finn-plus", label_select=True)
    est = estimate_model(path, cfg)
    theirs = json.loads(finn["folding_file"].read_text())
    to_finn = {v: k for k, v in fp.match(est.layers, finn["graph"]).items()}
    mine = {to_finn.get(k, k): v for k, v in est.folding_config().items()}
    differ = {
        name: {a: (mine.get(name, {}).get(a), v[a]) for a in ("PE", "SIMD", "parallel_window") if a in v}
        for name, v in theirs.items()
        if name != "Defaults"
        and any(mine.get(name, {}).get(a) != v[a] for a in ("PE", "SIMD", "parallel_window") if a in v)
    }
    assert not differ, differ
    assert est.fps == pytest.approx(finn["summary"]["performance"]["fps"])
