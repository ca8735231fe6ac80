"""A scaling study small enough for a laptop CPU: train tiny GPT-2 models, fit the law.

Trains four model sizes on four token budgets each (sixteen runs), measures each
model's loss on held-out text, fits $L(N, D) = E + A/N^\\alpha + B/D^\\beta$ to the
sixteen final losses with :func:`mlatlas.scaling.fit_law` (Hoffmann et al.'s Huber fit
and starting grid) and writes ``mlatlas/data/scaling_study.json`` with the runs, the
fit and where they were measured. A few minutes on a 2-core machine.

The corpus is the Python standard library's own ``.py`` files, of the interpreter
running this script: every machine that runs mlatlas has them, no download needed.
One file in ten (chosen by a hash of its path) is held out for evaluation. A
byte-level BPE tokenizer with a 384-token vocabulary is trained on the training files
with ``tokenizers``. Each run sees fewer tokens than the training text holds, so no
token is repeated: the law describes single-epoch training.

Run: ``python benchmarks/scaling_study.py`` (``--quick`` for a smoke test that writes
to a temporary file instead).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel

from mlatlas.labs.probe.cpu import collect_cpu
from mlatlas.scaling import PAPER_GRID, fit_law

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "mlatlas" / "data" / "scaling_study.json"

VOCAB = 384
CONTEXT = 64
BATCH = 32  # sequences per step: 2,048 tokens
SIZES = [  # (width, layers, heads)
    (16, 2, 2),
    (32, 2, 2),
    (48, 2, 4),
    (64, 2, 4),
]
TOKEN_BUDGETS = [125_000, 250_000, 500_000, 1_000_000]
QUICK_BUDGETS = [20_000, 40_000, 80_000]
LEARNING_RATE = 3e-3
HELD_OUT_SEQUENCES = 256
TRAIN_TEXT_BYTES = 6_000_000
TOKENIZER_TEXT_BYTES = 1_500_000
THREADS = 1
"""Measured on the 2-core machine the study was written on, while other jobs shared it:
one thread trained these models 2-4 times faster than two, whose threads mostly wait
on each other for matrices this small."""


def corpus() -> tuple[list[Path], list[Path], Path]:
    """The standard library's ``.py`` files, split 9:1 by a hash of their relative path."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(
        p for p in stdlib.rglob("*.py") if not {"site-packages", "dist-packages"} & set(p.parts)
    )
    held_out = [p for p in files if hashlib.sha1(str(p.relative_to(stdlib)).encode()).digest()[0] % 10 == 0]
    train = [p for p in files if p not in set(held_out)]
    return train, held_out, stdlib


def read_text(files: list[Path], limit: int) -> str:
    """Concatenate files (in order) until ``limit`` bytes, separated by blank lines."""
    parts, size = [], 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        size += len(text.encode())
        if size >= limit:
            break
    return "\n\n".join(parts)


def train_tokenizer(text: str) -> Tokenizer:
    """A byte-level BPE tokenizer: 256 byte tokens plus 128 merges learnt from ``text``."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator([text[i : i + 10_000] for i in range(0, len(text), 10_000)], trainer)
    return tokenizer


def encode(tokenizer: Tokenizer, text: str) -> torch.Tensor:
    chunks = [text[i : i + 100_000] for i in range(0, len(text), 100_000)]
    ids = [i for encoding in tokenizer.encode_batch(chunks) for i in encoding.ids]
    return torch.tensor(ids, dtype=torch.long)


def make_model(width: int, layers: int, heads: int) -> GPT2LMHeadModel:
    config = GPT2Config(
        vocab_size=VOCAB, n_positions=CONTEXT, n_embd=width, n_layer=layers, n_head=heads,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )
    return GPT2LMHeadModel(config)


@torch.no_grad()
def held_out_loss(model: GPT2LMHeadModel, val: torch.Tensor) -> float:
    """Mean cross-entropy (nats per token) on the first held-out windows."""
    model.eval()
    windows = val[: HELD_OUT_SEQUENCES * (CONTEXT + 1)].view(HELD_OUT_SEQUENCES, CONTEXT + 1)
    losses = [model(input_ids=w[:, :-1], labels=w[:, :-1]).loss.item() for w in windows.split(64)]
    model.train()
    return float(np.mean(losses))


def train_run(size: tuple[int, int, int], tokens: int, train: torch.Tensor, val: torch.Tensor) -> dict:
    """Train one model on ``tokens`` tokens with a cosine schedule sized to the run."""
    torch.manual_seed(0)
    model = make_model(*size)
    params = sum(p.numel() for p in model.parameters())  # the tied embedding counted once
    embedding = model.transformer.wte.weight.numel() + model.transformer.wpe.weight.numel()
    steps = tokens // (BATCH * CONTEXT)
    warmup = max(1, steps // 20)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.1, betas=(0.9, 0.95))

    def schedule(step: int) -> float:
        # Linear warm-up, then a cosine decay to a tenth over exactly this run
        # (Hoffmann et al. 2022, appendix B: the cycle should match the run length).
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    generator = torch.Generator().manual_seed(1)  # every run reads the same batches, in the same order
    started = time.perf_counter()
    for _ in range(steps):
        starts = torch.randint(0, len(train) - CONTEXT - 1, (BATCH,), generator=generator)
        batch = torch.stack([train[s : s + CONTEXT] for s in starts])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
    seconds = time.perf_counter() - started
    width, layers, heads = size
    return {
        "width": width,
        "layers": layers,
        "heads": heads,
        "params": params,
        "non_embedding_params": params - embedding,
        "tokens": steps * BATCH * CONTEXT,
        "steps": steps,
        "loss": held_out_loss(model, val),
        "final_train_loss": float(loss.item()),
        "seconds": round(seconds, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="six tiny runs, written to a temporary file")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"torch threads (default: {THREADS})")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    began = time.perf_counter()
    load_before = os.getloadavg()

    train_files, val_files, stdlib = corpus()
    train_text = read_text(train_files, TRAIN_TEXT_BYTES)
    val_text = read_text(val_files, 400_000)
    tokenizer = train_tokenizer(train_text[:TOKENIZER_TEXT_BYTES])
    train, val = encode(tokenizer, train_text), encode(tokenizer, val_text)
    sizes, budgets = (SIZES[:2], QUICK_BUDGETS) if args.quick else (SIZES, TOKEN_BUDGETS)
    if budgets[-1] > len(train):
        raise SystemExit(f"the training text holds {len(train)} tokens, fewer than a run needs")
    print(f"corpus: {len(train):,} training tokens, {len(val):,} held-out tokens; tokenizer ready "
          f"after {time.perf_counter() - began:.1f} s", flush=True)

    runs = []
    for size in sizes:
        for tokens in budgets:
            run = train_run(size, tokens, train, val)
            runs.append(run)
            print(f"width {run['width']:3d}: N = {run['params']:7,d}, D = {run['tokens']:9,d}, "
                  f"held-out loss {run['loss']:.4f} ({run['seconds']:.1f} s)", flush=True)

    fitted = fit_law(
        [r["params"] for r in runs], [r["tokens"] for r in runs], [r["loss"] for r in runs],
        grid=PAPER_GRID if not args.quick else {k: v[::2] for k, v in PAPER_GRID.items()},
        name="cpu-study", source="benchmarks/scaling_study.py",
    )
    law = fitted.law
    print(f"fit: E = {law.E:.4f}, A = {law.A:.4g}, B = {law.B:.4g}, alpha = {law.alpha:.4f}, "
          f"beta = {law.beta:.4f} ({fitted.starts} starts)", flush=True)

    total = time.perf_counter() - began
    study = {
        "provenance": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cpu": collect_cpu().model or platform.machine(),
            "cpu_count": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "command": " ".join(["python", "benchmarks/scaling_study.py", *sys.argv[1:]]),
            "corpus": (
                f"the .py files of the Python {platform.python_version()} standard library "
                f"({len(train_files)} training and {len(val_files)} held-out files, split by a "
                f"hash of the path); the first {len(train_text.encode()):,} bytes of training text"
            ),
            "tokenizer": f"byte-level BPE, {VOCAB} tokens, trained with tokenizers on the first "
                         f"{TOKENIZER_TEXT_BYTES:,} characters of the training text",
            "training_tokens_available": len(train),
            "model": f"GPT-2 (transformers), context {CONTEXT}, tied embeddings, no dropout",
            "optimiser": f"AdamW, peak lr {LEARNING_RATE}, 5% warm-up, cosine to 10% over each run, "
                         f"batch {BATCH} x {CONTEXT} tokens",
            "loss": f"mean cross-entropy in nats per token on {HELD_OUT_SEQUENCES} held-out windows "
                    f"of {CONTEXT} tokens",
            "total_seconds": round(total, 1),
        },
        "runs": runs,
        "fit": {
            "E": law.E, "A": law.A, "B": law.B, "alpha": law.alpha, "beta": law.beta,
            "objective": fitted.objective, "starts": fitted.starts, "delta": 1e-3,
            "method": "Huber loss on log-losses, L-BFGS from Hoffmann et al.'s grid (mlatlas.scaling.fit_law)",
        },
    }
    target = Path(tempfile.gettempdir()) / "scaling_study_quick.json" if args.quick else OUT
    # Write next to the target and rename, so a failure leaves nothing half-written.
    with tempfile.NamedTemporaryFile("w", dir=target.parent, suffix=".tmp", delete=False, encoding="utf-8") as f:
        json.dump(study, f, indent=2)
        f.write("\n")
    os.replace(f.name, target)
    print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target} "
          f"in {total:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
