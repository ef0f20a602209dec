"""``nash hw estimate --fit`` when resources are not monotone in the folding target.

Memory packing can make a slower folding use more BRAM18 (a NASH ResNet18 at 224 px, w2a2, needs
2,514 BRAM18 at 3.5 fps, 3,004 at 5 fps and 2,423 at 324.5 fps). A bisection over the whole range
settled at 3.5 fps there; the search now scans from the fast end.
"""

from __future__ import annotations

from types import SimpleNamespace

import nash.hw.api as api
from nash.config.hw import HwConfig


def _fake(monkeypatch, fits_at):
    """Fold/cost fakes: a target's design runs at ``max(target, 1000)`` cycles and fits when
    ``fits_at(cycles)``; the slowest design (target 10**12) runs at 10**8 cycles."""

    def fold(layers, target, *args):
        cycles = 10**8 if target >= 10**12 else max(int(target), 1000)
        return [cycles]

    def build(layers, cfg, ctx, device, lowered, clock_ns, log=()):
        cycles = layers[0]
        est = SimpleNamespace(layers=layers, max_cycles=cycles, fps=1e9 / clock_ns / cycles)
        est.fits, est.totals, est.search_log = fits_at(cycles), {"bram18": 0.0}, log
        return est

    monkeypatch.setattr(api, "set_folding", fold)
    monkeypatch.setattr(api, "_build", build)
    lowered = SimpleNamespace(layers=[])
    return api._fit(lowered, HwConfig(fold="fit", device="U250"), None, None, 5.0, False)


def test_fit_scans_from_the_fast_end_past_a_slow_dip(monkeypatch):
    # fits fast-ish (<= 5,000 cycles is too fast; 5,000..20,000 fits), not in 20,000..10**7
    # (a BRAM bump), and fits again at the slow end: the answer is the fastest fitting design
    est = _fake(monkeypatch, lambda c: 5_000 <= c <= 20_000 or c >= 10**7)
    assert est.max_cycles == 5_000
    probes = [p["target_cycles"] for p in est.search_log]
    assert probes[:2] == [0, 10**12]  # the fastest and the slowest design first


def test_fit_reports_the_fastest_design_when_it_fits_and_the_slowest_when_nothing_does(monkeypatch):
    assert _fake(monkeypatch, lambda c: True).max_cycles == 1000
    nothing = _fake(monkeypatch, lambda c: False)
    assert nothing.max_cycles == 10**8 and not nothing.fits
