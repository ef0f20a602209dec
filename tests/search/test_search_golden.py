"""Golden search results recorded before the op table was shared (issue 13): a 3-step search with a
fixed seed gives the same genotype and alphas (float supernet and quantised proxy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nash.config.search import SearchConfig
from nash.io import read_jsonl
from nash.search import run_search

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_search.json").read_text())
SETTINGS = {"v3": {}, "v2_proxy": {"strategy": "v2", "quantized_proxy": True}}


@pytest.mark.parametrize("case", sorted(SETTINGS))
def test_search_matches_golden(case, fmnist_dir, tmp_path):
    base = dict(dataset="fashion-mnist", data_root=str(fmnist_dir), train_subset=256, batch_size=16, width=4,
                stem="small", steps_per_epoch=3, epochs=1, seed=0, device="cpu", strategy="v3")  # fmt: skip
    genotype = run_search(SearchConfig(**(base | SETTINGS[case])), tmp_path, progress=False)
    golden = GOLDEN[case]
    assert [list(map(list, cell)) for cell in genotype.cells] == golden["cells"]
    alphas = read_jsonl(tmp_path / "alphas.jsonl")[-1]
    torch.testing.assert_close(
        torch.tensor(alphas["alpha"]), torch.tensor(golden["alpha"]), rtol=0, atol=1e-7
    )
    assert read_jsonl(tmp_path / "log.jsonl")[-1]["train_loss"] == pytest.approx(
        golden["train_loss"], abs=1e-5
    )
