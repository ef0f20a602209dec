"""Shared test fixtures. The test device comes from NASH_TEST_DEVICE (default ``cpu``).

Every test runs torch (and OpenMP/BLAS in subprocesses) on one thread: the models here are tiny, and
on the shared 2-core machine two spinning OpenMP threads made small training runs 10-15x slower
(tests/pipeline/test_hw_variants.py's tiny real run: 107 s with the default 2 threads, 7 s with one).
``NASH_TEST_THREADS`` overrides the count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

TEST_THREADS = os.environ.get("NASH_TEST_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, TEST_THREADS)  # subprocesses (CLI runs, torchrun, spawned workers)

# pytest-xdist (`make test`: 2 workers, `--dist loadgroup`): the unit of work a worker takes is a test
# file, so module- and session-scoped fixtures are built on one worker only; a whole directory in
# DIRECTORY_UNITS (session fixtures shared by its files: tests/export's exported models, the reports of
# tests/analysis); or one of the named GROUPS (tests sharing a session-scoped build, or a long test
# that is better alone). xdist's own `xdist_group` marks are not used: xdist 3.8 tags node ids in a
# way pytest 9.2 ignores.
DIRECTORY_UNITS = ("tests/export/", "tests/analysis/")
GROUPS = {
    "finn_plus_v3": (  # -m slow: FINN+ build of the whole NASH-v3 ResNet18 (~2.5 min)
        "tests/hw/test_finn_plus.py::test_same_folding_same_costs[resnet18-v3]",
        "tests/hw/test_finn_plus.py::test_set_folding_matches[resnet18-v3]",
    ),
    "finn_original": (  # session fixture finn_original: training and FINN+ build of the original
        "tests/finn/test_build_resnet.py::test_build_original_resnet18",
        "tests/hw/test_finn_plus.py::test_same_folding_same_costs[resnet18-o]",
        "tests/hw/test_finn_plus.py::test_set_folding_matches[resnet18-o]",
    ),
    "accuracy_v3": ("tests/train/test_accuracy.py::test_nash_v3_w2a2_reaches_70",),
    "accuracy_o": ("tests/train/test_accuracy.py::test_original_w2a2_reaches_70_cli_and_eval",),
}
_GROUP_OF = {nodeid: group for group, nodeids in GROUPS.items() for nodeid in nodeids}
# units that start first, the longest first, so that the two workers finish together (CPU seconds of
# each unit with -n 0 on a quiet machine, 2026-11-30; every other unit takes < 20 s)
FIRST = (
    "finn_plus_v3",  # -m slow only (~140 s)
    "tests/hw/test_cost_table.py",  # ~160 s
    "tests/export/",  # ~66 s
    "finn_original",  # ~42 s
    "tests/hw/test_finn_plus.py",  # ~41 s: cnv_1w1a, tfc_2w2a, cells 1-2 of NASH-v3
    "accuracy_o",  # ~40 s
    "accuracy_v3",  # ~35 s
    "tests/pipeline/test_pipeline.py",  # ~27 s
    "tests/models/test_cell_bits_cli.py",  # ~26 s
    "tests/hw/test_golden.py",  # ~24 s
    "tests/pipeline/test_deploy_scale.py",  # ~22 s
)


def work_unit(nodeid: str) -> str:
    """The xdist unit of work of a test: its named group (``GROUPS``), directory or file."""
    if nodeid in _GROUP_OF:
        return _GROUP_OF[nodeid]
    path = nodeid.split("::")[0]
    return next((d for d in DIRECTORY_UNITS if path.startswith(d)), path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadgroup``: xdist's scope scheduling with ``work_unit`` as the scope."""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WorkUnitScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist the units in ``FIRST`` move to the front (xdist hands out units in collection order
    with ``--no-loadscope-reorder``); the order within a unit and of the other units is kept."""
    if os.environ.get("PYTEST_XDIST_WORKER"):

        def rank(item: pytest.Item) -> int:
            unit = work_unit(item.nodeid)
            return FIRST.index(unit) if unit in FIRST else len(FIRST)

        items.sort(key=rank)


FMNIST_DIR = Path(os.environ.get("NASH_FMNIST_DIR", "/usr/share/datasets/fashion-mnist"))


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """``torch.set_num_threads(1)`` for the whole session, so session- and module-scoped fixtures that
    train or export run on one thread too (a function-scoped fixture would not cover them)."""
    try:
        import torch
    except ImportError:  # torch-free checks
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(TEST_THREADS))
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``NASH_CACHE_DIR`` (built cost tables) in this session's temporary directory: tests never read
    or write ~/.cache/nash, and parallel sessions or xdist workers never share a cache."""
    before = os.environ.get("NASH_CACHE_DIR")
    path = tmp_path_factory.mktemp("nash_cache")
    os.environ["NASH_CACHE_DIR"] = str(path)
    yield path
    if before is None:
        os.environ.pop("NASH_CACHE_DIR", None)
    else:
        os.environ["NASH_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def device() -> str:
    """Device for tests that run models."""
    return os.environ.get("NASH_TEST_DEVICE", "cpu")


@pytest.fixture(scope="session")
def fmnist_dir() -> Path:
    """The real Fashion-MNIST IDX directory, or skip with the reason."""
    if (
        not (FMNIST_DIR / "train-images-idx3-ubyte.gz").exists()
        and not (FMNIST_DIR / "train-images-idx3-ubyte").exists()
    ):
        pytest.skip(f"Fashion-MNIST not found at {FMNIST_DIR} (apt-get install dataset-fashion-mnist)")
    return FMNIST_DIR


@pytest.fixture(scope="session")
def reference_genotypes_path() -> Path:
    """The paper's ResNet18 genotypes as shipped with the package (never skips)."""
    from nash.space.reference import PACKAGED_REFERENCE

    return PACKAGED_REFERENCE


@pytest.fixture(scope="session")
def finn_original(tmp_path_factory: pytest.TempPathFactory, fmnist_dir: Path) -> tuple[Path, dict]:
    """(run dir, FINN+ summary): the original ResNet18 (w2a2, width 8, 1x32x32) trained 60 steps,
    exported and compiled by FINN+ at 2,000 fps / 5 ns with the integer check (``finn_runs``), once
    per session for tests/finn/test_build_resnet.py and tests/hw/test_finn_plus.py (xdist unit
    ``finn_original`` keeps them on one worker)."""
    pytest.importorskip("finn", reason="FINN+ (finn-plus) is not installed: pip install -e '.[finn]'")
    from finn_runs import build_with_check, train_export

    run = train_export(tmp_path_factory.mktemp("finn_o"), "o", None, fmnist_dir)
    return run, build_with_check(run)
