"""The lab's training on several processes: torchrun starts them, DDP keeps them in step.

``torchrun --nproc-per-node N -m mlatlas distill run ...`` starts ``N`` copies of the
same command and tells each one who it is through environment variables (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). Every copy then:

1. joins the process group (:func:`process_group`): gloo on CPU, NCCL on GPUs, with a
   timeout, so that a collective waiting for a peer that died ends with an error, not
   a hang;
2. reads its own share of every epoch (:meth:`Group.loader`): a
   :class:`~torch.utils.data.DistributedSampler` shuffles by seed and epoch, then deals
   the examples out in turn, so ``N`` ranks taking ``B / N`` examples each read the
   same global batch of ``B`` that one process would;
3. trains its replica wrapped in
   :class:`~torch.nn.parallel.DistributedDataParallel` (:meth:`Group.wrap`), which
   averages the gradients across ranks during ``backward``: every replica takes the
   same optimizer step, and :func:`~mlatlas.labs.distill.train.train_epoch` runs
   unchanged;
4. leaves printing, logging and writing files to rank 0 (:attr:`Group.is_main`).

:func:`launch` is what ``mlatlas distill run --nproc N`` calls: it runs torchrun itself
(``torch.distributed.run``, in this process) on ``python -m mlatlas ...``. When a rank
fails, torchrun's elastic agent stops the others; :func:`launch` turns the first
failure into one line. Nothing here is a launcher or a collective of its own.

Examples:
    >>> launched({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}), launched({})
    (True, False)
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from mlatlas.errors import MlatlasError
from mlatlas.labs.distill.train import Batches, loader

TIMEOUT = timedelta(seconds=60)
"""How long a collective waits for the other ranks before it fails."""

FAIL_RANK = "MLATLAS_DEBUG_FAIL_RANK"
"""Debug hook for the failure path's test: the rank named here raises after its first
training step, as a rank that runs out of memory or loses its disk would."""


def launched(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process was started by torchrun (or a launcher that sets the same variables)."""
    environ = os.environ if environ is None else environ
    return all(name in environ for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


@dataclass(frozen=True)
class Group:
    """This process's place in the process group.

    Attributes:
        rank: This process's number, 0 to ``world_size - 1``.
        world_size: Processes training together.
        local_rank: Its number on this machine (which GPU it drives).
        backend: ``gloo`` or ``nccl``.
        device: Where its replica lives: ``cpu``, or ``cuda:<local_rank>``.
    """

    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that prints, logs and writes files."""
        return self.rank == 0

    def wrap(self, model: torch.nn.Module) -> DistributedDataParallel:
        """``model`` as a DDP replica: weights broadcast from rank 0, gradients averaged in ``backward``."""
        model.to(self.device)
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def sampler(self, batches: Batches, *, seed: int | None, epoch: int) -> DistributedSampler:
        """This rank's share of ``batches`` for ``epoch``: shuffled by ``seed + epoch``, or in order if ``None``."""
        sampler = DistributedSampler(
            batches, num_replicas=self.world_size, rank=self.rank, shuffle=seed is not None, seed=seed or 0
        )
        sampler.set_epoch(epoch)  # without it every epoch would repeat the first one's order
        return sampler

    def loader(self, batches: Batches, *, batch_size: int, seed: int | None, epoch: int) -> DataLoader:
        """This rank's batches of ``batch_size / world_size`` examples, so that a step's global batch is ``batch_size``.

        Raises:
            MlatlasError: ``batch_size`` does not split evenly over the processes.
        """
        if batch_size % self.world_size:
            raise MlatlasError(f"a batch of {batch_size} does not split evenly over {self.world_size} processes")
        sampler = self.sampler(batches, seed=seed, epoch=epoch)
        return loader(batches, batch_size=batch_size // self.world_size, sampler=sampler)

    def mean(self, value: float, count: int) -> float:
        """The mean over all ranks of a per-rank mean ``value`` taken over ``count`` examples."""
        totals = torch.tensor([value * count, float(count)], dtype=torch.float64, device=self.device)
        dist.all_reduce(totals)
        return float(totals[0] / totals[1])

    def debug_step(self) -> None:
        """Raise here if :data:`FAIL_RANK` names this rank (only the failure-path test sets it)."""
        if os.environ.get(FAIL_RANK) == str(self.rank):
            raise RuntimeError(f"rank {self.rank} stopped on purpose ({FAIL_RANK}={self.rank})")


@contextmanager
def process_group(*, device: str = "cpu", timeout: timedelta = TIMEOUT) -> Iterator[Group]:
    """Join the process group torchrun's variables describe; leave it on exit.

    Args:
        device: ``cpu`` (gloo) or ``cuda`` (NCCL, one GPU per rank, chosen by ``LOCAL_RANK``).
        timeout: How long a collective waits for a missing peer before it raises.

    Raises:
        MlatlasError: The variables are missing (not started by torchrun).
    """
    if not launched():
        raise MlatlasError("not started by torchrun: RANK, WORLD_SIZE and LOCAL_RANK are not set")
    local_rank = int(os.environ["LOCAL_RANK"])
    if device == "cuda":
        torch.cuda.set_device(local_rank)
        place, backend = torch.device("cuda", local_rank), "nccl"
    else:
        place, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend, timeout=timeout)
    group = Group(dist.get_rank(), dist.get_world_size(), local_rank, backend, place)
    if not group.is_main:
        logging.disable(logging.WARNING)  # warnings and logs come from rank 0 only
        warnings.simplefilter("ignore")
    try:
        yield group
        # Leave together: a rank that tears its group down while a peer still works
        # (rank 0 saving the models) can leave gloo waiting on a closed connection.
        dist.barrier()
    finally:
        dist.destroy_process_group()


def record_failure(error: BaseException) -> None:
    """Write ``error`` where torchrun's agent reads a rank's failure (``TORCHELASTIC_ERROR_FILE``)."""
    from torch.distributed.elastic.multiprocessing.errors import ErrorHandler

    ErrorHandler().record_exception(error)


def torchrun_arguments(nproc: int, arguments: Sequence[str], log_dir: str | Path) -> list[str]:
    """torchrun's command line for ``nproc`` copies of ``python -m mlatlas <arguments>`` on this machine."""
    return ["--nproc-per-node", str(nproc), "--standalone", "--log-dir", str(log_dir), "-m", "mlatlas", *arguments]


def launch(nproc: int, arguments: Sequence[str]) -> None:
    """Run ``python -m mlatlas <arguments>`` on ``nproc`` processes under torchrun; return when all are done.

    The processes share this one's standard output and error, and so show what rank 0
    prints. torchrun's own records go to a temporary folder, removed afterwards.

    Raises:
        MlatlasError: A rank failed; the message names it and its error, the first
            one observed (the other ranks fail after it, or are stopped by torchrun).
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's own default, set here so it need not warn
    with tempfile.TemporaryDirectory(prefix="mlatlas-torchrun-") as log_dir:
        args = get_args_parser().parse_args(torchrun_arguments(nproc, arguments, log_dir))
        logging.disable(logging.ERROR)  # the agent's records are in log_dir; the failure becomes one line
        try:
            run(args)
        except ChildFailedError as error:
            raise MlatlasError(_first_failure(error, nproc)) from None
        finally:
            logging.disable(logging.NOTSET)


def _first_failure(error, nproc: int) -> str:
    """One line for the rank that failed first: its error file was written first."""

    def written(item) -> tuple[float, int]:
        rank, failure = item
        path = Path(failure.error_file)
        return (path.stat().st_mtime_ns if path.is_file() else failure.timestamp * 10**9, rank)

    rank, failure = min(error.failures.items(), key=written)
    message = failure.message
    if isinstance(message, dict):
        message = message.get("message", "")
    message = " ".join(str(message).split()) or f"exit status {failure.exitcode}"
    return f"rank {rank} of {nproc} failed, torchrun stopped the others: {message}"
