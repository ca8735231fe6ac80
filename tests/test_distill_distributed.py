"""The distillation lab on two processes: torchrun, DistributedDataParallel over gloo.

Two ranks taking half of every global batch must train exactly what one process
trains on the whole batch: the same losses and weights, up to the rounding of the
fp32 all-reduce (DDP sums the two gradients, then divides by two; one process
averages over all examples at once). The reference below runs in this process with
no process group at all and orders the examples by hand, as ``DistributedSampler``
documents it: one ``randperm`` seeded with ``seed + epoch``, dealt out in turn.

This file is also the two ranks' script: the test runs it under the real torchrun
(``python -m torch.distributed.run``), which calls :func:`_rank`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import ROOT, run_env
from mlatlas.labs.distill import generate
from mlatlas.labs.distill.distributed import FAIL_RANK, launched, process_group, torchrun_arguments
from mlatlas.labs.distill.loss import distillation_loss
from mlatlas.labs.distill.models import ModelSize, build_model
from mlatlas.labs.distill.tokenizer import train_tokenizer
from mlatlas.labs.distill.train import encode, loader, train_epoch

GLOBAL_BATCH = 16
"""Examples per optimizer step: 8 on each of the two ranks, 16 in the single process."""

ROWS, EPOCHS, SEED = 128, 2, 5
"""128 rows, 8 steps an epoch; shuffled by ``SEED + epoch``."""

TINY = ModelSize(hidden=32, layers=1, heads=2, intermediate=64, dropout=0.0)
"""Dropout off: each rank draws its own dropout masks, which one process cannot repeat."""


def _examples():
    data = generate(ROWS, seed=0)
    tokenizer = train_tokenizer(data.texts, vocab_size=200)
    return data, encode(tokenizer, data.texts, data.labels), len(tokenizer)


def _model(vocab: int, classes) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(TINY, vocab_size=vocab, classes=classes)


def _hard(logits: torch.Tensor, batch) -> torch.Tensor:
    return distillation_loss(logits, logits, batch["labels"], alpha=0.0)


def _rank(out: Path) -> None:
    """One of the two ranks: the lab's loop on a DDP replica, this rank's share of each batch."""
    torch.set_num_threads(1)
    data, examples, vocab = _examples()
    with process_group() as group:
        model = _model(vocab, data.classes)
        replica = group.wrap(model)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
        losses = []
        for epoch in range(1, EPOCHS + 1):
            batches = group.loader(examples, batch_size=GLOBAL_BATCH, seed=SEED, epoch=epoch)
            loss = train_epoch(replica, batches, optimizer, _hard)
            losses.append(group.mean(loss, len(batches.sampler)))
        if group.is_main:
            torch.save({"losses": losses, "state": model.state_dict(), "world": group.world_size}, out)


def _single_process() -> tuple[list[float], dict[str, torch.Tensor]]:
    """The same training in this process, on whole global batches in DistributedSampler's order."""
    data, examples, vocab = _examples()
    model = _model(vocab, data.classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    losses = []
    for epoch in range(1, EPOCHS + 1):
        order = torch.randperm(ROWS, generator=torch.Generator().manual_seed(SEED + epoch)).tolist()
        losses.append(train_epoch(model, loader(examples, batch_size=GLOBAL_BATCH, sampler=order), optimizer, _hard))
    return losses, model.state_dict()


def _torchrun(*arguments: str, env: dict[str, str] | None = None, timeout: int = 120):
    """Run torchrun in its own process group; on a timeout, end the ranks too (no orphans)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env or run_env(),
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_two_ranks_train_what_one_process_trains_on_the_same_global_batch(tmp_path: Path) -> None:
    out = tmp_path / "rank0.pt"
    env = {**run_env(), "OMP_NUM_THREADS": "1"}
    result = _torchrun(
        "--nproc-per-node", "2", "--standalone", "--log-dir", str(tmp_path / "logs"),
        __file__, str(out), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = torch.load(out)
    assert ranks["world"] == 2
    losses, state = _single_process()
    # fp32 sums in another order: DDP adds the two ranks' mean gradients, one process sums over
    # all 16 examples, and each rank trims padding to its own longest input. The losses agree to
    # about 1e-8 relative; AdamW divides each gradient by its running RMS, so a rounding
    # difference in a near-zero gradient can move a weight by a few 1e-6 after 16 steps of lr 3e-3
    # (measured: 3e-6 at most). A wrong data order moves the weights by about 0.07.
    assert ranks["losses"] == pytest.approx(losses, rel=1e-5)
    assert losses[1] < losses[0]  # it learned something, so the comparison is not of two idle models
    for name, weight in state.items():
        torch.testing.assert_close(ranks["state"][name], weight, rtol=1e-4, atol=1e-5, msg=name)


def test_the_ranks_read_disjoint_halves_of_each_global_batch() -> None:
    """DistributedSampler deals a permutation out in turn: batch k of the two ranks is batch k of one process."""
    from mlatlas.labs.distill.distributed import Group

    _, examples, _ = _examples()
    ranks = [Group(rank, 2, rank, "gloo", torch.device("cpu")) for rank in (0, 1)]
    order = torch.randperm(ROWS, generator=torch.Generator().manual_seed(SEED + 3)).tolist()
    whole = [order[i : i + GLOBAL_BATCH] for i in range(0, ROWS, GLOBAL_BATCH)]
    shares = [list(r.sampler(examples, seed=SEED, epoch=3)) for r in ranks]
    halves = [[share[i : i + GLOBAL_BATCH // 2] for i in range(0, len(share), GLOBAL_BATCH // 2)] for share in shares]
    assert [sorted(a + b) for a, b in zip(*halves, strict=True)] == [sorted(batch) for batch in whole]
    assert not set(shares[0]) & set(shares[1])
    assert shares[0] != [list(r.sampler(examples, seed=SEED, epoch=4)) for r in ranks][0]  # set_epoch reshuffles


def test_run_on_two_processes_prints_and_writes_from_rank_0_only(tmp_path: Path) -> None:
    out = tmp_path / "models"
    args = ["distill", "run", "--nproc", "2", "--generate", "240", "--teacher-epochs", "1", "--student-epochs", "2",
            "--student-rows", "100", "--out", str(out), "--json"]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "mlatlas", *args], capture_output=True, text=True, cwd=ROOT, env=run_env(), timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""  # no rank logs, and torchrun's agent keeps its records to itself
    summary = json.loads(result.stdout)  # one JSON document: a second rank printing would break it
    assert summary["processes"] == 2 and summary["backend"] == "gloo"
    assert [m["model"] for m in summary["models"]] == ["teacher", "baseline student", "distilled student"]
    assert [h["epoch"] for h in summary["history"]["student"]] == [1, 2]
    assert sorted(p.name for p in out.iterdir()) == ["baseline", "student", "teacher"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]  # no temporary folder left behind


def test_a_failing_rank_ends_the_run_with_one_line(tmp_path: Path) -> None:
    env = {**run_env(), FAIL_RANK: "1"}
    args = ["distill", "run", "--nproc", "2", "--generate", "240", "--teacher-epochs", "1", "--student-epochs", "1",
            "--student-rows", "100", "--out", str(tmp_path / "models")]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "mlatlas", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=150
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"mlatlas: error: rank 1 of 2 failed, torchrun stopped the others: "
        f"RuntimeError: rank 1 stopped on purpose ({FAIL_RANK}=1)"
    ]
    assert not (tmp_path / "models").exists()


def test_nproc_must_divide_the_batch_and_torchrun_arguments(capsys) -> None:
    from mlatlas.cli import main

    assert main(["distill", "run", "--generate", "--nproc", "3"]) == 2
    assert "--nproc 3 does not divide the batch size 32" in capsys.readouterr().err
    assert torchrun_arguments(2, ["distill", "run"], "/tmp/x") == [
        "--nproc-per-node", "2", "--standalone", "--log-dir", "/tmp/x", "-m", "mlatlas", "distill", "run",
    ]  # fmt: skip
    assert not launched({"RANK": "0", "WORLD_SIZE": "2"})


if __name__ == "__main__":  # one of torchrun's ranks
    assert launched(), "run this file under torchrun"
    _rank(Path(sys.argv[1]))
