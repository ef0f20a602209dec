# Two commands a new user needs: `make demo` and `make test`. Both set up .venv if needed.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

setup:
	@PYTHON=$(PY) VENV=$(VENV) bash scripts/setup.sh

# One torch thread per job: the demo's many small kernels run as fast or faster on one thread here,
# and its numbers then do not depend on the machine's core count (README, "Determinism"). DEMO_JOBS
# searches / grid cells run at a time in worker processes (`nash run --jobs`; results do not depend
# on it). `make demo DEMO_JOBS=1` runs them one after the other.
THREADS ?= 1
DEMO_JOBS ?= 2
demo: setup
	OMP_NUM_THREADS=$(THREADS) MKL_NUM_THREADS=$(THREADS) $(BIN)/nash run configs/demo.yaml --out runs/demo --jobs $(DEMO_JOBS)

# The report's real-browser test needs Debian's chromium (installed here when root+apt; skipped with a
# reason otherwise, an error when NASH_REQUIRE_BROWSER=1 as in CI).
# JOBS pytest-xdist workers (each runs torch on one thread, tests/conftest.py); tests of one file, or
# of one xdist_group, stay on one worker so shared fixtures are built once. `make test JOBS=0` runs
# in one process.
JOBS ?= 2
test: setup
	@bash scripts/install-browser.sh
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup --no-loadscope-reorder

lint: setup
	$(BIN)/ruff check src tests bench && $(BIN)/ruff format --check src tests bench

# bench/reference_search_bench.py needs the authors' code (NASH_REFERENCE_DIR=a clone of MFJI/NASH).
bench: setup
	for b in bench/*_bench.py; do \
	  if [ "$$b" = bench/reference_search_bench.py ] && [ -z "$$NASH_REFERENCE_DIR" ]; then \
	    echo "== $$b skipped: set NASH_REFERENCE_DIR to a clone of https://github.com/MFJI/NASH"; continue; fi; \
	  echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
