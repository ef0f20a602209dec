"""glibc malloc tuning for CPU training (``nash.allocator``): no page faults per step, and its switch."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from nash import allocator
from nash.allocator import tune_allocator
from nash.cli import main
from nash.errors import ConfigError

# In a fresh process (the thresholds are per process): what tune_allocator answered; how many of
# four 16 MiB tensors glibc serves with mmap (glibc's defaults: all four, its threshold starts at
# 128 KiB; tuned: none); and, with ``train`` as argument, a short QAT run past the activation
# statistics (whose varying work still grows the heap now and then): the page faults of each step
# after six warm-up steps.
_STEPS = """
import ctypes, json, resource, sys, torch
from nash.allocator import tune_allocator
tuned = tune_allocator("cpu")
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                               "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
before = libc.mallinfo2().hblks
big = [torch.ones(4 << 20) for _ in range(4)]
mapped = libc.mallinfo2().hblks - before
del big
if len(sys.argv) < 2:
    print(json.dumps({"tuned": tuned, "mapped": mapped}))
    sys.exit(0)
from brevitas.core.scaling import ParameterFromRuntimeStatsScaling
from nash.models import QuantSpec, build_model, training_layout
torch.set_num_threads(1)
torch.manual_seed(0)
spec = QuantSpec.from_tag("w2a2")
model = build_model("resnet18", None, spec, 10, in_channels=1, width=8, stem="small").train()
model = training_layout(model, "cpu")
for m in model.modules():
    if isinstance(m, ParameterFromRuntimeStatsScaling):
        m.counter = m.collect_stats_steps  # learned scales from the next step on
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(32, 1, 32, 32), torch.randint(0, 10, (32,))
def step():
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
for _ in range(6):
    step()
faults = []
for _ in range(8):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"tuned": tuned, "mapped": mapped, "faults": faults}))
"""


def _run_steps(tune: str, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["NASH_MALLOC_TUNE"] = tune
    cmd = [sys.executable, "-c", _STEPS, *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _glibc() -> tuple[int, ...]:
    """glibc's version as integers, () when the C library is another."""
    name, version = platform.libc_ver()
    return tuple(int(part) for part in version.split(".")) if name == "glibc" and version else ()


@pytest.mark.skipif(platform.system() != "Linux" or _glibc() < (2, 33), reason="glibc >= 2.33 (mallinfo2)")
def test_tuned_process_trains_without_page_faults() -> None:
    tuned, default = _run_steps("1", "train"), _run_steps("0")
    assert tuned["tuned"] is True and default["tuned"] is False
    assert tuned["mapped"] == 0 and default["mapped"] == 4, (tuned, default)
    # Freed activations are reused from the heap: a handful of faults in a typical step. (Under
    # glibc's defaults this small run is often as quiet once its thresholds settle, with bursts of
    # 500-2,000 faults; in the statistics phase its median was 130. The mmap count above is the
    # check that tells the two apart.)
    assert statistics.median(tuned["faults"]) < 20, (tuned, default)


def test_switch_and_user_settings(monkeypatch) -> None:
    monkeypatch.setattr(allocator, "_done", None)
    monkeypatch.setenv("NASH_MALLOC_TUNE", "yes")
    with pytest.raises(ConfigError, match="NASH_MALLOC_TUNE='yes': use 1 .* or 0"):
        tune_allocator("cpu")
    monkeypatch.setenv("NASH_MALLOC_TUNE", "0")
    assert tune_allocator("cpu") is False
    monkeypatch.setattr(allocator, "_done", None)
    monkeypatch.setenv("NASH_MALLOC_TUNE", "1")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")  # the user's own choice is left alone
    assert tune_allocator("cpu") is False
    monkeypatch.setattr(allocator, "_done", None)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    assert tune_allocator("cuda") is False  # GPU runs: nothing to tune, nothing set
    assert allocator._done is None


def test_bad_switch_stops_train_and_search_before_writing(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("NASH_MALLOC_TUNE", "yes")
    out = tmp_path / "run"
    tiny = ["--out", str(out), "--data", str(tmp_path), "--device", "cpu", "--no-progress"]
    for command in ("train", "search"):
        assert main([command, *tiny]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: NASH_MALLOC_TUNE='yes'") and "\n" not in err
        assert not out.exists()
