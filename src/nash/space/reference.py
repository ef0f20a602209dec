"""The paper's published genotypes (reference code ``genotypes.py``, stored as a JSON fixture).

Fixture layout: ``{"op_names": {reference name: our name}, "<backbone>": {"v1": cells, ...}}``
where ``cells`` is the schema-1 ``cells`` list.
"""

from __future__ import annotations

import json
from pathlib import Path

from nash.errors import GenotypeError
from nash.space.genotype import CUSTOM_STRATEGY, Genotype, parse_cells
from nash.space.registry import list_strategies

__all__ = ["load_reference_genotypes", "default_reference_path", "PACKAGED_REFERENCE"]

# The paper's four ResNet18 genotypes (reference code MFJI/NASH), shipped with the package.
PACKAGED_REFERENCE = Path(__file__).resolve().parent / "data" / "paper-genotypes.json"


def default_reference_path() -> Path:
    """The reference genotypes shipped with the package (``nash/space/data/paper-genotypes.json``)."""
    return PACKAGED_REFERENCE


def _read(path: Path) -> dict:
    if not path.is_file():
        raise GenotypeError(
            f"reference genotype file {path} not found; pass the path of reference-genotypes.json"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise GenotypeError(f"{path}: not valid JSON; restore the reference fixture file") from None
    if not isinstance(data, dict):
        raise GenotypeError(f"{path}: expected a JSON object with per-backbone genotypes")
    return data


def load_reference_genotypes(path: str | Path, backbone: str = "resnet18") -> dict[str, Genotype]:
    """Load the reference genotypes of ``backbone`` from the fixture file, keyed ``"v1".."v4"``.

    Op names are translated with the file's ``op_names`` table (e.g. ``skip_connect`` ->
    ``identity``). Every genotype is validated against the backbone.

    Raises:
        GenotypeError: missing/corrupt file, no genotypes for ``backbone``, or an invalid genotype.
    """
    p = Path(path)
    data = _read(p)
    versions = data.get(backbone)
    if not isinstance(versions, dict) or not versions:
        have = sorted(k for k, v in data.items() if isinstance(v, dict) and k != "op_names")
        raise GenotypeError(f"{p} has no genotypes for {backbone!r}; it has: {', '.join(have) or 'none'}")
    aliases = data.get("op_names") or {}
    out = {}
    for version, raw in versions.items():
        strategy = version if version in list_strategies() else CUSTOM_STRATEGY
        meta = {"source": str(data.get("source", p)), "reference_version": version}
        try:
            cells = parse_cells(raw, aliases)
            out[version] = Genotype(backbone, strategy, cells, meta=meta).validate()
        except GenotypeError as exc:
            raise GenotypeError(f"{p} {backbone} {version}: {exc}") from None
    return out
