"""A hand-made experiment directory: o/v1..v4 x w1a1..w8a8 with made-up numbers, one failed row,
two genotype files (v1, v3; v2 and v4 point to missing files), one estimate.json, experiment.yaml."""

from __future__ import annotations

import json
from pathlib import Path

VERSIONS = ("o", "v1", "v2", "v3", "v4")
BITS = ("w1a1", "w2a2", "w4a4", "w8a8")
# made-up top-1 per version (rows) and bit tag (columns); NASH versions a little better than o
TOP1 = {
    "o": (52.1, 60.3, 66.0, 68.9),
    "v1": (52.4, 60.6, 66.2, 68.7),
    "v2": (53.9, 62.0, 67.4, None),  # v2 w8a8 failed
    "v3": (54.3, 61.7, 67.8, 70.1),
    "v4": (55.0, 63.2, 68.9, 71.4),
}
BRAM = {"o": 300.0, "v1": 310.0, "v2": 450.0, "v3": 455.0, "v4": 520.0}  # at w1a1; scales with bits
LUT = {"o": 90e3, "v1": 95e3, "v2": 140e3, "v3": 138e3, "v4": 170e3}
LATENCY = {"o": 116.0, "v1": 135.0, "v2": 133.7, "v3": 134.6, "v4": 134.1}

CELL_V1 = [
    [["max_pool_3x3", 0], ["identity", 1], ["identity", 1], ["identity", 1]],
    [["conv_1x1", 0], ["identity", 1], ["identity", 2], ["max_pool_3x3", 2]],
    [["conv_1x1", 0], ["max_pool_3x3", 1], ["identity", 2], ["identity", 0]],
    [["conv_1x1", 0], ["identity", 1], ["conv_3x3", 0], ["identity", 3]],
]
CELL_V3 = [
    [["conv_5x5", 0], ["conv_3x3", 0], ["conv_1x1", 2], ["zero", 3]],
    [["conv_3x3", 0], ["conv_5x5", 1], ["identity", 2], ["conv_1x1", 0]],
    [["conv_1x1", 0], ["conv_3x3", 1], ["max_pool_3x3", 2], ["conv_3x3", 1]],
    [["conv_5x5", 0], ["identity", 1], ["conv_3x3", 2], ["conv_1x1", 3]],
]


def make_rows() -> list[dict]:
    """20 rows; numbers follow the paper's trends but are invented."""
    rows = []
    for version in VERSIONS:
        for k, bits in enumerate(BITS):
            top1 = TOP1[version][k]
            row = {
                "backbone": "resnet18",
                "version": version,
                "bits": bits,
                "status": "ok",
                "error_message": "",
                "device": "xczu7ev",
            }
            if version != "o":
                row["genotype_path"] = f"search/resnet18-{version}/genotype.json"
            if top1 is None:
                row.update(
                    status="failed", error_message="TrainingError: loss became NaN at epoch 3; lower --lr"
                )
                rows.append(row)
                continue
            scale = 2**k
            row.update(
                top1=top1,
                top5=min(99.0, top1 + 22.5),
                error=round(100 - top1, 4),
                params=11_000_000 + 1000 * VERSIONS.index(version),
                macs=1_800_000_000,
                fps=324.54,
                latency_ms=LATENCY[version],
                lut=LUT[version] * (1 + 0.4 * k),
                bram18=BRAM[version] * scale,
                dsp=0.0,
                uram=0.0,
                fits_device=k < 3,
                checkpoint_path=f"train/resnet18-{version}-{bits}/best.pt",
                estimate_path=f"hw/resnet18-{version}-{bits}/estimate.json",
            )
            rows.append(row)
    return rows


def _write_estimate(path: Path) -> None:
    layers = [
        {
            "name": f"MVAU_{i}",
            "op_type": "MVAU",
            "pe": 4,
            "simd": 8,
            "cycles": 40000 - 1000 * i,
            "lut": 2000.0 + i,
            "bram18": 10.0,
            "dsp": 0.0,
            "uram": 0.0,
        }
        for i in range(3)
    ]
    totals = {k: sum(layer[k] for layer in layers) for k in ("lut", "bram18", "dsp", "uram")}
    est = {
        "layers": layers,
        "totals": totals,
        "fps": 324.54,
        "latency_ms": 134.6,
        "bottleneck": "MVAU_0",
        "device": "xczu7ev",
        "fits": True,
        "unsupported": [],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(est), encoding="utf-8")


def build_experiment(root: Path) -> Path:
    """Write the hand-made experiment into ``root`` (results via nash.analysis.write_results)."""
    from nash.analysis import write_results

    write_results(make_rows(), root)
    for version, cells in (("v1", CELL_V1), ("v3", CELL_V3)):
        p = root / f"search/resnet18-{version}/genotype.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"schema": 1, "backbone": "resnet18", "strategy": version, "cells": cells}))
    _write_estimate(root / "hw/resnet18-v3-w2a2/estimate.json")
    (root / "experiment.yaml").write_text(
        "name: exp\nbackbones: [resnet18]\nversions: [o, v1, v2, v3, v4]\nbits: [w1a1, w2a2, w4a4, w8a8]\nseed: 0\n",
        encoding="utf-8",
    )
    return root
