"""``nash train`` / ``nash eval`` smoke runs and one-line user errors."""

from __future__ import annotations

from pathlib import Path

import yaml

from nash.cli import main
from nash.space import Genotype, load_reference_genotypes
from nash.space.reference import PACKAGED_REFERENCE


def _tiny(out: Path, root: Path) -> list[str]:
    return ["train", "--out", str(out), "--bits", "w2a2", "--width", "4", "--epochs", "1", "--batch-size", "16",
            "--train-subset", "32", "--test-subset", "32", "--max-steps-per-epoch", "2", "--data", str(root),
            "--device", "cpu", "--no-progress"]  # fmt: skip


def test_cli_nash_smoke_resume_and_eval(tmp_path: Path, fmnist_dir: Path, reference_genotypes_path: Path,
                                        capsys) -> None:  # fmt: skip
    genotype = load_reference_genotypes(reference_genotypes_path)["v4"].save(tmp_path / "g.json")
    out = tmp_path / "run"
    assert main([*_tiny(out, fmnist_dir), "--genotype", str(genotype)]) == 0
    assert "resnet18 v4 w2a2: top-1" in capsys.readouterr().out  # version taken from the genotype
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["version"] == "v4" and saved["genotype"] == str(genotype) and saved["width"] == 4
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0  # config from the run dir
    assert "(epoch 1," in capsys.readouterr().out
    assert main(["eval", str(out / "best.pt")]) == 0
    printed = capsys.readouterr().out
    assert "top-1" in printed and "on 32 fashion-mnist test images (epoch 1)" in printed


def test_cli_user_errors_are_one_line(tmp_path: Path, fmnist_dir: Path, reference_genotypes_path: Path,
                                      capsys) -> None:  # fmt: skip
    assert main([*_tiny(tmp_path / "a", fmnist_dir), "--bits", "w9a9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unsupported bit width tag 'w9a9'") and "\n" not in err
    genotype = load_reference_genotypes(reference_genotypes_path)["v3"].save(tmp_path / "g.json")
    assert (
        main([*_tiny(tmp_path / "b", fmnist_dir), "--genotype", str(genotype), "--backbone", "resnet34"]) == 2
    )
    assert "searched for resnet18 but --backbone is resnet34" in capsys.readouterr().err
    assert main([*_tiny(tmp_path / "c", fmnist_dir), "--strategy", "v2"]) == 2
    assert "needs a genotype" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.pt")]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing written on bad input


def _rule_breaking(strategy: str) -> Genotype:
    """Max-pool on the size-changing edge x0 -> x1 of cell 1 (a downsample cell)."""
    cells = [[("conv_3x3", j - 1) for j in range(1, 5)] for _ in range(4)]
    cells[1][0] = ("max_pool_3x3", 0)
    return Genotype("resnet18", strategy, cells).validate()


def test_cli_refuses_strategy_mismatch_and_rule_breaking_genotypes(tmp_path: Path, capsys) -> None:
    """Issue 15 item 4: refused before any data is read (the data directory here is empty)."""
    v3 = load_reference_genotypes(PACKAGED_REFERENCE)["v3"].save(tmp_path / "v3.json")
    assert main([*_tiny(tmp_path / "a", tmp_path), "--genotype", str(v3), "--strategy", "v4"]) == 2
    err = capsys.readouterr().err.strip()
    assert "derived by strategy v3 but --strategy is v4" in err and "--strategy v3" in err and "\n" not in err
    for strategy, version in (("v3", "v3"), ("custom", "v1")):
        bad = _rule_breaking(strategy).save(tmp_path / f"bad-{strategy}.json")
        assert main([*_tiny(tmp_path / "b", tmp_path), "--genotype", str(bad), "--strategy", version]) == 2
        err = capsys.readouterr().err.strip()
        assert f"breaks the {version} rule: cell 1 node 1: max_pool_3x3 on size-changing edge x0->x1" in err
        assert "\n" not in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
