"""``mlatlas attention``: KV-cache sizes of open models."""

from __future__ import annotations

import argparse

from mlatlas.attention import BYTES_PER_ELEMENT, kv_cache_bytes, model_shape, model_shapes
from mlatlas.cli.output import add_json_flag, print_json, print_table

GIB = 2**30


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``attention kv-cache`` to the command line."""
    parser = subparsers.add_parser("attention", help="attention: KV-cache size of open models")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    kv = commands.add_parser(
        "kv-cache",
        help="memory a model's KV cache needs",
        description="Memory the KV cache needs for a batch of sequences, from each model's config.",
    )
    kv.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help=f"model to size (repeatable; default: all of {', '.join(model_shapes())})",
    )
    kv.add_argument("--seq-len", type=int, default=8192, help="tokens per sequence (default: 8192)")
    kv.add_argument("--batch", type=int, default=1, help="sequences at once (default: 1)")
    kv.add_argument("--dtype", choices=list(BYTES_PER_ELEMENT), default="bf16", help="cache dtype (default: bf16)")
    add_json_flag(kv, "instead of a table")
    kv.set_defaults(handler=run_kv_cache)


def run_kv_cache(args: argparse.Namespace) -> int:
    """Print the KV-cache size of each requested model."""
    shapes = [model_shape(name) for name in args.model] if args.model else list(model_shapes().values())
    rows = []
    for shape in shapes:
        total = kv_cache_bytes(shape, args.seq_len, args.batch, args.dtype)
        rows.append(
            {
                "model": shape.name,
                "attention": shape.kind,
                "layers": shape.num_layers,
                "heads": shape.num_heads,
                "kv_heads": shape.num_kv_heads,
                "head_dim": shape.head_dim,
                "bytes_per_token": kv_cache_bytes(shape, 1, 1, args.dtype),
                "total_bytes": total,
                "total_gib": total / GIB,
                "source": shape.source,
            }
        )
    if args.json:
        print_json({"seq_len": args.seq_len, "batch": args.batch, "dtype": args.dtype, "models": rows})
        return 0
    columns = {
        "model": "model",
        "attention": "type",
        "layers": "layers",
        "heads": "heads",
        "kv_heads": "KV heads",
        "head_dim": "head dim",
        "bytes_per_token": "bytes/token",
        "total_gib": "total GiB",
    }
    title = f"KV cache, {args.batch} x {args.seq_len} tokens, {args.dtype}"
    print_table(title, rows, columns)
    return 0
