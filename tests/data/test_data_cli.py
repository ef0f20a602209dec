"""``nash data info`` in-process: output, exit codes, one-line errors."""

from __future__ import annotations

import json

from nash.cli import main


def test_info_on_tiny_idx(write_idx, capsys):
    root = write_idx(n_train=50, n_test=20)
    assert main(["data", "info", "--dataset", "mnist", "--data", str(root), "--image-size", "32"]) == 0
    out = capsys.readouterr().out
    assert "train     50 samples" in out and "test      20 samples" in out
    assert "shape     1x32x32" in out and "classes   10" in out and "(0.1307) / (0.3081)" in out


def test_info_json_on_cifar(write_cifar, capsys):
    assert main(["data", "info", "--dataset", "cifar10", "--data", str(write_cifar()), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (
        info["n_train"] == 50
        and info["shape"] == [3, 32, 32]
        and len(info["measured_train_mean_std"][0]) == 3
    )


def test_info_real_fashion_mnist(fmnist_dir, capsys):
    assert (
        main(["data", "info", "--dataset", "fashion-mnist", "--data", str(fmnist_dir), "--channels", "3"])
        == 0
    )
    out = capsys.readouterr().out
    assert "train     60000 samples" in out and "test      10000 samples" in out
    assert "shape     3x28x28" in out and "Ankle boot" in out and "measured  (0.2860) / (0.3530)" in out


def test_bad_directory_exit_2_one_line(tmp_path, capsys):
    assert main(["data", "info", "--dataset", "fashion-mnist", "--data", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: dataset directory") and "--data" in err and "\n" not in err
    (tmp_path / "empty").mkdir()
    assert main(["data", "info", "--data", str(tmp_path / "empty")]) == 2
    assert "missing train-images-idx3-ubyte" in capsys.readouterr().err


def test_unknown_dataset_and_missing_action(capsys):
    assert main(["data", "info", "--dataset", "svhn"]) == 2
    assert "valid datasets: cifar10, fashion-mnist, imagefolder, mnist" in capsys.readouterr().err
    assert main(["data"]) == 2
