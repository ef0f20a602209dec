#!/usr/bin/env bash
# Idempotent set-up: .venv with the package (editable) and its dev tools, plus Debian's
# Fashion-MNIST when apt and root are available. Fast (<1 s) when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
FMNIST_DIR=/usr/share/datasets/fashion-mnist

say() { printf '[setup] %s\n' "$*"; }

# 1. Fashion-MNIST, the embedded default dataset (Debian package dataset-fashion-mnist).
if [ ! -d "$FMNIST_DIR" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing Debian's dataset-fashion-mnist ..."
    if ! { apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
           || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; }; }; then
      say "WARNING: could not install dataset-fashion-mnist; pass --data DIR with the IDX files to 'nash' commands."
    fi
  else
    say "WARNING: $FMNIST_DIR is missing and apt/root is not available."
    say "         Install it with 'sudo apt-get install dataset-fashion-mnist' or pass --data DIR (IDX files)."
  fi
fi

# 2. Virtual environment with the package.
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.setup-stamp"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip 2>/dev/null || true
# The CPU wheel first: with torch already satisfied the resolver never reaches for a CUDA build.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  say "installing torch (CPU build 2.13.0)"
  $PIP install -q torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" -c "import torch" || { say "ERROR: torch failed to install"; exit 1; }
fi
say "installing nash and its dependencies into $VENV"
$PIP install -q -e ".[dev,finn]" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import nash, brevitas, qonnx, onnxruntime, finn" || { say "ERROR: package install failed"; exit 1; }
echo "$want" > "$stamp"
say "done: $("$VENV/bin/nash" --version)"
