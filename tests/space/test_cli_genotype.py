"""``nash genotype show|check|reference`` through the real CLI entry point."""

from __future__ import annotations

import json

from nash.cli import main
from nash.space import Genotype

FRIENDLY = [[["conv_3x3", 0], ["identity", 1], ["max_pool_3x3", 1], ["conv_1x1", 0]]] * 4
UNFRIENDLY = [FRIENDLY[0], [["max_pool_3x3", 0]] + FRIENDLY[0][1:], FRIENDLY[0], FRIENDLY[0]]


def write(tmp_path, cells, strategy="v3"):
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"schema": 1, "backbone": "resnet18", "strategy": strategy, "cells": cells}))
    return path


def test_show_prints_nodes_markers_and_verdict(tmp_path, capsys):
    assert main(["genotype", "show", str(write(tmp_path, FRIENDLY))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "genotype: backbone resnet18, strategy v3, 4 cells (cell_layers default)"
    assert lines[1:6] == [
        "cell 0  (stage 0, 4 layers)",
        "  node 1 <- conv_3x3(x0)",
        "  node 2 <- identity(x1)",
        "  node 3 <- max_pool_3x3(x1)",
        "  node 4 <- conv_1x1(x0)",
    ]
    assert lines[6:8] == ["cell 1  (stage 1, 4 layers, downsample)", "  node 1 <- conv_3x3(x0)  *"]
    assert sum(line.endswith("*") for line in lines) == 6  # two x0 edges in each of 3 downsample cells
    assert lines[-1] == "satisfies v3 rule (unfriendly: identity, max_pool_3x3): yes"


def test_show_reports_violations(tmp_path, capsys):
    assert main(["genotype", "show", str(write(tmp_path, UNFRIENDLY))]) == 0
    out = capsys.readouterr().out
    assert "  node 1 <- max_pool_3x3(x0)  *" in out
    assert "): NO, 1 violation(s)" in out


def test_check_exit_codes(tmp_path, capsys):
    assert main(["genotype", "check", str(write(tmp_path, FRIENDLY))]) == 0
    assert "ok (resnet18, strategy v3, 4 cells)" in capsys.readouterr().out
    path = write(tmp_path, UNFRIENDLY)
    assert main(["genotype", "check", str(path)]) == 2
    out = capsys.readouterr().out
    assert "1 violation(s) of the v3 rule" in out
    assert "  - cell 1 node 1: max_pool_3x3 on size-changing edge x0->x1" in out
    assert main(["genotype", "check", str(path), "--unfriendly", "identity"]) == 0
    assert main(["genotype", "check", str(write(tmp_path, FRIENDLY, strategy="v4"))]) == 2
    assert "8 violation(s) of the v4 rule" in capsys.readouterr().out


def test_check_bad_files(tmp_path, capsys):
    path = tmp_path / "g.json"
    path.write_text("{not json")
    assert main(["genotype", "check", str(path)]) == 2
    assert "error: " in capsys.readouterr().err
    assert main(["genotype", "show", str(tmp_path / "none.json")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["genotype", "check", str(write(tmp_path, FRIENDLY)), "--unfriendly", "conv_9x9"]) == 2
    assert "unknown op 'conv_9x9'" in capsys.readouterr().err


def test_reference_writes_the_paper_genotype(tmp_path, capsys, reference_genotypes_path):
    out = tmp_path / "sub" / "G.json"
    args = [
        "genotype",
        "reference",
        "--version",
        "v3",
        "--out",
        str(out),
        "--fixture",
        str(reference_genotypes_path),
    ]
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    g = Genotype.load(out)
    assert (g.strategy, g.cells[3][3]) == ("v3", ("conv_5x5", 2))
    assert (
        main(["genotype", "reference", "--version", "v3", "--out", str(tmp_path / "d.json")]) == 0
    )  # default
    assert Genotype.load(tmp_path / "d.json") == g
    assert main(["genotype", "reference", "--version", "v7", "--out", str(out)]) == 2
    assert "choose one of v1, v2, v3, v4" in capsys.readouterr().err
    assert (
        main(
            [
                "genotype",
                "reference",
                "--version",
                "v3",
                "--out",
                str(out),
                "--fixture",
                str(tmp_path / "missing.json"),
            ]
        )
        == 2
    )


def test_check_rejects_zero_as_a_nodes_only_op(tmp_path, capsys):
    """Issue 15 item 4: a node whose only op is zero has no NAS edge; check and validation refuse it."""
    cells = [FRIENDLY[0], [["conv_3x3", 0], ["zero", 1]] + FRIENDLY[0][2:], FRIENDLY[0], FRIENDLY[0]]
    assert main(["genotype", "check", str(write(tmp_path, cells))]) == 2
    err = capsys.readouterr().err.strip()
    assert "cell 1 node 2: 'zero' cannot be a node's only op" in err and "\n" not in err
