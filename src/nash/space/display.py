"""Human-readable rendering of a genotype (used by ``nash genotype show``)."""

from __future__ import annotations

from collections.abc import Iterable

from nash.space.genotype import Genotype
from nash.space.ops import DEFAULT_UNFRIENDLY
from nash.space.strategy import is_hardware_friendly

__all__ = ["format_genotype", "SIZE_CHANGING_MARK"]

SIZE_CHANGING_MARK = "*"


def format_genotype(genotype: Genotype, unfriendly: Iterable[str] = DEFAULT_UNFRIENDLY) -> str:
    """One line per node (``node j <- op(x_i)``), ``*`` on size-changing edges, and the rule check.

    A schema-2 genotype's per-cell bits are shown on each cell's line (``main w4a4``).

    Example:
        >>> g = Genotype("resnet18", "v4", [[("conv_1x1", 0)] * 4] * 4)
        >>> for line in format_genotype(g).splitlines()[6:8]:
        ...     print(line)
        cell 1  (stage 1, 4 layers, downsample)
          node 1 <- conv_1x1(x0)  *
    """
    unfriendly = frozenset(unfriendly)
    layers = "default" if genotype.cell_layers is None else genotype.cell_layers
    lines = [
        f"genotype: backbone {genotype.backbone}, strategy {genotype.strategy}, "
        f"{len(genotype.cells)} cells (cell_layers {layers})"
    ]
    for spec, cell in zip(genotype.specs(), genotype.chosen_edges(), strict=True):
        kind = ", downsample" if spec.downsample else ""
        bits = ""
        if genotype.bits is not None:
            weight_bits, act_bits = genotype.bits[spec.index]
            bits = f"  main w{weight_bits}a{act_bits}"
        lines.append(f"cell {spec.index}  (stage {spec.stage}, {spec.n_layers} layers{kind}){bits}")
        for edge, op in cell:
            mark = f"  {SIZE_CHANGING_MARK}" if edge.size_changing else ""
            lines.append(f"  node {edge.dst} <- {op}(x{edge.src}){mark}")
    violations = is_hardware_friendly(genotype, unfriendly)
    lines.append(f"{SIZE_CHANGING_MARK} size-changing edge (stride 2, channels x2)")
    verdict = "yes" if not violations else f"NO, {len(violations)} violation(s)"
    lines.append(
        f"satisfies {genotype.strategy} rule (unfriendly: {', '.join(sorted(unfriendly))}): {verdict}"
    )
    lines += [f"  - {v}" for v in violations]
    return "\n".join(lines)
