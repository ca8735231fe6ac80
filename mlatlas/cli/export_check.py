"""``mlatlas export-check``: a chip's TPP, performance density and status under each US rule.

An explainer, not legal advice: see ``mlatlas.export_controls``.
"""

from __future__ import annotations

import argparse

from mlatlas.cli.arguments import positive_number
from mlatlas.cli.output import add_json_flag, print_json, print_table
from mlatlas.errors import MlatlasError
from mlatlas.export_controls import chip, classify_all, make_chip, rules


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export-check`` to the command line."""
    parser = subparsers.add_parser(
        "export-check",
        help="classify a chip under the US export-control rules (an explainer, not legal advice)",
        description="TPP = dense TFLOPS x bit length; performance density = TPP / die area (mm^2). "
        "Give --chip NAME from accelerators.yaml, or raw figures with --tflops and --bits.",
    )
    parser.add_argument("--chip", metavar="NAME", help="a chip of accelerators.yaml, e.g. H100, A800, H20")
    parser.add_argument("--tflops", type=positive_number, help="dense peak TFLOPS (or TOPS) at --bits")
    parser.add_argument("--bits", type=int, help="bit length of that operation (8, 16, ...)")
    parser.add_argument("--die-area", type=positive_number, metavar="MM2", help="applicable die area in mm^2")
    parser.add_argument("--interconnect", type=positive_number, metavar="GBPS", help="bidirectional I/O rate in GB/s")
    parser.add_argument("--consumer", action="store_true", help="not designed or marketed for datacenters")
    add_json_flag(parser, "instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the chip's figures and its status under each rule."""
    if args.chip and (args.tflops or args.bits):
        raise MlatlasError("give either --chip or --tflops/--bits, not both")
    if args.chip:
        c = chip(args.chip)
    elif args.tflops is not None and args.bits is not None:
        c = make_chip(args.tflops, args.bits, args.die_area, args.interconnect, datacenter=not args.consumer)
    else:
        raise MlatlasError("give --chip NAME, or both --tflops and --bits")
    verdicts = classify_all(c)
    by_id = {r.id: r for r in rules()}
    if args.json:
        print_json({
            "chip": c.name, "dtype": c.dtype, "tflops": c.tflops, "bits": c.bits, "tpp": c.tpp,
            "die_area_mm2": c.die_area_mm2, "density": c.density, "interconnect_gbps": c.interconnect_gbps,
            "datacenter": c.datacenter,
            "verdicts": [{**v.to_dict(), "citation": by_id[v.rule].citation, "source": by_id[v.rule].source}
                         for v in verdicts],
        })  # fmt: skip
        return 0
    density = "unknown" if c.density is None else f"{c.density:.2f}"
    print(f"{c.name}: {c.tflops:g} dense TFLOPS at {c.bits} bits -> TPP {c.tpp:,.0f}; performance density {density}")
    rows = [
        {
            "rule": f"{by_id[v.rule].released} ({by_id[v.rule].citation})",
            "status": v.status,
            "why": "; ".join(v.reasons),
        }
        for v in verdicts
    ]
    print_table(
        "Status under each rule (explainer, not legal advice)", rows, {"rule": "rule", "status": "status", "why": "why"}
    )
    return 0
