"""Asynchronous patterns: bounded concurrency, task groups, work off the event loop.

An event loop runs one coroutine at a time on one thread and switches between them
only at an ``await``. That makes thousands of waiting tasks cheap, and it makes two
mistakes expensive: starting every task at once (a server or a GPU queue sees all of
them together) and doing blocking or CPU-heavy work on the loop's thread (every other
task stops until it returns). The functions here are the standard cures:

- :func:`bounded_gather`: ``asyncio.gather`` behind an ``asyncio.Semaphore``, so at
  most ``limit`` tasks run at once, with results in input order;
- :func:`gather_in_group`: the same with ``asyncio.TaskGroup`` (Python 3.11), which
  cancels the remaining tasks as soon as one fails;
- :func:`tick_while`: a heartbeat that shows whether the loop stays responsive while
  blocking work runs, on the loop or in a thread with ``asyncio.to_thread``;
- :func:`map_in_processes`: CPU-bound work in a ``ProcessPoolExecutor`` through
  ``loop.run_in_executor``, since threads share one interpreter lock.

Example:
    >>> import asyncio
    >>> async def double(x):
    ...     await asyncio.sleep(0)
    ...     return 2 * x
    >>> asyncio.run(bounded_gather([lambda x=x: double(x) for x in range(5)], limit=2))
    [0, 2, 4, 6, 8]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mlatlas.errors import MlatlasError

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class InFlight:
    """Counts how many tasks are inside a section at once, and the most ever seen.

    Use it as an ``async with`` block around the work to measure; the event loop is
    single-threaded, so the counts need no lock.

    Attributes:
        current: Tasks inside the section now.
        peak: The largest ``current`` seen.
        entered: Tasks that have entered so far.
    """

    current: int = 0
    peak: int = 0
    entered: int = 0

    async def __aenter__(self) -> InFlight:
        self.current += 1
        self.entered += 1
        self.peak = max(self.peak, self.current)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.current -= 1


async def bounded_gather(jobs: Iterable[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run jobs concurrently, never more than ``limit`` at once; results in input order.

    Each job is a function that returns an awaitable (a coroutine function with its
    arguments bound), so that no coroutine is created before a slot is free. The first
    exception propagates, as with ``asyncio.gather``; jobs already running go on.

    Args:
        jobs: Zero-argument callables returning awaitables.
        limit: Most jobs in flight at once.

    Returns:
        The jobs' results, in the order the jobs were given.

    Raises:
        MlatlasError: If ``limit`` is not a positive integer.
    """
    if not isinstance(limit, int) or limit < 1:
        raise MlatlasError(f"concurrency limit must be a positive integer, got {limit!r}")
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def gather_in_group(jobs: Iterable[Callable[[], Awaitable[T]]], limit: int | None = None) -> list[T]:
    """Run jobs in an ``asyncio.TaskGroup``; results in input order.

    If a job raises, the group cancels every other job still running and raises an
    ``ExceptionGroup`` holding the failure(s) once all have finished: no task is left
    running in the background, which ``asyncio.gather`` does not promise.

    Args:
        jobs: Zero-argument callables returning awaitables.
        limit: Most jobs in flight at once, or None for no bound.

    Returns:
        The jobs' results, in the order the jobs were given.

    Raises:
        MlatlasError: If ``limit`` is given and is not a positive integer.
        ExceptionGroup: If any job raised.
    """
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise MlatlasError(f"concurrency limit must be a positive integer, got {limit!r}")
    semaphore = asyncio.Semaphore(limit) if limit is not None else None

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        if semaphore is None:
            return await job()
        async with semaphore:
            return await job()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(job)) for job in jobs]
    return [task.result() for task in tasks]


@dataclass(frozen=True)
class Heartbeat:
    """What a heartbeat coroutine saw while blocking work ran.

    Attributes:
        result: What the blocking function returned.
        ticks: How many times the heartbeat ran during the work.
        seconds: Wall-clock duration of the work.
    """

    result: Any
    ticks: int
    seconds: float = field(compare=False)


async def tick_while(
    blocking: Callable[..., R], *args: Any, in_thread: bool = True, interval: float = 0.01
) -> Heartbeat:
    """Run a blocking function while a heartbeat coroutine ticks every ``interval``.

    With ``in_thread=True`` the function runs in a worker thread via
    ``asyncio.to_thread`` and the loop stays free, so the heartbeat keeps ticking.
    With ``in_thread=False`` it is called directly on the loop's thread, and the
    heartbeat cannot run until it returns: the loop is frozen.

    Args:
        blocking: A function that blocks (``time.sleep``, a file or socket read, a
            library call without an async API).
        *args: Its arguments.
        in_thread: Whether to move it off the event loop.
        interval: Seconds between heartbeat ticks.

    Returns:
        The function's result and the number of ticks seen while it ran.

    Raises:
        MlatlasError: If ``interval`` is not positive.
    """
    if not interval > 0:
        raise MlatlasError(f"heartbeat interval must be positive, got {interval!r}")
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(interval)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)  # let the heartbeat start before the work
    start = time.perf_counter()
    try:
        if in_thread:
            result = await asyncio.to_thread(blocking, *args)
        else:
            result = blocking(*args)
        seen = ticks
    finally:
        beat.cancel()
    return Heartbeat(result, seen, time.perf_counter() - start)


def count_primes(limit: int) -> int:
    """Count the primes below ``limit`` by trial division: deliberately CPU-bound.

    Example:
        >>> count_primes(100)
        25
    """
    if limit < 0:
        raise MlatlasError(f"prime limit must not be negative, got {limit}")
    count = 0
    for n in range(2, limit):
        d = 2
        while d * d <= n:
            if n % d == 0:
                break
            d += 1
        else:
            count += 1
    return count


async def map_in_processes(fn: Callable[[T], R], items: Sequence[T], workers: int = 2) -> list[R]:
    """Apply a CPU-bound function to items in worker processes; results in order.

    Each call is handed to a ``ProcessPoolExecutor`` with ``loop.run_in_executor``,
    which wraps the executor's future in an asyncio future: the loop awaits the
    results and stays free meanwhile. Processes, not threads, because CPU-bound pure
    Python holds the interpreter lock and threads would take turns.

    Args:
        fn: A function importable by name (a module-level function), since it and
            its arguments are pickled to reach the workers.
        items: One argument per call.
        workers: Number of worker processes.

    Returns:
        ``[fn(item) for item in items]``, computed in parallel.

    Raises:
        MlatlasError: If ``workers`` is not a positive integer.
    """
    if not isinstance(workers, int) or workers < 1:
        raise MlatlasError(f"worker count must be a positive integer, got {workers!r}")
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(await asyncio.gather(*(loop.run_in_executor(pool, fn, item) for item in items)))


def nested_run_error() -> str:
    """The error ``asyncio.run`` raises when called from inside a running loop.

    This is the situation ``nest_asyncio`` exists for (a notebook cell, or a
    synchronous library that calls ``asyncio.run`` from code already running in a
    loop). The fix that needs no patch is to ``await`` the coroutine instead.

    Returns:
        The message of the ``RuntimeError``.

    Example:
        >>> nested_run_error()
        'asyncio.run() cannot be called from a running event loop'
    """

    async def inner() -> int:
        return 1

    async def outer() -> str:
        coro = inner()
        try:
            asyncio.run(coro)
        except RuntimeError as err:
            coro.close()  # never started: close it so it is not reported as never awaited
            return str(err)
        return "no error"

    return asyncio.run(outer())
