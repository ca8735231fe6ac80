"""Async patterns: the bound holds, groups cancel, threads keep the loop free."""

from __future__ import annotations

import asyncio
import time

import pytest

from mlatlas import async_patterns as ap
from mlatlas.errors import MlatlasError


def _jobs(n: int, tracker: ap.InFlight, delay: float = 0.005):
    async def job(i: int) -> int:
        async with tracker:
            await asyncio.sleep(delay * ((7 * i) % 5))  # uneven durations: finish out of order
            return i * i

    return [lambda i=i: job(i) for i in range(n)]


@pytest.mark.parametrize("limit", [1, 3, 8])
def test_bounded_gather_never_exceeds_the_limit(limit: int) -> None:
    tracker = ap.InFlight()
    results = asyncio.run(ap.bounded_gather(_jobs(20, tracker), limit))
    assert results == [i * i for i in range(20)]  # input order, not completion order
    assert tracker.peak == limit  # reached, never exceeded
    assert tracker.entered == 20 and tracker.current == 0


def test_unbounded_gather_would_run_everything_at_once() -> None:
    tracker = ap.InFlight()
    asyncio.run(ap.gather_in_group(_jobs(20, tracker)))
    assert tracker.peak == 20


def test_task_group_bound_and_order() -> None:
    tracker = ap.InFlight()
    assert asyncio.run(ap.gather_in_group(_jobs(12, tracker), limit=4)) == [i * i for i in range(12)]
    assert tracker.peak == 4


def test_task_group_cancels_siblings_on_failure() -> None:
    finished: list[int] = []
    cancelled: list[int] = []

    async def slow(i: int) -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        finished.append(i)
        return i

    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise KeyError("boom")

    jobs = [lambda i=i: slow(i) for i in range(3)] + [failing]
    start = time.perf_counter()
    with pytest.raises(ExceptionGroup) as info:
        asyncio.run(ap.gather_in_group(jobs))
    assert time.perf_counter() - start < 5  # nobody waited out the 10 s sleeps
    assert info.group_contains(KeyError)
    assert sorted(cancelled) == [0, 1, 2] and finished == []


def test_to_thread_keeps_the_loop_responsive() -> None:
    free = asyncio.run(ap.tick_while(time.sleep, 0.15, in_thread=True, interval=0.01))
    frozen = asyncio.run(ap.tick_while(time.sleep, 0.15, in_thread=False, interval=0.01))
    assert free.ticks >= 5  # about 15 expected; generous for a loaded machine
    assert frozen.ticks == 0  # the heartbeat never ran while the loop was blocked


def test_tick_while_returns_the_result() -> None:
    beat = asyncio.run(ap.tick_while(sum, [1, 2, 3]))
    assert beat.result == 6


def test_processes_compute_the_same_as_serial() -> None:
    items = [2_000, 50, 3_000, 0, 1_000]
    results = asyncio.run(ap.map_in_processes(ap.count_primes, items, workers=2))
    assert results == [ap.count_primes(n) for n in items] == [303, 15, 430, 0, 168]


def test_nested_run_is_an_error() -> None:
    assert "running event loop" in ap.nested_run_error()


@pytest.mark.parametrize("bad", [0, -1, 1.5, None])
def test_bad_limits_are_refused(bad) -> None:
    with pytest.raises(MlatlasError, match="positive integer"):
        asyncio.run(ap.bounded_gather([], bad))
    with pytest.raises(MlatlasError, match="positive integer"):
        asyncio.run(ap.map_in_processes(ap.count_primes, [1], workers=bad))
    if bad is not None:
        with pytest.raises(MlatlasError, match="positive integer"):
            asyncio.run(ap.gather_in_group([], bad))


def test_other_bad_input_is_refused() -> None:
    with pytest.raises(MlatlasError, match="interval"):
        asyncio.run(ap.tick_while(time.sleep, 0, interval=0))
    with pytest.raises(MlatlasError, match="negative"):
        ap.count_primes(-1)
