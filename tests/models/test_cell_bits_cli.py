"""Per-cell main-branch bits through the CLI: `nash hw estimate --genotype`, `nash train`/`eval`/`export`.

A schema-2 genotype's ``bits`` must reach the exported graph: the main 3x3 convs of cell ``k``
lower to MVAUs with ``bits[k]`` weight bits, and the first main conv of cell ``k`` reads cell
``k - 1``'s output activation (the stem's for cell 0).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from nash.cli import main
from nash.export import load_qonnx, read_metadata
from nash.space import Genotype, load_reference_genotypes

# weight widths 3..6 occur nowhere else in a w2a2 v3 network (stem/head/shortcuts 8, NAS binary)
BITS = ((3, 2), (4, 5), (5, 6), (6, 7))
LABEL = "w3a2|w4a5|w5a6|w6a7"


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _genotype(tmp_path: Path, reference_genotypes_path: Path, version: str = "v3") -> Path:
    g = load_reference_genotypes(reference_genotypes_path)[version]
    return dataclasses.replace(g, bits=BITS).validate().save(tmp_path / "g.json")


def _main_mvaus(layers: list[dict]) -> dict[int, list[int]]:
    """Weight bits -> input bits of the MVAUs with that weight width, in graph order."""
    out: dict[int, list[int]] = {}
    for layer in layers:
        if layer["op_type"] == "MVAU" and layer["weight_bits"] in (3, 4, 5, 6):
            out.setdefault(layer["weight_bits"], []).append(layer["input_bits"])
    return out


def _check_main_mvaus(layers: list[dict], stem_act_bits: int = 2) -> None:
    by_weight = _main_mvaus(layers)
    assert sorted(by_weight) == [3, 4, 5, 6]
    previous_act = stem_act_bits
    for weight_bits, act_bits in BITS:
        inputs = by_weight[weight_bits]
        assert len(inputs) == 4, (weight_bits, inputs)  # 4 main convs per resnet18 cell
        # first main conv reads the previous cell's output, the other three this cell's ReLUs
        assert sorted(inputs) == sorted([previous_act] + [act_bits] * 3), (weight_bits, inputs)
        previous_act = act_bits


def test_hw_estimate_of_a_bits_genotype(tmp_path, reference_genotypes_path, capsys):
    genotype = _genotype(tmp_path, reference_genotypes_path)
    out = tmp_path / "hw"
    args = ["hw", "estimate", "--backbone", "resnet18", "--genotype", str(genotype), "--bits", "w2a2",
            "--input", "3x32x32", "--classes", "10", "--width", "8", "--stem", "small", "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    data = json.loads((out / "estimate.json").read_text())
    _check_main_mvaus(data["layers"])
    meta = read_metadata(load_qonnx(out / "model.onnx"))
    assert meta["bits"] == LABEL and meta["version"] == "v3"


def test_export_arch_without_cell_bits_keeps_the_tag(tmp_path, reference_genotypes_path):
    from nash.hw.from_arch import export_arch

    g = load_reference_genotypes(reference_genotypes_path)["v3"].save(tmp_path / "plain.json")
    path = export_arch("resnet18", bits="w2a2", input_shape="3x32x32", num_classes=10, genotype=str(g),
                       width=8, stem="small", out_dir=str(tmp_path / "plain"))  # fmt: skip
    assert read_metadata(load_qonnx(path))["bits"] == "w2a2"


def test_train_eval_export_of_a_bits_genotype(tmp_path, fmnist_dir, reference_genotypes_path, capsys):
    genotype = _genotype(tmp_path, reference_genotypes_path, "v4")
    out = tmp_path / "run"
    args = ["train", "--out", str(out), "--genotype", str(genotype), "--bits", "w2a2", "--width", "4",
            "--epochs", "1", "--batch-size", "16", "--train-subset", "32", "--test-subset", "32",
            "--max-steps-per-epoch", "2", "--data", str(fmnist_dir), "--device", "cpu", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert f"resnet18 v4 {LABEL}: top-1" in capsys.readouterr().out
    ckpt = torch.load(out / "best.pt", map_location="cpu", weights_only=False)
    arch = ckpt["arch"]
    assert arch["bits"] == "w2a2" and arch["genotype"]["schema"] == 2
    assert Genotype.from_dict(arch["genotype"]).bits == BITS

    from nash.export.checkpoint import model_from_checkpoint

    model = model_from_checkpoint(ckpt)  # strict weight load: the very same network
    assert model.cell_bits == BITS and model.bits_label == LABEL

    assert main(["eval", str(out / "best.pt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 32

    onnx_path = out / "model.onnx"
    rc = main(["export", str(out / "best.pt"), "--out", str(onnx_path), "--n-check", "4", "--data",
               str(fmnist_dir), "--no-progress", "--skip-onnxruntime"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    check = json.loads((out / "export_check.json").read_text())
    assert check["ok"] and check["top1_agreement"] == 1.0
    assert read_metadata(load_qonnx(onnx_path))["bits"] == LABEL

    hw = tmp_path / "hw"
    assert main(["hw", "estimate", str(onnx_path), "--out", str(hw), "--no-progress"]) == 0
    _check_main_mvaus(json.loads((hw / "estimate.json").read_text())["layers"])
