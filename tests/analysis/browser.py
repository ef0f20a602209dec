"""Render a page in headless Chromium (Debian's ``chromium`` package): layout measurements and screenshots.

No Node, no WebDriver: Chromium's own ``--dump-dom`` and ``--screenshot`` switches. To measure, a
copy of the page gets a small script that writes the widths the test needs as JSON into a ``<pre>``
element, and ``--dump-dom`` prints the DOM after the page's scripts ran. The report itself stays
script-free; only the copy is instrumented.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# flags the machine notes prescribe: no sandbox as root, no GPU, and no background network traffic
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

_MEASURE_JS = r"""
<script>
(function () {
  function heading(el) {
    for (let n = el; n; n = n.parentElement) {
      for (let s = n.previousElementSibling; s; s = s.previousElementSibling) {
        if (/^H[1-4]$/.test(s.tagName)) return s.id || s.textContent.trim();
      }
    }
    return "";
  }
  const de = document.documentElement;
  const out = {viewport: de.clientWidth, scrollWidth: de.scrollWidth, height: de.scrollHeight, tables: [],
               figures: []};
  document.querySelectorAll("table").forEach(function (t, i) {
    if (!t.offsetParent) return;  // inside a closed <details>: not laid out
    const box = t.parentElement;
    out.tables.push({
      index: i, section: heading(box), cls: t.className, wrapper: box.className,
      boxScrollWidth: box.scrollWidth, boxClientWidth: box.clientWidth,
      tableRight: t.getBoundingClientRect().right,
      headers: Array.from(t.querySelectorAll("thead th")).map(function (th) {
        const r = th.getBoundingClientRect();
        return [th.textContent, r.left, r.right];
      })
    });
  });
  document.querySelectorAll("figure").forEach(function (f) {
    const r = f.getBoundingClientRect();
    out.figures.push([heading(f), r.left, r.right]);
  });
  const pre = document.createElement("pre");
  pre.id = "nash-measure";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary: ``$NASH_CHROMIUM`` or the first of ``CANDIDATES`` on PATH."""
    env = os.environ.get("NASH_CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(binary: str, args: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="nash-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{binary} exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    return proc


def measure_layout(binary: str, page: Path, width: int = 1400, height: int = 900) -> dict[str, Any]:
    """Lay ``page`` out in a ``width`` x ``height`` window; return page and per-table widths (CSS px)."""
    text = page.read_text(encoding="utf-8")
    probe = page.with_name(page.stem + ".measure.html")
    probe.write_text(text.replace("</body>", _MEASURE_JS + "</body>"), encoding="utf-8")
    try:
        proc = _run(binary, [f"--window-size={width},{height}", "--dump-dom", probe.resolve().as_uri()])
    finally:
        probe.unlink()
    match = re.search(r'<pre id="nash-measure">(.*?)</pre>', proc.stdout, flags=re.S)
    if not match:
        raise RuntimeError(f"no measurement in Chromium's DOM dump; stderr: {proc.stderr.strip()[-800:]}")
    return json.loads(html.unescape(match.group(1)))


def screenshot(binary: str, page: Path, png: Path, width: int = 1400, height: int = 900) -> Path:
    """Save a ``width`` x ``height`` screenshot of ``page`` (use the page height for a full page)."""
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(binary, [f"--window-size={width},{height}", "--hide-scrollbars", f"--screenshot={png.resolve()}",
                  page.resolve().as_uri()])  # fmt: skip
    if not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no screenshot to {png}")
    return png
