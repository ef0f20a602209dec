"""``nash train`` / ``nash eval`` smoke runs and one-line user errors."""

from __future__ import annotations

from pathlib import Path

import yaml

from nash.cli import main
from nash.space import load_reference_genotypes


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
