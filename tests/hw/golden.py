"""Golden hardware estimates: the networks and settings whose numbers must never change by accident.

``python tests/hw/golden.py`` (re)writes ``golden_estimates.json`` from the current code; the test
``test_golden.py`` recomputes every case and compares cycles, LUT, BRAM18, URAM and DSP per layer
and the totals exactly. Regenerate only for a deliberate change of a formula, and say why in the
commit. Every case names its formula generation (``current``, ``finn-0.9``, ``finn-plus``), so the
recorded numbers do not move when ``HwConfig``'s default generation changes.

Networks: the untrained quantised ResNet18 of ``nash hw estimate --backbone resnet18`` (original
and the paper's NASH-v3 genotype, 3x32x32, 10 classes, torch seed 0), the Brevitas ``cnv_2w2a``
example (seed 0) and the torch-free ResNet-like graphs of ``graphs.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden_estimates.json"

# case id -> (network key, HwConfig fields); the CLI equivalent is in the comment
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    # nash hw estimate --backbone resnet18 --bits w2a2 --input 3x32x32 --classes 10 --fold max
    "resnet18-o-w2a2-max": ("resnet18-o-w2a2", {"fold": "max", "generation": "current"}),
    "resnet18-o-w2a2-fps1000": (
        "resnet18-o-w2a2",
        {"fold": "target_fps", "target_fps": 1000, "generation": "current"},
    ),
    "resnet18-o-w2a2-finn09": ("resnet18-o-w2a2", {"fold": "max", "generation": "finn-0.9"}),
    "resnet18-o-w2a2-fit-zcu104": (
        "resnet18-o-w2a2",
        {"fold": "fit", "device": "ZCU104", "generation": "current"},
    ),
    # ... --genotype paper-v3.json --strategy v3
    "resnet18-v3-w2a2-max": ("resnet18-v3-w2a2", {"fold": "max", "generation": "current"}),
    "resnet18-v3-w2a2-fps1000": (
        "resnet18-v3-w2a2",
        {"fold": "target_fps", "target_fps": 1000, "generation": "current"},
    ),
    "resnet18-v3-w2a2-finn09": ("resnet18-v3-w2a2", {"fold": "max", "generation": "finn-0.9"}),
    "cnv-2w2a-max": ("cnv-2w2a", {"fold": "max", "generation": "current"}),
    "cnv-2w2a-fps1000": ("cnv-2w2a", {"fold": "target_fps", "target_fps": 1000, "generation": "current"}),
    "cnv-2w2a-finn09-pynq": ("cnv-2w2a", {"fold": "max", "generation": "finn-0.9", "device": "Pynq-Z1"}),
    "residual-max": ("residual", {"fold": "max", "label_select": True, "generation": "current"}),
    "residual-unrelaxed": (
        "residual",
        {"fold": "max", "two_pass_relaxation": False, "generation": "current"},
    ),
    "nas-fps50k": (
        "residual-nas",
        {"fold": "target_fps", "target_fps": 50_000, "clock_ns": 5.0, "generation": "current"},
    ),
    "nas-fit-pynq": ("residual-nas", {"fold": "fit", "device": "Pynq-Z1", "generation": "current"}),
    "nas-embedded-v09": ("residual-nas", {"fold": "max", "generation": "finn-0.9", "mem_mode": "external"}),
    "nas-no-minimize": (
        "residual-nas",
        {"fold": "max", "minimize_bit_width": False, "device": "U250", "generation": "current"},
    ),
    "residual-file": (
        "residual",
        {"fold": "file", "folding_file": "golden_folding.json", "generation": "current"},
    ),
    "residual-file-v09": (
        "residual",
        {"fold": "file", "folding_file": "golden_folding_v09.json", "generation": "finn-0.9"},
    ),
    "zoo-max": ("zoo", {"fold": "max", "generation": "current"}),
    "zoo-unrelaxed-pynq": (
        "zoo",
        {"fold": "max", "two_pass_relaxation": False, "device": "Pynq-Z1", "generation": "current"},
    ),
    "zoo-fps-v09": ("zoo", {"fold": "target_fps", "target_fps": 2e6, "generation": "finn-0.9"}),
    # FINN+ 1.6.1 (--generation finn-plus); the formulas are checked against FINN+ by test_finn_plus.py
    "resnet18-o-w2a2-plus-fps1000": (
        "resnet18-o-w2a2",
        {"fold": "target_fps", "target_fps": 1000, "generation": "finn-plus"},
    ),
    "resnet18-v3-w2a2-plus-max": ("resnet18-v3-w2a2", {"fold": "max", "generation": "finn-plus"}),
    "cnv-2w2a-plus-fps1000": (
        "cnv-2w2a",
        {"fold": "target_fps", "target_fps": 1000, "generation": "finn-plus"},
    ),
    "nas-plus-fps50k": (
        "residual-nas",
        {"fold": "target_fps", "target_fps": 50_000, "clock_ns": 5.0, "generation": "finn-plus"},
    ),
    "zoo-plus-max": ("zoo", {"fold": "max", "generation": "finn-plus", "label_select": True}),
}


def _seeded_export(build: Callable[[], Any], shape: tuple[int, int, int], path: Path) -> Path:
    import torch

    torch.manual_seed(0)
    model = build()
    from nash.export import export_model

    return export_model(model.eval(), shape, path)


def _resnet(version: str, out: Path) -> Path:
    import torch

    from nash.hw.from_arch import export_arch

    genotype = None
    if version != "o":
        from nash.space.reference import PACKAGED_REFERENCE, load_reference_genotypes

        genotype = str(out / f"paper-{version}.json")
        load_reference_genotypes(PACKAGED_REFERENCE)[version].save(genotype)
    torch.manual_seed(0)
    return export_arch(
        "resnet18",
        bits="w2a2",
        input_shape="3x32x32",
        num_classes=10,
        genotype=genotype,
        strategy=None if version == "o" else version,
        out_dir=str(out / f"resnet18-{version}"),
    )


def _cnv(out: Path) -> Path:
    import torch
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    torch.manual_seed(0)
    model, _ = model_with_cfg("cnv_2w2a", pretrained=False)
    path = out / "cnv_2w2a.onnx"
    export_qonnx(model.eval(), torch.randn(1, 3, 32, 32), str(path))
    return path


def _graph(kind: str, out: Path) -> Path:
    import onnx

    sys.path.insert(0, str(HERE))
    from graphs import residual_net, zoo_net

    path = out / f"{kind}.onnx"
    model = zoo_net() if kind == "zoo" else residual_net(nas=kind == "residual-nas", c=16, hw=16)
    onnx.save(model, str(path))
    return path


NETWORKS: dict[str, Callable[[Path], Path]] = {
    "resnet18-o-w2a2": lambda out: _resnet("o", out),
    "resnet18-v3-w2a2": lambda out: _resnet("v3", out),
    "cnv-2w2a": _cnv,
    "residual": lambda out: _graph("residual", out),
    "residual-nas": lambda out: _graph("residual-nas", out),
    "zoo": lambda out: _graph("zoo", out),
}


def snapshot(est: Any) -> dict[str, Any]:
    """The numbers a refactor must keep: per layer (name, cycles, LUT, BRAM18, URAM, DSP), totals, fps."""
    layers = [
        [la.name, la.pe, la.simd, c.cycles, c.lut, c.bram18, c.uram, c.dsp]
        for la, c in zip(est.layers, est.costs)
    ]
    return {
        "layers": layers,
        "summary": {
            "totals": est.totals,
            "max_cycles": est.max_cycles,
            "critical_path_cycles": est.critical_path_cycles,
            "fps": est.fps,
            "bottleneck": est.bottleneck,
        },
    }


def compute(case: str, path: Path) -> dict[str, Any]:
    """Snapshot of one case on an already built network file."""
    from nash.config.hw import HwConfig
    from nash.hw import estimate_model

    fields = dict(CASES[case][1])
    if "folding_file" in fields:
        fields["folding_file"] = str(HERE / fields["folding_file"])
    return snapshot(estimate_model(path, HwConfig(**fields)))


def dumps(data: dict[str, Any]) -> str:
    """JSON with one line per layer (diffs of a regenerated file show the layers that moved)."""
    blocks = []
    for case, snap in data.items():
        rows = ",\n".join(f"    {json.dumps(row)}" for row in snap["layers"])
        rest = json.dumps(snap["summary"])
        blocks.append(f' "{case}": {{\n  "layers": [\n{rows}\n  ],\n  "summary": {rest}\n }}')
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def main(out_dir: str) -> None:
    """Build every network into ``out_dir`` and write the golden file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {key: build(out) for key, build in NETWORKS.items()}
    data = {case: compute(case, paths[net]) for case, (net, _) in CASES.items()}
    GOLDEN.write_text(dumps(data), encoding="utf-8")
    print(f"wrote {GOLDEN} ({len(data)} cases)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/nash_golden")
