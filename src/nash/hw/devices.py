"""FPGA device catalogue (data in the packaged ``devices.yaml``) and the DSP primitive of a part."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib import resources

import yaml

from nash.errors import HardwareError

__all__ = ["Device", "load_catalog", "register_device", "get_device", "list_devices", "dsp_block"]


@dataclass(frozen=True)
class Device:
    """An FPGA board/part with its total resources and default clock period (ns)."""

    name: str
    part: str
    lut: int
    ff: int
    bram18: int
    uram: int
    dsp: int
    clock_ns: float

    def capacity(self) -> dict[str, int]:
        """Resources compared against an estimate: lut, bram18, uram, dsp."""
        return {"lut": self.lut, "bram18": self.bram18, "uram": self.uram, "dsp": self.dsp}


def load_catalog() -> dict[str, Device]:
    """Devices of the packaged ``devices.yaml`` by name (a fresh dict on every call)."""
    text = resources.files("nash.hw").joinpath("devices.yaml").read_text(encoding="utf-8")
    return {name: Device(name=name, **spec) for name, spec in yaml.safe_load(text).items()}


def register_device(catalog: dict[str, Device], device: Device) -> dict[str, Device]:
    """Add a custom device to a catalogue dict (warns when the name exists) and return the dict."""
    if device.name in catalog:
        warnings.warn(f"device {device.name!r} registered twice; the last one wins", stacklevel=2)
    catalog[device.name] = device
    return catalog


def list_devices(catalog: dict[str, Device] | None = None) -> list[str]:
    """Device names of the catalogue."""
    return list(catalog or load_catalog())


def get_device(name: str, catalog: dict[str, Device] | None = None) -> Device:
    """The device called ``name`` (case-insensitive); unknown names raise ``HardwareError`` with choices."""
    catalog = catalog or load_catalog()
    for key, dev in catalog.items():
        if key.lower() == name.lower():
            return dev
    raise HardwareError(
        f"unknown device {name!r}; choose one of: {', '.join(catalog)} (see `nash hw devices`)"
    )


def dsp_block(part: str) -> str:
    """DSP primitive of a part (FINN ``get_dsp_block``, §4.1): DSP58 Versal, DSP48E1 7-series, else DSP48E2."""
    if part.lower().startswith(("xcvc", "xcve", "xcvp", "xcvm", "xqvc", "xqvm", "xqrvc")):
        return "DSP58"
    if len(part) > 2 and part[2] == "7":
        return "DSP48E1"
    return "DSP48E2"
