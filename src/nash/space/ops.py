"""The one op table: every candidate op of a NAS edge (paper Table I), as plain data.

Every alpha matrix has one column per entry of ``OP_TABLE``, in table order (op0..op5 of the
paper); ``OPS`` is that order. The supernet and the derived network both build their modules from
this table (``nash.models.ops.create_op``), so they cannot disagree about which ops exist.

How to add a candidate op:
    Add one ``OpSpec`` line to ``OP_TABLE``, e.g. ``"conv_7x7": OpSpec("conv", kernel=7)``. Ops
    of an existing ``kind`` (``zero``, ``max_pool``, ``identity``, ``conv``) need nothing else:
    search, derivation, genotype validation, model building and export all follow the table. A new
    kind also needs its builder in ``nash.models.ops.OP_BUILDERS``. The alpha matrices get one
    more column, so searches (and their checkpoints) made before the change do not resume.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nash.errors import GenotypeError

__all__ = [
    "OpSpec",
    "OP_TABLE",
    "OP_KINDS",
    "OPS",
    "OP_ALIASES",
    "DEFAULT_UNFRIENDLY",
    "get_op",
    "canonical_op",
    "op_index",
    "check_ops",
]

OP_KINDS: tuple[str, ...] = ("zero", "max_pool", "identity", "conv")


@dataclass(frozen=True)
class OpSpec:
    """What one candidate op is; ``nash.models.ops`` turns it into a module for an edge.

    Attributes:
        kind: ``"zero"`` (no branch), ``"max_pool"``, ``"identity"`` or ``"conv"``.
        kernel: spatial kernel size of ``max_pool`` / ``conv`` (0 for the others).
        unfriendly: needs an extra concat layer on a size-changing edge (stride 2, channels x2);
            the strategies' default ``unfriendly`` set is every op marked so.
    """

    kind: str
    kernel: int = 0
    unfriendly: bool = False

    def __post_init__(self) -> None:
        if self.kind not in OP_KINDS:
            raise ValueError(f"unknown op kind {self.kind!r}; valid kinds: {', '.join(OP_KINDS)}")
        if (self.kind in ("max_pool", "conv")) != (self.kernel > 0):
            raise ValueError(f"op kind {self.kind!r}: kernel must be > 0 exactly for max_pool and conv")


# Column order of every alpha matrix. The paper text names only max-pool as unfriendly; the
# reference code (MFJI/NASH) also treats identity (skip_connect) so, and that is the default.
OP_TABLE: dict[str, OpSpec] = {
    "zero": OpSpec("zero"),
    "max_pool_3x3": OpSpec("max_pool", kernel=3, unfriendly=True),
    "identity": OpSpec("identity", unfriendly=True),
    "conv_1x1": OpSpec("conv", kernel=1),
    "conv_3x3": OpSpec("conv", kernel=3),
    "conv_5x5": OpSpec("conv", kernel=5),
}

OPS: tuple[str, ...] = tuple(OP_TABLE)

# Names used by the published reference code (DARTS vocabulary) -> this project's names.
OP_ALIASES: dict[str, str] = {"none": "zero", "skip_connect": "identity"}

DEFAULT_UNFRIENDLY: frozenset[str] = frozenset(name for name, spec in OP_TABLE.items() if spec.unfriendly)


def get_op(name: str) -> OpSpec:
    """The table entry of op ``name`` (aliases accepted); an unknown name raises ``GenotypeError``."""
    return OP_TABLE[canonical_op(name)]


def canonical_op(name: str) -> str:
    """Return the project name of ``name`` (accepting reference aliases such as ``skip_connect``).

    Raises:
        GenotypeError: the name is neither an op nor an alias; the message lists the valid ops.

    Example:
        >>> canonical_op("skip_connect")
        'identity'
    """
    if not isinstance(name, str):
        raise GenotypeError(f"op name must be a string, got {name!r}; valid ops: {', '.join(OPS)}")
    op = OP_ALIASES.get(name, name)
    if op not in OP_TABLE:
        aliases = ", ".join(f"{k}->{v}" for k, v in OP_ALIASES.items())
        raise GenotypeError(f"unknown op {name!r}; valid ops: {', '.join(OPS)} (aliases: {aliases})")
    return op


def op_index(name: str) -> int:
    """Column of ``name`` in every alpha matrix (its position in ``OPS``)."""
    return OPS.index(canonical_op(name))


def check_ops(names: Iterable[str]) -> frozenset[str]:
    """Canonicalise a set of op names (e.g. an ``unfriendly`` set); raises on an unknown name."""
    return frozenset(canonical_op(n) for n in names)
