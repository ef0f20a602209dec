"""``nash models summary`` end to end (in process), including its one-line errors."""

from __future__ import annotations

import json

from nash.cli import main


def test_summary_json_for_a_genotype(tmp_path, reference_genotypes, capsys):
    path = reference_genotypes["v3"].save(tmp_path / "genotype.json")
    argv = [
        "models",
        "summary",
        "--genotype",
        str(path),
        "--bits",
        "w2a2",
        "--width",
        "4",
        "--input",
        "1x16x16",
        "--classes",
        "10",
        "--json",
    ]
    assert main(argv) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["version"], info["stem"], info["bits"]) == ("v3", "small", "w2a2")
    assert info["roles"]["nas_weight_bits"] == 1 and info["roles"]["main_act_bits"] == 2
    assert info["adds"] == 24 and info["nas_edges"] == {
        "conv_1x1": 1,
        "conv_5x5": 4,
        "identity": 2,
        "max_pool_3x3": 9,
    }
    assert info["params"] > 0 and info["macs"] > 0


def test_summary_text_and_errors(capsys):
    assert (
        main(["models", "summary", "--bits", "w1a1", "--width", "4", "--input", "1x16x16", "--classes", "10"])
        == 0
    )
    out = capsys.readouterr().out
    assert "version=o bits=w1a1" in out and "adds (2-input, quantized operands): 8" in out
    assert "NAS edges by op: none (original)" in out
    assert main(["models", "summary", "--bits", "w0a2"]) == 2
    assert "use w1a1..w8a8" in capsys.readouterr().err
    assert main(["models", "summary", "--input", "32x32"]) == 2
    assert "is not CxHxW" in capsys.readouterr().err
