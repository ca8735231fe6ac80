"""``mlatlas moe``: total and active parameters, compute and KV cache per token."""

from __future__ import annotations

import argparse

from mlatlas.attention import BYTES_PER_ELEMENT
from mlatlas.cli.output import add_json_flag, print_json, print_table
from mlatlas.mla import model_cache_bytes
from mlatlas.params import countable_models, flops_per_token, model_config, model_params


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``moe params`` to the command line."""
    parser = subparsers.add_parser("moe", help="mixture of experts: total and active parameters of open models")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    params = commands.add_parser(
        "params",
        help="total and active parameters, FLOPs and KV cache per token",
        description=(
            "Parameters of each model counted from its config.json: total, active per token "
            "(the table leaves out the input embedding, a row lookup; the JSON gives both), "
            "forward FLOPs per token (2 x active) and KV-cache bytes per token."
        ),
    )
    params.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help=f"model to count (repeatable; default: all of {', '.join(countable_models())})",
    )
    params.add_argument("--dtype", choices=list(BYTES_PER_ELEMENT), default="bf16", help="cache dtype (default: bf16)")
    add_json_flag(params, "instead of a table")
    params.set_defaults(handler=run_params)


def run_params(args: argparse.Namespace) -> int:
    """Print the parameter counts of each requested model."""
    rows = []
    for name in args.model or countable_models():
        count = model_params(name)
        published = model_config(name).get("published", {})
        rows.append(
            {
                "model": name,
                "kind": "MoE" if count.is_moe else "dense",
                "total": count.total,
                "active": count.active,
                "active_matmul": count.active_matmul,
                "total_b": count.total / 1e9,
                "active_b": count.active_matmul / 1e9,
                "gflops_per_token": flops_per_token(count) / 1e9,
                "kv_cache_bytes_per_token": model_cache_bytes(name, dtype=args.dtype),
                "published_total_b": published.get("total_b"),
                "published_active_b": published.get("active_b"),
            }
        )
    if args.json:
        print_json({"dtype": args.dtype, "models": rows})
        return 0
    columns = {
        "model": "model",
        "kind": "kind",
        "total_b": "total (B)",
        "active_b": "active (B)",
        "gflops_per_token": "GFLOP/token",
        "kv_cache_bytes_per_token": "KV bytes/token",
    }
    print_table(f"Parameters per model, KV cache in {args.dtype}", rows, columns)
    return 0
