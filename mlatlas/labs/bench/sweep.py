"""A whole benchmark run: every kernel, size, format and device, into one report.

:func:`run` checks its arguments before measuring anything, so bad input fails at
once with one :class:`~mlatlas.errors.MlatlasError`. Then, device by device, it
measures memory bandwidth (STREAM copy and triad) and the matrix product over the
size sweep for each number format, timing every kernel with
:func:`~mlatlas.labs.bench.timing.measure` and comparing it with the device's peak
from :func:`mlatlas.labs.probe.peaks`.

A format the device cannot multiply in is skipped with the reason. A size whose one
call would take longer than the budget allows, extrapolated from the previous size
(a square product's time grows as the cube of its side), is skipped too, so a slow
format (fp16 on most CPUs) cannot stretch a run to minutes.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from mlatlas import __version__
from mlatlas.errors import MlatlasError
from mlatlas.labs.bench import kernels
from mlatlas.labs.bench.devices import (
    DEFAULT_DTYPES,
    available_devices,
    check_dtype,
    device_name,
    resolve_device,
    unsupported_reason,
)
from mlatlas.labs.bench.report import BenchReport, DeviceInfo, Result, Skip
from mlatlas.labs.bench.timing import FULL, QUICK, Budget, CacheFlush, cpu_busy_fraction, measure
from mlatlas.labs.probe import peaks

CPU_SIZES = (128, 256, 512, 1024, 2048)
"""Matrix sides swept on a CPU by default."""
GPU_SIZES = (256, 512, 1024, 2048, 4096, 8192, 16384)
"""Matrix sides swept on a GPU by default (small sides show launch overhead, large
ones approach the peak)."""
QUICK_CPU_SIZES = (128, 256, 512, 1024, 2048)
QUICK_GPU_SIZES = (512, 2048, 8192)
MAX_SIZE = 32768
"""Largest matrix side accepted (three float32 matrices of this side take 12 GiB)."""

MAX_CALL_S = 2.0
"""Longest one call may be expected to take before its size is skipped."""
QUICK_MAX_CALL_S = 0.5
"""The same limit under ``quick``."""

Progress = Callable[[int, int, str], None]
"""``progress(done, total, label)``: called before each kernel and once at the end."""


def default_sizes(device: str, quick: bool = False) -> tuple[int, ...]:
    """The matrix sides swept on ``device`` when none are given.

    Example:
        >>> default_sizes("cpu", quick=True)
        (128, 256, 512, 1024, 2048)
    """
    if device == "cpu":
        return QUICK_CPU_SIZES if quick else CPU_SIZES
    return QUICK_GPU_SIZES if quick else GPU_SIZES


def check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    """The sizes, sorted and without repeats, if each is a whole number in range.

    Raises:
        MlatlasError: A size is not an integer between 1 and :data:`MAX_SIZE`.

    Example:
        >>> check_sizes([512, 128, 512])
        (128, 512)
    """
    if not sizes:
        raise MlatlasError("no sizes given: give at least one matrix side, e.g. 512")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
            raise MlatlasError(f"invalid size {size!r}: a matrix side must be a whole number from 1 to {MAX_SIZE}")
    return tuple(sorted(set(sizes)))


def parse_list(text: str) -> list[str]:
    """Split a comma-separated command-line list, ignoring spaces and empty items.

    Example:
        >>> parse_list("fp32, bf16,")
        ['fp32', 'bf16']
    """
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_sizes(text: str) -> list[int]:
    """Matrix sides from a comma-separated list such as ``"256,512,1024"``.

    Raises:
        MlatlasError: An item is not a positive whole number in range.

    Example:
        >>> parse_sizes("256,512")
        [256, 512]
    """
    sizes = []
    for item in parse_list(text) or [text]:
        try:
            sizes.append(int(item))
        except ValueError:
            raise MlatlasError(
                f"invalid size {item!r}: a matrix side must be a whole number from 1 to {MAX_SIZE}"
            ) from None
    check_sizes(sizes)
    return sizes


@dataclass(frozen=True)
class _Task:
    device: str
    kernel: str
    dtype: str
    size: int

    @property
    def label(self) -> str:
        if self.kernel == "matmul":
            return f"{self.device} matmul {self.dtype} {self.size}"
        return f"{self.device} {self.kernel} {self.dtype}"


def run(
    devices: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
    *,
    quick: bool = False,
    progress: Progress | None = None,
    command: str | None = None,
) -> BenchReport:
    """Measure matrix-product throughput and memory bandwidth on each device.

    Args:
        devices: Devices to measure (``cpu``, ``cuda``, ``cuda:N``, ``mps``);
            ``None`` for every one found here.
        dtypes: Formats of the matrix product, among ``fp64``, ``fp32``, ``tf32``,
            ``fp16``, ``bf16``; ``None`` for ``fp32``, ``tf32``, ``fp16``, ``bf16``.
            Copy and triad always run in fp32.
        sizes: Matrix sides (square products); ``None`` for the device's default
            sweep (:func:`default_sizes`).
        quick: A shorter budget per kernel, fewer sizes, and sizes whose one call
            would exceed :data:`QUICK_MAX_CALL_S` skipped.
        progress: Called as ``progress(done, total, label)`` before each kernel
            and with ``done == total`` at the end.
        command: What to record as the command that made the report; default, this
            call written out.

    Returns:
        The :class:`~mlatlas.labs.bench.report.BenchReport`.

    Raises:
        MlatlasError: An unknown or absent device, an unknown format, a size out
            of range. Nothing is measured in that case.
    """
    # Check everything before measuring anything.
    device_list = [resolve_device(d) for d in devices] if devices is not None else available_devices()
    if not device_list:
        raise MlatlasError("no devices given: name at least one, e.g. cpu")
    device_list = list(dict.fromkeys(device_list))
    dtype_list = list(dict.fromkeys(check_dtype(d) for d in dtypes)) if dtypes is not None else list(DEFAULT_DTYPES)
    if not dtype_list:
        raise MlatlasError("no dtypes given: name at least one, e.g. fp32")
    size_list = check_sizes(list(sizes)) if sizes is not None else None
    if command is None:
        arguments = f"devices={device_list!r}, dtypes={dtype_list!r}, sizes={size_list!r}, quick={quick}"
        command = f"mlatlas.labs.bench.run({arguments})"

    budget, max_call_s = (QUICK, QUICK_MAX_CALL_S) if quick else (FULL, MAX_CALL_S)
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    busy = cpu_busy_fraction()
    skipped: list[Skip] = []
    tasks: list[_Task] = []
    for device in device_list:
        tasks += [_Task(device, "copy", "fp32", 0), _Task(device, "triad", "fp32", 0)]
        for dtype in dtype_list:
            reason = unsupported_reason(device, dtype)
            if reason:
                skipped.append(Skip(device, "matmul", dtype, None, reason))
                continue
            tasks += [_Task(device, "matmul", dtype, s) for s in (size_list or default_sizes(device, quick))]

    infos: dict[str, DeviceInfo] = {}
    results: list[Result] = []
    last_time: dict[tuple[str, str], tuple[int, float]] = {}  # (device, dtype) -> (size, median s)
    flushes: dict[str, CacheFlush] = {}
    with torch.no_grad():
        for done, task in enumerate(tasks):
            if progress:
                progress(done, len(tasks), task.label)
            if task.device not in flushes:
                flushes[task.device] = CacheFlush(torch.device(task.device))
                infos[task.device] = _device_info(task.device, flushes[task.device].nbytes)
            previous = last_time.get((task.device, task.dtype)) if task.kernel == "matmul" else None
            if previous:
                expected = previous[1] * (task.size / previous[0]) ** 3
                if expected > max_call_s:
                    skipped.append(
                        Skip(
                            task.device,
                            task.kernel,
                            task.dtype,
                            task.size,
                            _too_slow(expected, previous[0], max_call_s, quick),
                        )
                    )
                    continue
            result = _measure(task, infos[task.device], flushes[task.device], budget)
            results.append(result)
            if task.kernel == "matmul":
                last_time[(task.device, task.dtype)] = (task.size, result.median_s)
    if progress:
        progress(len(tasks), len(tasks), "done")
    return BenchReport(
        created=created,
        command=command,
        mlatlas_version=__version__,
        torch_version=torch.__version__,
        threads=torch.get_num_threads(),
        quick=quick,
        cpu_busy_before=busy,
        devices=tuple(infos.values()),
        results=tuple(results),
        skipped=tuple(skipped),
    )


def _device_info(device: str, flush_bytes: int) -> DeviceInfo:
    """The device's name and its peaks from the probe."""
    p = peaks(device)
    return DeviceInfo(device, p.name or device_name(device), flush_bytes, dict(p.flops), p.bandwidth, p.source)


def _measure(task: _Task, info: DeviceInfo, flush: CacheFlush, budget: Budget) -> Result:
    """Build one kernel, time it, and compare it with its roof."""
    if task.kernel == "matmul":
        kernel = kernels.matmul(task.size, task.dtype, task.device)
        peak = info.peak_flops.get(task.dtype)
    else:
        build = kernels.copy if task.kernel == "copy" else kernels.triad
        kernel = build(kernels.stream_elements(task.device), task.device)
        peak = info.peak_bandwidth
    with kernels.matmul_precision(task.dtype):
        timing = measure(kernel.call, torch.device(task.device), flush=flush, budget=budget)
    return Result(
        task.device, kernel.name, kernel.dtype, kernel.size, kernel.shape, kernel.flop, kernel.bytes, timing, peak
    )


def _too_slow(expected: float, previous: int, limit: float, quick: bool) -> str:
    mode = "--quick " if quick else ""
    return (
        f"one call would take about {expected:.1f} s (extrapolated as size cubed from {previous}), "
        f"over the {mode}limit of {limit:g} s per call"
    )
