"""``mlatlas scaling``: predicted loss and compute-optimal splits from published fits."""

from __future__ import annotations

import argparse

from mlatlas.cli.arguments import positive_number
from mlatlas.cli.output import add_json_flag, print_json, print_table
from mlatlas.scaling import Allocation, compute_for_loss, compute_optimal, published_law, published_laws

DEFAULT_FIT = "epoch"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``scaling optimal``, ``scaling loss`` and ``scaling budget`` to the command line."""
    parser = subparsers.add_parser("scaling", help="scaling laws: loss and compute-optimal model size")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    fits = list(published_laws())

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--fit", choices=fits, default=DEFAULT_FIT,
            help=f"published fit of L(N, D) = E + A/N^alpha + B/D^beta (default: {DEFAULT_FIT})",
        )
        add_json_flag(sub, "instead of a table")

    optimal = commands.add_parser(
        "optimal",
        help="best split of a FLOP budget between parameters and tokens",
        description="Parameters and tokens that minimise the predicted loss for a budget C = 6ND.",
    )
    optimal.add_argument("--compute", type=positive_number, required=True, metavar="FLOPS", help="training FLOPs")
    common(optimal)
    optimal.set_defaults(handler=run_optimal)

    loss = commands.add_parser(
        "loss",
        help="predicted loss of a model size and token count",
        description="Predicted loss L(N, D), in nats per token, with N counting all parameters.",
    )
    loss.add_argument("--params", type=positive_number, required=True, metavar="N", help="parameters")
    loss.add_argument("--tokens", type=positive_number, required=True, metavar="D", help="training tokens")
    common(loss)
    loss.set_defaults(handler=run_loss)

    budget = commands.add_parser(
        "budget",
        help="smallest FLOP budget that reaches a target loss",
        description="Smallest budget C = 6ND whose optimal split reaches the target loss (above E).",
    )
    budget.add_argument("--loss", type=positive_number, required=True, metavar="L", help="target loss, nats/token")
    common(budget)
    budget.set_defaults(handler=run_budget)


def _row(allocation: Allocation) -> dict[str, object]:
    return {
        "fit": allocation.law,
        "compute": allocation.compute,
        "params": allocation.params,
        "tokens": allocation.tokens,
        "tokens_per_param": allocation.tokens_per_param,
        "loss": allocation.loss,
    }


def _show(title: str, row: dict[str, object], as_json: bool) -> int:
    law = published_law(str(row["fit"]))
    if as_json:
        print_json({**row, "source": law.source})
        return 0
    shown = {key: f"{value:.4g}" if isinstance(value, float) else value for key, value in row.items()}
    columns = {
        "fit": "fit",
        "compute": "FLOPs",
        "params": "parameters",
        "tokens": "tokens",
        "tokens_per_param": "tokens/param",
        "loss": "loss (nats/token)",
    }
    print_table(title, [shown], {key: heading for key, heading in columns.items() if key in row})
    print(f"fit: {law.label}; {law.source}")
    return 0


def run_optimal(args: argparse.Namespace) -> int:
    """Print the compute-optimal split of ``--compute`` FLOPs."""
    allocation = compute_optimal(published_law(args.fit), args.compute)
    return _show(f"Compute-optimal split of {args.compute:.3g} FLOPs", _row(allocation), args.json)


def run_loss(args: argparse.Namespace) -> int:
    """Print the predicted loss of ``--params`` parameters trained on ``--tokens`` tokens."""
    law = published_law(args.fit)
    row = {
        "fit": law.name,
        "params": args.params,
        "tokens": args.tokens,
        "tokens_per_param": args.tokens / args.params,
        "compute": 6 * args.params * args.tokens,
        "loss": law.loss(args.params, args.tokens),
    }
    return _show(f"Predicted loss of {args.params:.3g} parameters on {args.tokens:.3g} tokens", row, args.json)


def run_budget(args: argparse.Namespace) -> int:
    """Print the smallest budget, and its split, that reaches ``--loss``."""
    allocation = compute_for_loss(published_law(args.fit), args.loss)
    return _show(f"Smallest budget reaching loss {args.loss}", _row(allocation), args.json)
