"""Network-level estimate: per-layer costs, totals, throughput, critical-path latency, utilisation.

Implements finn-cost-model.md §6: ``fps = (1e9/clock_ns)/max_cycles``; latency is the critical path
(latency_out(n) = cycles(n) + max over predecessors), the bottleneck the first layer with the largest
cycles. Totals are sums over the per-layer records, never stored apart from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nash.hw.costs import RESOURCES, CostContext, LayerCost, NoCostModelError
from nash.hw.devices import Device
from nash.hw.folding import folding_config
from nash.hw.layers import HwLayer

__all__ = ["Estimate", "critical_path", "cost_layers"]


def cost_layers(
    layers: tuple[HwLayer, ...], ctx: CostContext
) -> tuple[tuple[LayerCost | None, ...], list[str]]:
    """Cost of every layer; a kind without a model for its back-end gets ``None`` and is listed as
    unsupported. Any other error (a malformed layer, a bug) propagates."""
    costs, unsupported = [], []
    for la in layers:
        try:
            costs.append(la.cost(ctx))
        except NoCostModelError:
            costs.append(None)
            unsupported.append(f"{la.name} ({la.op_type}_{la.backend}: no cost model)")
    return tuple(costs), unsupported


def critical_path(layers: tuple[HwLayer, ...], cycles: list[int]) -> tuple[int, list[int]]:
    """§6 critical path in cycles and each layer's latency_out (layers in topological order)."""
    out: dict[str, int] = {}
    lat = []
    for la, c in zip(layers, cycles):
        out[la.name] = c + max((out[p] for p in la.preds), default=0)
        lat.append(out[la.name])
    return max(lat, default=0), lat


@dataclass(frozen=True)
class Estimate:
    """Folded design with its per-layer costs; every aggregate is derived from the layer records."""

    layers: tuple[HwLayer, ...]
    costs: tuple[LayerCost | None, ...]
    clock_ns: float
    settings: dict[str, Any] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # assumptions shown on the console (float tensors)
    folding: str = ""  # how PE/SIMD were chosen, e.g. "max-relaxed" (see nash.hw.api.fold_label)
    absorbed: tuple[tuple[str, str], ...] = ()
    unsupported: tuple[str, ...] = ()
    device: Device | None = None
    utilization_limit: float = 1.0
    search_log: tuple[dict[str, Any], ...] = ()

    @property
    def cycles(self) -> list[int]:
        """Per-layer cycles (0 for unsupported layers, which are listed separately)."""
        return [c.cycles if c else 0 for c in self.costs]

    @property
    def totals(self) -> dict[str, float]:
        """Sum of each resource over the layers (FINN ``total``)."""
        return {r: float(sum(getattr(c, r) for c in self.costs if c)) for r in RESOURCES}

    @property
    def max_cycles(self) -> int:
        """Largest per-layer cycle count (the initiation interval of the pipeline)."""
        return max(self.cycles, default=0)

    @property
    def bottleneck(self) -> str:
        """Name of the first layer attaining ``max_cycles``."""
        cycles = self.cycles
        return self.layers[cycles.index(self.max_cycles)].name if cycles else ""

    @property
    def fps(self) -> float:
        """Throughput in frames/s: (1e9 / clock_ns) / max_cycles."""
        return (1e9 / self.clock_ns) / self.max_cycles if self.max_cycles else 0.0

    @property
    def critical_path_cycles(self) -> int:
        """Heaviest input-to-output path in cycles (§6)."""
        return critical_path(self.layers, self.cycles)[0]

    @property
    def latency_ns(self) -> float:
        """Critical path times the clock period."""
        return self.critical_path_cycles * self.clock_ns

    @property
    def latency_ms(self) -> float:
        """Latency in milliseconds."""
        return self.latency_ns / 1e6

    def utilization(self) -> dict[str, float] | None:
        """Fraction of each device resource used (None without a device; inf when the device has none)."""
        if self.device is None:
            return None
        cap = self.device.capacity()
        return {
            r: (v / cap[r] if cap[r] else (0.0 if v == 0 else float("inf"))) for r, v in self.totals.items()
        }

    def overshoot(self) -> dict[str, float]:
        """Resources above ``utilization_limit`` x capacity: resource -> amount over (in resource units)."""
        if self.device is None:
            return {}
        cap = self.device.capacity()
        over = {r: v - self.utilization_limit * cap[r] for r, v in self.totals.items()}
        return {r: o for r, o in over.items() if o > 0}

    @property
    def fits(self) -> bool | None:
        """True/False against the device and utilisation limit; None without a device."""
        return None if self.device is None else not self.overshoot()

    def folding_config(self) -> dict[str, Any]:
        """FINN folding-config JSON of this design (§7.2)."""
        return folding_config(self.layers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record: one entry per layer, totals, performance, settings, assumptions."""
        _, lat = critical_path(self.layers, self.cycles)
        return {
            "schema": 1,
            "layers": [_layer_dict(la, c, lo) for la, c, lo in zip(self.layers, self.costs, lat)],
            "totals": self.totals,
            "max_cycles": self.max_cycles,
            "bottleneck": self.bottleneck,
            "fps": self.fps,
            "critical_path_cycles": self.critical_path_cycles,
            "latency_ns": self.latency_ns,
            "latency_ms": self.latency_ms,
            "clock_ns": self.clock_ns,
            "device": None if self.device is None else self.device.__dict__,
            "utilization": self.utilization(),
            "utilization_limit": self.utilization_limit,
            "fits_device": self.fits,
            "overshoot": self.overshoot(),
            "acc_assumption": sorted({a for la in self.layers if (a := la.record().get("acc_assumption"))}),
            "settings": self.settings,
            "folding": self.folding,
            "warnings": list(self.warnings),
            "assumptions": list(self.assumptions),
            "absorbed": [{"node": n, "op_type": o} for n, o in self.absorbed],
            "unsupported": list(self.unsupported),
            "search_log": list(self.search_log),
        }

    def table(self) -> str:
        """Readable per-layer table with totals and performance lines."""
        head = f"{'layer':<36}{'PE':>5}{'SIMD':>6}{'cycles':>12}{'LUT':>10}{'BRAM18':>8}{'URAM':>6}{'DSP':>6}"
        rows = [head, "-" * len(head)]
        for la, c in zip(self.layers, self.costs):
            pe = str(la.pe) if "PE" in la.fold_dim else "-"
            simd = str(la.simd) if "SIMD" in la.fold_dim else "-"
            if c is None:
                rows.append(f"{la.name:<36}{pe:>5}{simd:>6}{'unsupported':>12}")
                continue
            rows.append(
                f"{la.name:<36}{pe:>5}{simd:>6}{c.cycles:>12}{c.lut:>10.0f}{c.bram18:>8.0f}"
                f"{c.uram:>6.0f}{c.dsp:>6.0f}"
            )
        t = self.totals
        rows += [
            "-" * len(head),
            f"{'total':<47}{'':>12}{t['lut']:>10.0f}{t['bram18']:>8.0f}{t['uram']:>6.0f}{t['dsp']:>6.0f}",
            f"fps {self.fps:.1f} @ {self.clock_ns} ns | latency {self.latency_ms:.4f} ms "
            f"({self.critical_path_cycles} cycles) | bottleneck {self.bottleneck} ({self.max_cycles} cycles)",
        ]
        if self.device is not None:
            util = ", ".join(f"{r} {v:.1%}" for r, v in (self.utilization() or {}).items())
            verdict = "fits" if self.fits else f"does NOT fit, over by {self.overshoot()}"
            rows.append(f"{self.device.name}: {util} -> {verdict} (limit {self.utilization_limit:.0%})")
        if self.folding:
            rows.append(f"folding: {self.folding}")
        if self.unsupported:
            rows.append(f"unsupported (not counted): {', '.join(self.unsupported)}")
        rows += [f"note: {w}" for w in self.warnings]
        return "\n".join(rows)


def _layer_dict(la: HwLayer, cost: LayerCost | None, latency_out: int) -> dict[str, Any]:
    common = {
        "name": la.name,
        "op_type": la.op_type,
        "backend": la.backend,
        "preds": list(la.preds),
        "source": list(la.source),
        "PE": la.pe if "PE" in la.fold_dim else None,
        "SIMD": la.simd if "SIMD" in la.fold_dim else None,
        "NIV": list(la.niv),
        "channels": la.channels,
        "input_bits": la.input_bits,
        "input_signed": la.input_signed,
        "output_bits": la.output_bits,
        "output_signed": la.output_signed,
    }
    result = {r: (getattr(cost, r) if cost else None) for r in ("cycles", *RESOURCES)}
    return common | la.record() | result | {"latency_out_cycles": latency_out, "supported": cost is not None}
