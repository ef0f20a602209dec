"""``nash genotype show|check|reference``: inspect, check and fetch genotypes (nash.space)."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def _add_unfriendly(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--unfriendly",
        default=None,
        help="comma-separated ops not allowed on size-changing edges (default: max_pool_3x3,identity, "
        "or the set a reference-derived genotype records; the paper text names only max_pool_3x3)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``nash genotype`` and its three actions."""
    parser = subparsers.add_parser("genotype", help="show, check or fetch a genotype (genotype.json)")
    actions = parser.add_subparsers(dest="genotype_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print a genotype cell by cell and check its strategy rule")
    show.add_argument("path", help="genotype.json (or a run directory holding one)")
    _add_unfriendly(show)
    check = actions.add_parser("check", help="exit 2 and list violations if the genotype breaks its rule")
    check.add_argument("path", help="genotype.json (or a run directory holding one)")
    _add_unfriendly(check)
    ref = actions.add_parser("reference", help="write one of the paper's published genotypes")
    ref.add_argument(
        "--version",
        dest="ref_version",
        default=None,
        help="v1 | v2 | v3 | v4 (resnet18); may be left out when the backbone has one (resnet34: v3)",
    )
    ref.add_argument("--out", required=True, help="where to write the genotype JSON")
    ref.add_argument("--backbone", default="resnet18", help="backbone in the fixture (default: %(default)s)")
    ref.add_argument(
        "--fixture",
        default=None,
        help="reference genotypes JSON (default: the paper's genotypes shipped with nash)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to show / check / reference; returns the exit code."""
    from nash.space import Genotype, format_genotype, is_hardware_friendly

    if args.genotype_command == "reference":
        return _reference(args)
    genotype = Genotype.load(args.path)
    if args.unfriendly is not None:
        unfriendly = [op.strip() for op in args.unfriendly.split(",") if op.strip()]
    elif genotype.meta.get("derivation") == "reference" and genotype.meta.get("unfriendly"):
        unfriendly = list(genotype.meta["unfriendly"])  # the rule the authors' parser keeps (v1: max-pool)
    else:
        unfriendly = ["max_pool_3x3", "identity"]
    if args.genotype_command == "show":
        print(format_genotype(genotype, unfriendly))
        return 0
    violations = is_hardware_friendly(genotype, unfriendly)
    if violations:
        print(f"{args.path}: {len(violations)} violation(s) of the {genotype.strategy} rule:")
        for line in violations:
            print(f"  - {line}")
        return 2
    bits = "" if genotype.bits is None else ", main bits " + " ".join(f"w{w}a{a}" for w, a in genotype.bits)
    print(
        f"{args.path}: ok ({genotype.backbone}, strategy {genotype.strategy}, {len(genotype.cells)} cells{bits})"
    )
    return 0


def _reference(args: argparse.Namespace) -> int:
    from nash.errors import GenotypeError
    from nash.space import default_reference_path, load_reference_genotypes

    fixture = args.fixture or default_reference_path()
    genotypes = load_reference_genotypes(fixture, backbone=args.backbone)
    if args.ref_version is None and len(genotypes) == 1:
        args.ref_version = next(iter(genotypes))
    if args.ref_version is None:
        raise GenotypeError(
            f"{args.backbone} has several reference genotypes; pass --version {' | '.join(genotypes)}"
        )
    if args.ref_version not in genotypes:
        raise GenotypeError(
            f"no reference genotype {args.ref_version!r}; choose one of {', '.join(genotypes)}"
        )
    path = genotypes[args.ref_version].save(args.out)
    print(f"wrote {path} ({args.backbone} {args.ref_version} from {fixture})")
    return 0
