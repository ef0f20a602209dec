#!/usr/bin/env bash
# Install headless Chromium (Debian package `chromium`) for the report's real-browser test
# (tests/analysis/test_analysis_browser.py). Idempotent: does nothing when a Chromium/Chrome binary
# is already on PATH. Installs only as root with apt-get; otherwise prints a warning and exits 0, and
# the browser test is skipped with a reason. Set NASH_SKIP_BROWSER=1 to skip the install.
set -u

for bin in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$bin" >/dev/null 2>&1; then
        echo "install-browser: $bin found at $(command -v "$bin"); nothing to do"
        exit 0
    fi
done
if [ "${NASH_SKIP_BROWSER:-0}" = "1" ]; then
    echo "install-browser: WARNING: NASH_SKIP_BROWSER=1, chromium not installed; the browser test will be skipped" >&2
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-browser: WARNING: chromium missing and cannot install it here (needs root and apt-get);" \
         "install Debian's 'chromium' package or set NASH_CHROMIUM=/path/to/chrome, else the browser test is skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-browser: installing Debian's chromium (apt-get update + install, ~1-2 min)"
if ! apt-get install -y -qq chromium >/dev/null 2>&1; then
    # the package lists may be missing or stale on a fresh machine: update once and retry
    apt-get update -qq >/dev/null 2>&1 || true
    if ! apt-get install -y -qq chromium >/dev/null; then
        echo "install-browser: WARNING: apt-get install chromium failed; the browser test will be skipped" >&2
        exit 0
    fi
fi
echo "install-browser: $(chromium --version 2>/dev/null || echo 'chromium installed')"
