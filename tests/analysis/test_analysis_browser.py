"""The report in a real browser: headless Chromium at 1400 px, no horizontal overflow, a screenshot.

Measured with Chromium's ``--dump-dom`` on an instrumented copy of the page (see ``browser.py``):
the page's ``scrollWidth`` against the window, and for every laid-out table its wrapper's
``scrollWidth`` against its ``clientWidth`` (a table wider than its box would scroll). Screenshots go
to pytest's temporary directory, or to ``$NASH_SCREENSHOT_DIR`` when set.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest
from browser import find_chromium, measure_layout, screenshot

CHROMIUM = find_chromium()
# NASH_REQUIRE_BROWSER=1 (for CI): a missing browser fails the tests instead of skipping them
REQUIRED = os.environ.get("NASH_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not REQUIRED,
    reason="no chromium binary on PATH (Debian package `chromium`: run scripts/install-browser.sh, "
    "or point NASH_CHROMIUM at a Chrome/Chromium binary)",
)


@pytest.fixture(autouse=True)
def _browser_present() -> None:
    if CHROMIUM is None:
        pytest.fail("NASH_REQUIRE_BROWSER=1 but no chromium binary found; run scripts/install-browser.sh")


WIDTH = 1400
# tables a reviewer reads: (section heading or id, table class) that must be laid out and must not scroll
KEY_TABLES = ("results", "Error vs BRAM", "Error vs LUT", "Error vs latency", "export", "hardware", "latency",
              "times")  # fmt: skip


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("which", ["demo_reported", "reported"], ids=["demo", "grid20"])
def test_report_fits_a_1400px_window_without_horizontal_scrolling(which, tmp_path, request):
    _, page = request.getfixturevalue(which)
    m = measure_layout(CHROMIUM, page, WIDTH, 900)

    assert m["viewport"] <= WIDTH and m["scrollWidth"] <= m["viewport"], "the page scrolls horizontally"
    sections = {t["section"] for t in m["tables"]}
    assert set(KEY_TABLES) <= sections, f"key tables not laid out: {set(KEY_TABLES) - sections}"
    for t in m["tables"]:
        assert t["boxScrollWidth"] <= t["boxClientWidth"] + 1, (
            f"table in section {t['section']!r} overflows: {t['boxScrollWidth']} > {t['boxClientWidth']} px"
        )
        assert t["tableRight"] <= m["viewport"] + 1
    (results,) = [t for t in m["tables"] if t["cls"] == "results"]
    pareto = [h for h in results["headers"] if h[0] == "Pareto"]
    assert pareto and pareto[0][2] <= m["viewport"], "the Pareto column is cut off"
    assert results["headers"][-1][2] <= m["viewport"], "the last results column is cut off"
    for section, left, right in m["figures"]:
        assert left >= 0 and right <= m["viewport"] + 1, f"figure in {section!r} sticks out"

    png = screenshot(CHROMIUM, page, tmp_path / "report-1400.png", WIDTH, min(int(m["height"]), 16000))
    assert _png_size(png)[0] == WIDTH and png.stat().st_size > 50_000
    keep = os.environ.get("NASH_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / f"report-{request.node.callspec.id}-1400.png")


def test_the_measurement_sees_an_overflowing_table(demo_reported, tmp_path):
    """The check is not vacuous: a results table forced wider than the page is reported."""
    _, page = demo_reported
    wide = page.with_name("wide.html")
    wide.write_text(
        page.read_text(encoding="utf-8").replace("</style>", "table.results { min-width: 1700px; }</style>"),
        encoding="utf-8",
    )
    try:
        m = measure_layout(CHROMIUM, wide, WIDTH, 900)
    finally:
        wide.unlink()
    (results,) = [t for t in m["tables"] if t["cls"] == "results"]
    assert results["boxScrollWidth"] > results["boxClientWidth"]
    assert max(h[2] for h in results["headers"]) > m["viewport"]
