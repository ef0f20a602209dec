"""``Genotype``: the derived architecture as plain data, with JSON round trip and validation.

JSON layout (schema 1)::

    {"schema": 1, "backbone": "resnet18", "strategy": "v3",
     "cells": [[["conv_5x5", 0], ["identity", 1], ...], ...],   # per cell, per node j=1..N: [op, i]
     "cell_layers": 6,                                           # optional, null = backbone default
     "meta": {...}}                                              # optional: search config, alphas, ...

Schema 2 adds per-cell bit widths of the backbone *main* branch (3x3 conv weights, branch ReLUs)::

    {"schema": 2, ..., "bits": [[2, 2], [4, 4], [4, 4], [8, 8]]}   # per cell: [weight_bits, act_bits]

A genotype without ``bits`` is written as schema 1, byte for byte as before; both schemas are read.
The reference code's op names (``none``, ``skip_connect``) are accepted when loading.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any

from nash.errors import GenotypeError
from nash.io import atomic_write_text
from nash.space.cells import CellSpec, Edge, cell_specs
from nash.space.ops import OP_TABLE, OPS, canonical_op
from nash.space.quant import MAX_BITS
from nash.space.registry import list_strategies

__all__ = ["Genotype", "SCHEMA", "SCHEMAS", "CUSTOM_STRATEGY", "parse_cells", "dumps_genotype"]

SCHEMA = 2  # the newest schema (per-cell main-branch bits); written only when ``bits`` is set
SCHEMAS = (1, 2)  # every schema this version reads
_PLAIN_SCHEMA = 1  # what a genotype without ``bits`` is written as (unchanged since schema 1)
CUSTOM_STRATEGY = "custom"  # a hand-written genotype; checked with the generic size-changing rule
_KEYS = ("schema", "backbone", "strategy", "cells", "cell_layers", "bits", "meta")

Cells = tuple[tuple[tuple[str, int], ...], ...]
CellBits = tuple[tuple[int, int], ...]


def _freeze(value: Any) -> Any:
    # Lists from JSON (or callers) become tuples so the dataclass stays immutable and hashable.
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class Genotype:
    """One op and one predecessor per node of every cell of a backbone.

    Attributes:
        backbone: ``"resnet18"`` | ``"resnet34"`` (any registered backbone).
        strategy: ``"v1".."v4"`` (any registered strategy) or ``"custom"``.
        cells: per cell, per node ``j = 1..N``: ``(op, i)`` with ``i < j`` the predecessor node.
        cell_layers: layers per cell used to split the backbone; ``None`` = backbone default.
        meta: free JSON-safe information (search config, seed, final alphas, ...).
        bits: per cell ``(weight_bits, act_bits)`` of the backbone main branch (schema 2), in cell
            order; ``None`` = the run's global ``QuantSpec`` everywhere. Pass it by keyword.

    Example:
        >>> g = Genotype("resnet18", "custom", [[("conv_3x3", 0)] * 4] * 4).validate()
        >>> g.cells[1][2]
        ('conv_3x3', 0)
    """

    backbone: str
    strategy: str
    cells: Cells
    cell_layers: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False)
    _: KW_ONLY
    bits: CellBits | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "cells", _freeze(self.cells))
        object.__setattr__(self, "bits", _freeze(self.bits))
        if isinstance(self.meta, Mapping):
            object.__setattr__(self, "meta", dict(self.meta))

    def specs(self) -> tuple[CellSpec, ...]:
        """The backbone's cells under this genotype's ``cell_layers``."""
        return cell_specs(self.backbone, self.cell_layers)

    def chosen_edges(self) -> tuple[tuple[tuple[Edge, str], ...], ...]:
        """Per cell, per node: the kept edge and its op."""
        return tuple(
            tuple(
                (Edge(spec.index, pred, j, spec.downsample and pred == 0), op)
                for j, (op, pred) in enumerate(cell, start=1)
            )
            for spec, cell in zip(self.specs(), self.cells, strict=True)
        )

    def validate(self) -> Genotype:
        """Check ops, predecessors, cell/node counts and per-cell bits against the backbone; return ``self``.

        Raises:
            GenotypeError: one line naming the bad cell/node and what a valid value looks like.
        """
        if not isinstance(self.backbone, str):
            raise GenotypeError(f"backbone must be a name such as 'resnet18', got {self.backbone!r}")
        valid = [*list_strategies(), CUSTOM_STRATEGY]
        if self.strategy not in valid:
            raise GenotypeError(f"unknown strategy {self.strategy!r}; valid strategies: {', '.join(valid)}")
        if not isinstance(self.meta, Mapping):
            raise GenotypeError(f"meta must be a mapping, got {type(self.meta).__name__}")
        specs = self.specs()
        if not isinstance(self.cells, tuple) or len(self.cells) != len(specs):
            n = len(self.cells) if isinstance(self.cells, tuple) else type(self.cells).__name__
            raise GenotypeError(
                f"genotype has {n} cells but {self.backbone} (cell_layers={self._layers_label()}) "
                f"has {len(specs)}; give one list of nodes per cell"
            )
        allow_zero = self.meta.get("derivation") == "reference"  # the authors' v3 parser may keep zero
        for spec, cell in zip(specs, self.cells, strict=True):
            _check_cell(spec, cell, allow_zero)
        if self.bits is not None:
            self._check_bits(len(specs))
        return self

    def _check_bits(self, n_cells: int) -> None:
        if not isinstance(self.bits, tuple):
            raise GenotypeError(
                f"bits must be a list of [weight_bits, act_bits] pairs, one per cell, got {_shown(self.bits)}"
            )
        if len(self.bits) != n_cells:
            n = len(self.bits)
            raise GenotypeError(
                f"genotype has {n} bit pairs but {self.backbone} (cell_layers={self._layers_label()}) "
                f"has {n_cells} cells; give one [weight_bits, act_bits] pair per cell"
            )
        for c, pair in enumerate(self.bits):
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise GenotypeError(
                    f"cell {c} bits: expected a [weight_bits, act_bits] pair such as [4, 4], got {_shown(pair)}"
                )
            for role, value in zip(("weight", "act"), pair, strict=True):
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BITS:
                    raise GenotypeError(
                        f"cell {c} bits: {role} bits {value!r} unsupported; use an integer from 1 to {MAX_BITS}"
                    )

    def _layers_label(self) -> str:
        return "default" if self.cell_layers is None else str(self.cell_layers)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe dict: schema 1 without ``bits``, schema 2 with them (optionals only when set)."""
        out: dict[str, Any] = {
            "schema": _PLAIN_SCHEMA if self.bits is None else SCHEMA,
            "backbone": self.backbone,
            "strategy": self.strategy,
            "cells": [[[op, pred] for op, pred in cell] for cell in self.cells],
        }
        if self.cell_layers is not None:
            out["cell_layers"] = self.cell_layers
        if self.bits is not None:
            out["bits"] = [list(pair) for pair in self.bits]
        if self.meta:
            out["meta"] = dict(self.meta)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Genotype:
        """Parse and validate a schema-1 or schema-2 dict; reference op names are translated."""
        if not isinstance(data, Mapping):
            raise GenotypeError(f"a genotype must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise GenotypeError(f"unknown genotype key {unknown[0]!r}; valid keys: {', '.join(_KEYS)}")
        missing = [k for k in ("backbone", "strategy", "cells") if k not in data]
        if missing:
            raise GenotypeError(
                f"genotype is missing key {missing[0]!r}; required: backbone, strategy, cells"
            )
        schema = data.get("schema", SCHEMA)
        if isinstance(schema, bool) or not isinstance(schema, int) or schema not in SCHEMAS:
            raise GenotypeError(
                f"unsupported genotype schema {schema!r}; this version reads schema "
                f"{' or '.join(map(str, SCHEMAS))}"
            )
        if schema == 1 and data.get("bits") is not None:
            raise GenotypeError(
                'genotype schema 1 has no per-cell "bits"; write "schema": 2 to give them (or drop "bits")'
            )
        cells = parse_cells(data["cells"])
        return cls(
            data["backbone"],
            data["strategy"],
            cells,
            data.get("cell_layers"),
            data.get("meta") or {},
            bits=data.get("bits"),
        ).validate()

    def save(self, path: str | Path) -> Path:
        """Write the genotype as JSON atomically (one line per cell); returns the path."""
        return atomic_write_text(path, dumps_genotype(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> Genotype:
        """Read a genotype JSON file (or ``genotype.json`` inside a run directory)."""
        p = Path(path)
        if p.is_dir():
            p = p / "genotype.json"
        if not p.is_file():
            raise GenotypeError(
                f"genotype file {p} not found; pass a genotype.json "
                "(write one with `nash genotype reference` or `nash search`)"
            )
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f" (line {exc.lineno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
            raise GenotypeError(f"{p}: not valid JSON{where}; fix or regenerate the file") from None
        try:
            return cls.from_dict(data)
        except GenotypeError as exc:
            raise GenotypeError(f"{p}: {exc}") from None


def _plain(obj: Any) -> Any:
    # numpy/torch values and paths can appear in meta (e.g. final alphas)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise GenotypeError(f"cannot write a {type(obj).__name__} in genotype meta to JSON; store plain values")


def _shown(value: Any) -> str:
    # a short repr for one-line errors
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def dumps_genotype(data: Mapping[str, Any]) -> str:
    """JSON text of a genotype dict with one line per cell (readable diffs), ending in a newline.

    ``bits`` (schema 2) is written on one line: ``"bits": [[2, 2], [4, 4], ...]``.
    """
    items = []
    for key, value in data.items():
        if key == "cells":
            body = ",\n".join("    " + json.dumps(cell) for cell in value)
            items.append(f'  "cells": [\n{body}\n  ]')
        elif key == "bits" and value is not None:
            items.append(f'  "bits": {json.dumps([list(pair) for pair in value])}')
        else:
            text = json.dumps(value, indent=2, default=_plain).replace("\n", "\n  ")
            items.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(items) + "\n}\n"


def parse_cells(raw: Any, aliases: Mapping[str, str] | None = None) -> Cells:
    """Turn JSON ``[[[op, pred], ...], ...]`` into the tuple form, translating op aliases.

    Raises:
        GenotypeError: the nesting is wrong (names the cell/node) or an op name is unknown.
    """
    if not isinstance(raw, list | tuple):
        raise GenotypeError(f"'cells' must be a list of cells, got {type(raw).__name__}")
    cells = []
    for c, cell in enumerate(raw):
        if not isinstance(cell, list | tuple):
            raise GenotypeError(f"cell {c} must be a list of [op, predecessor] pairs, got {cell!r}")
        nodes = []
        for j, node in enumerate(cell, start=1):
            if not (isinstance(node, list | tuple) and len(node) == 2):
                raise GenotypeError(f"cell {c} node {j}: expected [op, predecessor], got {node!r}")
            op = node[0]
            if aliases and isinstance(op, str):
                op = aliases.get(op, op)
            try:
                op = canonical_op(op)
            except GenotypeError as exc:
                raise GenotypeError(f"cell {c} node {j}: {exc}") from None
            nodes.append((op, node[1]))
        cells.append(tuple(nodes))
    return tuple(cells)


def _check_cell(spec: CellSpec, cell: Any, allow_zero: bool = False) -> None:
    c = spec.index
    if not isinstance(cell, tuple) or len(cell) != spec.n_nodes:
        n = len(cell) if isinstance(cell, tuple) else type(cell).__name__
        raise GenotypeError(
            f"cell {c} has {n} nodes but needs {spec.n_nodes}: it covers {spec.n_layers} layers of stage "
            f"{spec.stage}, one [op, predecessor] per layer"
        )
    for j, node in enumerate(cell, start=1):
        if not (isinstance(node, tuple) and len(node) == 2):
            raise GenotypeError(f"cell {c} node {j}: expected (op, predecessor), got {node!r}")
        op, pred = node
        if op not in OPS:
            raise GenotypeError(f"cell {c} node {j}: unknown op {op!r}; valid ops: {', '.join(OPS)}")
        if (
            OP_TABLE[op].kind == "zero" and not allow_zero
        ):  # derivation never keeps zero: every node has one NAS edge
            kept = ", ".join(o for o in OPS if OP_TABLE[o].kind != "zero")
            raise GenotypeError(
                f"cell {c} node {j}: {op!r} cannot be a node's only op (the node would have no NAS edge); "
                f"use one of {kept}"
            )
        if not isinstance(pred, int) or isinstance(pred, bool) or not 0 <= pred < j:
            raise GenotypeError(
                f"cell {c} node {j}: predecessor {pred!r} out of range; node {j} takes an input x0..x{j - 1}"
            )
