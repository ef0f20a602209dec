"""Golden search results: a 3-step search with a fixed seed gives the same genotype and alphas (float
supernet and quantised proxy).

The NCHW goldens were recorded before the op table was shared (issue 13) and still hold with
``NASH_CHANNELS_LAST=0``. The search runs in channels-last layout on CPU since issue 14
(``nash.models.layout``); its goldens (``<case>@channels_last``) were recorded then. After 3 steps
the alphas are a few Adam steps from zero, so the rounding of the other layout moves them by up to
one step size (1e-3) and could change the argmax of a near-tie; on one torch thread (the tests')
both genotypes are the same in both layouts (with two threads v2_proxy's is not).
"""

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


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("case", sorted(SETTINGS))
def test_search_matches_golden(case, layout, fmnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NASH_CHANNELS_LAST", "1" if layout == "channels_last" else "0")
    base = dict(dataset="fashion-mnist", data_root=str(fmnist_dir), train_subset=256, batch_size=16, width=4,
                stem="small", steps_per_epoch=3, epochs=1, seed=0, device="cpu", strategy="v3")  # fmt: skip
    genotype = run_search(SearchConfig(**(base | SETTINGS[case])), tmp_path, progress=False)
    golden = GOLDEN[case if layout == "nchw" else f"{case}@channels_last"]
    assert [list(map(list, cell)) for cell in genotype.cells] == golden["cells"]
    alphas = read_jsonl(tmp_path / "alphas.jsonl")[-1]
    torch.testing.assert_close(
        torch.tensor(alphas["alpha"]), torch.tensor(golden["alpha"]), rtol=0, atol=1e-7
    )
    assert read_jsonl(tmp_path / "log.jsonl")[-1]["train_loss"] == pytest.approx(
        golden["train_loss"], abs=1e-5
    )
