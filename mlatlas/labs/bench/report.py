"""What a benchmark run found, and its JSON form ``mlatlas.bench/1``.

A :class:`BenchReport` holds one :class:`Result` per timed kernel, one :class:`Skip`
per kernel that was not run (with the reason), and one :class:`DeviceInfo` per
device with the peak figures the fractions are taken against. It only holds data;
:func:`mlatlas.labs.bench.run` makes one and :meth:`BenchReport.to_dict` turns it
into the documented JSON schema (see :data:`SCHEMA` and the page
``hardware/bench.md``). Keys are only ever added to this schema; a change to an
existing key gets a new schema name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlatlas.labs.bench.timing import Timing

SCHEMA = "mlatlas.bench/1"
"""Name and version of the JSON layout that :meth:`BenchReport.to_dict` returns."""

MATMUL = "matmul"
STREAM_KERNELS = ("copy", "triad")

FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "report": {
        "schema": ("string", f"always `{SCHEMA}`"),
        "created": ("string", "when the run started, ISO 8601, UTC"),
        "command": ("string", "the command line (or API call) that produced it"),
        "mlatlas": ("string", "mlatlas version"),
        "torch": ("string", "torch version, with its build suffix (`+cpu`, `+cu128`)"),
        "threads": ("integer", "`torch.get_num_threads()` during the run"),
        "quick": ("boolean", "whether `--quick` was given"),
        "cpu_busy_before": ("number or null", "share of the CPU other processes kept busy just before the run (Linux)"),
        "devices": ("array", "one object per device measured (below)"),
        "results": ("array", "one object per timed kernel (below)"),
        "skipped": ("array", "one object per kernel not run, with the reason (below)"),
    },
    "devices[]": {
        "device": ("string", "`cpu`, `cuda:N` or `mps`"),
        "name": ("string", "the hardware's name"),
        "flush_bytes": ("integer", "size of the buffer read and written between timed calls"),
        "peak_flops": ("object", "peak FLOP/s by format, from `mlatlas.labs.probe.peaks`; may be empty"),
        "peak_bandwidth": ("number or null", "datasheet memory bandwidth in bytes/s; null for a CPU"),
        "peak_source": ("string", "datasheet URL or how the peaks were computed"),
    },
    "results[]": {
        "device": ("string", "which device"),
        "kernel": ("string", "`matmul`, `copy` or `triad`"),
        "dtype": ("string", "`fp64`, `fp32`, `tf32`, `fp16` or `bf16` (copy and triad: `fp32`)"),
        "size": ("integer", "matrix side n, or elements per array"),
        "shape": ("array", "`[m, n, k]` for matmul, `[n]` otherwise"),
        "flop": ("integer", "operations per call: 2mnk for matmul, 2n for triad, 0 for copy"),
        "bytes": ("integer", "fewest bytes per call: inputs read once, output written once"),
        "intensity": ("number", "flop / bytes"),
        "reps": ("integer", "timed calls"),
        "median_s": ("number", "median seconds per call"),
        "q1_s": ("number", "first quartile, seconds"),
        "q3_s": ("number", "third quartile, seconds"),
        "iqr_s": ("number", "q3_s - q1_s"),
        "min_s": ("number", "fastest call, seconds"),
        "flop_per_s": ("number", "flop / median_s"),
        "bytes_per_s": ("number", "bytes / median_s"),
        "peak": ("number or null", "the roof compared with: FLOP/s for matmul, bytes/s for copy and triad"),
        "peak_unit": ("string", "`flop/s` or `bytes/s`"),
        "fraction_of_peak": ("number or null", "achieved / peak; null when the peak is unknown"),
        "samples_s": ("array", "every timed call, seconds, in order"),
    },
    "skipped[]": {
        "device": ("string", "which device"),
        "kernel": ("string", "`matmul`"),
        "dtype": ("string", "the format"),
        "size": ("integer or null", "the size skipped; null when the whole format was"),
        "reason": ("string", "why, in one sentence"),
    },
}
"""Every key of the JSON layout, with its type and meaning, by object; the page's
schema table is printed from this, and a test checks it against :meth:`BenchReport.to_dict`."""


@dataclass(frozen=True)
class DeviceInfo:
    """A device that was measured, and its peak figures where they are known."""

    device: str
    """PyTorch's name for it: ``cpu``, ``cuda:0``, ``mps``."""
    name: str
    """The hardware's name."""
    flush_bytes: int
    """Size of the buffer written between timed calls to evict the cache."""
    peak_flops: dict[str, float]
    """Peak FLOP/s by number format, from :func:`mlatlas.labs.probe.peaks`; empty
    where the probe knows none."""
    peak_bandwidth: float | None
    """Peak memory bandwidth in bytes/s from the datasheet; ``None`` where there is
    none (a CPU's depends on the memory fitted to the machine)."""
    peak_source: str
    """Where the peak figures come from, or why there are none."""

    def to_dict(self) -> dict[str, Any]:
        """This device as a JSON-ready mapping."""
        return {
            "device": self.device,
            "name": self.name,
            "flush_bytes": self.flush_bytes,
            "peak_flops": dict(self.peak_flops),
            "peak_bandwidth": self.peak_bandwidth,
            "peak_source": self.peak_source,
        }


@dataclass(frozen=True)
class Result:
    """One kernel at one size, timed.

    Example:
        >>> r = Result("cpu", "matmul", "fp32", 1024, (1024, 1024, 1024), 2 * 1024**3,
        ...            3 * 1024**2 * 4, Timing((0.01, 0.01, 0.01)), peak=1e12)
        >>> round(r.flop_per_s / 1e9, 1), round(r.fraction_of_peak, 3)
        (214.7, 0.215)
    """

    device: str
    kernel: str
    """``matmul``, ``copy`` or ``triad``."""
    dtype: str
    size: int
    """Matrix side for matmul, elements per array for copy and triad."""
    shape: tuple[int, ...]
    flop: int
    """Operations of one call."""
    bytes: int
    """Fewest bytes one call moves."""
    timing: Timing
    peak: float | None = None
    """The roof this kernel is compared with: FLOP/s of ``dtype`` for matmul,
    memory bandwidth in bytes/s for copy and triad; ``None`` if unknown."""

    @property
    def median_s(self) -> float:
        """Median seconds per call."""
        return self.timing.median

    @property
    def flop_per_s(self) -> float:
        """Achieved operations per second, at the median time."""
        return self.flop / self.timing.median

    @property
    def bytes_per_s(self) -> float:
        """Achieved bytes per second (the fewest bytes over the median time)."""
        return self.bytes / self.timing.median

    @property
    def intensity(self) -> float:
        """Operations per byte moved."""
        return self.flop / self.bytes

    @property
    def peak_unit(self) -> str:
        """``flop/s`` for matmul, ``bytes/s`` for copy and triad."""
        return "flop/s" if self.kernel == MATMUL else "bytes/s"

    @property
    def fraction_of_peak(self) -> float | None:
        """Achieved rate over :attr:`peak`, or ``None`` when there is no peak."""
        if not self.peak:
            return None
        achieved = self.flop_per_s if self.kernel == MATMUL else self.bytes_per_s
        return achieved / self.peak

    def to_dict(self) -> dict[str, Any]:
        """This result as a JSON-ready mapping (one element of ``results``)."""
        t = self.timing
        return {
            "device": self.device,
            "kernel": self.kernel,
            "dtype": self.dtype,
            "size": self.size,
            "shape": list(self.shape),
            "flop": self.flop,
            "bytes": self.bytes,
            "intensity": self.intensity,
            "reps": t.reps,
            "median_s": t.median,
            "q1_s": t.q1,
            "q3_s": t.q3,
            "iqr_s": t.iqr,
            "min_s": t.min,
            "flop_per_s": self.flop_per_s,
            "bytes_per_s": self.bytes_per_s,
            "peak": self.peak,
            "peak_unit": self.peak_unit,
            "fraction_of_peak": self.fraction_of_peak,
            "samples_s": list(t.samples),
        }


@dataclass(frozen=True)
class Skip:
    """A kernel that was not run, and why."""

    device: str
    kernel: str
    dtype: str
    size: int | None
    """``None`` when the whole format was skipped on this device."""
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """This skip as a JSON-ready mapping (one element of ``skipped``)."""
        return {
            "device": self.device,
            "kernel": self.kernel,
            "dtype": self.dtype,
            "size": self.size,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class BenchReport:
    """Everything one run measured, with the context needed to trust it."""

    created: str
    """When the run started, ISO 8601 in UTC."""
    command: str
    """The command line or API call that made it."""
    mlatlas_version: str
    torch_version: str
    threads: int
    """``torch.get_num_threads()`` during the run (CPU kernels use this many)."""
    quick: bool
    cpu_busy_before: float | None
    """Share of the CPU other processes kept busy just before the run (Linux;
    ``None`` elsewhere); above about 0.1, CPU figures are likely low."""
    devices: tuple[DeviceInfo, ...]
    results: tuple[Result, ...]
    skipped: tuple[Skip, ...]

    def device_info(self, device: str) -> DeviceInfo:
        """The :class:`DeviceInfo` of ``device``."""
        return next(d for d in self.devices if d.device == device)

    def results_for(self, device: str, kernel: str | None = None, dtype: str | None = None) -> list[Result]:
        """Results of one device, optionally of one kernel and format, in run order."""
        return [
            r
            for r in self.results
            if r.device == device and (kernel is None or r.kernel == kernel) and (dtype is None or r.dtype == dtype)
        ]

    def measured_bandwidth(self, device: str) -> float | None:
        """The triad's achieved bytes/s on ``device`` (STREAM's headline figure)."""
        triads = self.results_for(device, "triad")
        return max(r.bytes_per_s for r in triads) if triads else None

    def bandwidth_roof(self, device: str) -> tuple[float, str] | None:
        """The memory roof of ``device`` and where it comes from.

        Returns:
            ``(bytes/s, "datasheet")`` when the probe knows the peak bandwidth,
            else ``(bytes/s, "measured")`` from the triad, else ``None``.
        """
        info = self.device_info(device)
        if info.peak_bandwidth:
            return info.peak_bandwidth, "datasheet"
        measured = self.measured_bandwidth(device)
        return (measured, "measured") if measured else None

    def to_dict(self) -> dict[str, Any]:
        """The report in the ``mlatlas.bench/1`` layout (documented on the page)."""
        return {
            "schema": SCHEMA,
            "created": self.created,
            "command": self.command,
            "mlatlas": self.mlatlas_version,
            "torch": self.torch_version,
            "threads": self.threads,
            "quick": self.quick,
            "cpu_busy_before": self.cpu_busy_before,
            "devices": [d.to_dict() for d in self.devices],
            "results": [r.to_dict() for r in self.results],
            "skipped": [s.to_dict() for s in self.skipped],
        }
