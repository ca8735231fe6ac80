"""How ``mlatlas bench`` times one kernel: an annotated implementation.

Read this module top to bottom. Each section answers one way a benchmark can lie:

1. **One number hides the spread.** Every timed call is kept; the result is the
   median and the inter-quartile range (IQR), the statistic
   ``torch.utils.benchmark`` reports too.
2. **The device runs behind the host.** A CUDA kernel launch returns before the
   kernel has run, so a host clock read straight after it times the launch. CUDA
   work is timed with CUDA events recorded on the stream around the call; other
   devices are synchronised before and after the host clock is read.
3. **The inputs are already in the cache.** Run twice in a row, a kernel finds its
   operands in the last-level cache and reads them faster than a real first use
   would. Before every timed call, outside the timed region, a buffer twice the
   size of the last-level cache is read and written, which evicts them.
4. **The first calls pay for set-up.** Library loading, kernel selection and
   memory-pool growth happen on the first calls, so calls are made untimed until a
   warm-up time has passed; the warm-up also estimates how many timed calls fit in
   the time budget.
5. **Someone else is using the machine.** A CPU kernel split over all cores waits
   at every barrier for the slowest thread; if another process holds one core, that
   thread waits for the scheduler, and a fast kernel reads milliseconds. The run
   records how busy the CPU was just before it started, so a report can say so.

What is timed is a function of no arguments that writes into tensors allocated
beforehand (see :mod:`mlatlas.labs.bench.kernels`), so the timed region holds no
allocation. The number of CPU threads is whatever ``torch.get_num_threads()`` says;
nothing here changes it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from mlatlas.errors import MlatlasError

# ---------------------------------------------------------------------------
# 1. Statistics: keep every sample, report the median and the spread.
# ---------------------------------------------------------------------------


def quantile(samples: Sequence[float], q: float) -> float:
    """The ``q``-quantile of ``samples``, interpolating linearly between ranks.

    This is the definition of ``numpy.percentile``'s default and of
    ``statistics.quantiles(..., method="inclusive")``: sorted, the samples sit at
    positions ``0 .. n-1``, and the quantile is read at position ``q * (n - 1)``.

    Args:
        samples: At least one number.
        q: Between 0 and 1 (0.5 is the median).

    Returns:
        The interpolated value.

    Example:
        >>> quantile([4.0, 1.0, 3.0, 2.0], 0.5)
        2.5
        >>> quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.25)
        2.0
    """
    if not samples:
        raise MlatlasError("cannot take a quantile of no samples")
    if not 0.0 <= q <= 1.0:
        raise MlatlasError(f"quantile must be between 0 and 1, got {q}")
    ordered = sorted(samples)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


@dataclass(frozen=True)
class Timing:
    """Every timed call of one kernel, in seconds, and the statistics of them.

    Example:
        >>> t = Timing((0.010, 0.012, 0.011, 0.013, 0.030))
        >>> round(t.median, 6), round(t.iqr, 6), t.reps
        (0.012, 0.002, 5)
    """

    samples: tuple[float, ...]
    """Seconds taken by each timed call, in the order they ran."""

    @property
    def reps(self) -> int:
        """How many calls were timed."""
        return len(self.samples)

    @property
    def median(self) -> float:
        """The median call time, robust to the occasional slow call."""
        return quantile(self.samples, 0.5)

    @property
    def q1(self) -> float:
        """The first quartile (25th percentile)."""
        return quantile(self.samples, 0.25)

    @property
    def q3(self) -> float:
        """The third quartile (75th percentile)."""
        return quantile(self.samples, 0.75)

    @property
    def iqr(self) -> float:
        """The inter-quartile range, ``q3 - q1``: how much the middle half spreads."""
        return self.q3 - self.q1

    @property
    def min(self) -> float:
        """The fastest call."""
        return min(self.samples)


# ---------------------------------------------------------------------------
# 2. Synchronisation: time the kernel, not its launch.
# ---------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    """Wait until every kernel queued on ``device`` has finished.

    CPU operations in PyTorch run synchronously, so there is nothing to wait for.
    CUDA and MPS queue work and return at once; each has its own call that waits.
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _time_host_clock(
    call: Callable[[], object], device: torch.device, reps: int, flush: Callable[[], None]
) -> list[float]:
    """Time calls with the host's monotonic clock, synchronising around each.

    The flush and the synchronisation that follows it happen before the clock
    starts; the synchronisation after the call happens before it stops, so the time
    covers the kernel's whole execution and nothing else the host did.
    """
    samples = []
    for _ in range(reps):
        flush()
        synchronize(device)
        start = time.perf_counter()
        call()
        synchronize(device)
        samples.append(time.perf_counter() - start)
    return samples


def _time_cuda_events(
    call: Callable[[], object], device: torch.device, reps: int, flush: Callable[[], None]
) -> list[float]:
    """Time calls with CUDA events recorded on the current stream around each one.

    The events are timestamped by the GPU when the stream reaches them, so the host
    can queue every repetition without waiting: launch overhead overlaps the
    previous kernel instead of being counted. The flush is queued before the start
    event, so it is outside the timed region. One synchronisation at the end makes
    every timestamp readable; ``elapsed_time`` is in milliseconds.
    """
    with torch.cuda.device(device):
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        for start, end in zip(starts, ends, strict=True):
            flush()
            start.record()
            call()
            end.record()
        torch.cuda.synchronize(device)
        return [start.elapsed_time(end) / 1e3 for start, end in zip(starts, ends, strict=True)]


def time_calls(
    call: Callable[[], object], device: torch.device, reps: int, flush: Callable[[], None] | None = None
) -> list[float]:
    """Time ``reps`` calls of ``call`` on ``device``, flushing the cache before each.

    Args:
        call: A function of no arguments that queues the kernel.
        device: Where the kernel runs.
        reps: How many calls to time.
        flush: Run before each call, outside the timed region; ``None`` for none.

    Returns:
        Seconds per call, one per repetition.
    """
    flush = flush or (lambda: None)
    if device.type == "cuda":
        return _time_cuda_events(call, device, reps, flush)
    return _time_host_clock(call, device, reps, flush)


# ---------------------------------------------------------------------------
# 3. Cache flush: every timed call starts with the operands out of the cache.
# ---------------------------------------------------------------------------

DEFAULT_CACHE_BYTES = 128 * 2**20
"""Assumed last-level cache size where the system does not report one (a large
server L3 or a GPU's L2 is under this)."""


def last_level_cache_bytes(device: torch.device) -> int:
    """Size of the last-level cache in front of ``device``'s memory, in bytes.

    CUDA reports its L2 size through ``torch.cuda.get_device_properties``; on Linux
    the CPU's caches are listed in ``/sys/devices/system/cpu/cpu0/cache``. Anything
    else gets :data:`DEFAULT_CACHE_BYTES`.
    """
    if device.type == "cuda":
        size = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0)
        return int(size) or DEFAULT_CACHE_BYTES
    if device.type == "cpu":
        return _linux_cpu_cache_bytes() or DEFAULT_CACHE_BYTES
    return DEFAULT_CACHE_BYTES


def _linux_cpu_cache_bytes() -> int:
    """The largest cache level's size from sysfs, or 0 when it cannot be read."""
    best_level, best_size = 0, 0
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            level = int((index / "level").read_text())
            text = (index / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        size = int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text or 0)
        if level > best_level or (level == best_level and size > best_size):
            best_level, best_size = level, size
    return best_size


class CacheFlush:
    """Evicts the last-level cache by reading and writing a buffer twice its size.

    Every byte of the buffer is incremented, which loads each cache line and writes
    it back: a pure write can use streaming stores that bypass the cache on some
    CPUs, a read-modify-write cannot. Triton's ``do_bench`` does the same on GPUs
    with a 256 MB buffer; the size here follows the device's own cache.

    Args:
        device: Where the buffer lives.
        nbytes: Buffer size; default twice :func:`last_level_cache_bytes`.
    """

    def __init__(self, device: torch.device, nbytes: int | None = None) -> None:
        self.device = device
        self.nbytes = nbytes if nbytes is not None else 2 * last_level_cache_bytes(device)
        self._buffer = torch.zeros(self.nbytes, dtype=torch.uint8, device=device)

    def __call__(self) -> None:
        """Evict the cache (queued on the device's stream for CUDA)."""
        self._buffer.add_(1)


# ---------------------------------------------------------------------------
# 4. Warm-up, then as many timed calls as the budget allows.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """How long to warm up and how many calls to time.

    After at least ``warmup_s`` seconds of untimed calls (and ``min_warmup_calls``
    of them), the number of timed calls is the time budget over the time one
    flush-and-call took during warm-up, kept between ``min_reps`` and ``max_reps``.
    """

    warmup_s: float = 0.1
    target_s: float = 1.0
    min_reps: int = 10
    max_reps: int = 200
    min_warmup_calls: int = 2


FULL = Budget()
"""The default budget: about a second of timed calls per kernel."""

QUICK = Budget(warmup_s=0.03, target_s=0.25, min_reps=5, max_reps=50)
"""The ``--quick`` budget: a quarter of a second per kernel, at least five calls."""


def measure(
    call: Callable[[], object], device: torch.device, *, flush: Callable[[], None] | None = None, budget: Budget = FULL
) -> Timing:
    """Warm ``call`` up, then time it repeatedly with the cache flushed before each.

    Args:
        call: A function of no arguments that runs the kernel into preallocated
            outputs.
        device: Where the kernel runs.
        flush: Cache eviction run before each call, outside the timed region (a
            :class:`CacheFlush`); ``None`` times warm-cache calls.
        budget: Warm-up time and the number of timed calls.

    Returns:
        The timing of every timed call.

    Example:
        >>> import torch
        >>> x = torch.ones(1000)
        >>> t = measure(lambda: torch.add(x, x, out=x), torch.device("cpu"), budget=Budget(0.0, 0.0, 5, 5))
        >>> t.reps
        5
    """
    # Warm-up: untimed in the statistics, but the wall time of each flush-and-call
    # pair says how many timed calls fit into the budget.
    flush_or_nothing = flush or (lambda: None)
    calls, started = 0, time.perf_counter()
    while calls < budget.min_warmup_calls or time.perf_counter() - started < budget.warmup_s:
        flush_or_nothing()
        call()
        synchronize(device)
        calls += 1
    per_call = (time.perf_counter() - started) / calls
    reps = budget.max_reps if per_call <= 0 else round(budget.target_s / per_call)
    reps = max(budget.min_reps, min(budget.max_reps, reps))
    return Timing(tuple(time_calls(call, device, reps, flush)))


# ---------------------------------------------------------------------------
# 5. Is anyone else using the machine?
# ---------------------------------------------------------------------------


def cpu_busy_fraction(interval_s: float = 0.2) -> float | None:
    """Fraction of all CPU time spent busy over ``interval_s`` while this process sleeps.

    Read from the first line of Linux's ``/proc/stat`` before and after a sleep: the
    busy share of the elapsed jiffies across all cores. Near 0 on a quiet machine;
    0.5 on a two-core machine where another process keeps one core busy.

    Returns:
        Between 0 and 1, or ``None`` where ``/proc/stat`` does not exist.
    """

    def sample() -> tuple[int, int] | None:
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    before = sample()
    if before is None:
        return None
    time.sleep(interval_s)
    after = sample()
    if after is None or after[0] == before[0]:
        return None
    total, idle = after[0] - before[0], after[1] - before[1]
    return max(0.0, min(1.0, 1 - idle / total))
