"""Theoretical peaks: the FLOP/s and bytes/s a device cannot exceed.

A benchmark's "% of peak" divides a measurement by these figures, so they must be
the right ones:

- for a GPU they are the vendor's datasheet figures for the exact product
  (:mod:`mlatlas.labs.probe.accelerators`), **dense**: NVIDIA's datasheets print
  the 2:4-sparsity figure, twice the dense one, next to an asterisk, and quoting
  it halves every utilisation computed from it;
- for a CPU they are computed, as physical cores x clock x FLOPs per cycle per
  core for the widest vector unit the flags announce, assuming two FMA units per
  core (:func:`cpu_flops_per_cycle`). A CPU's memory bandwidth depends on the
  memory channels populated, which software cannot read reliably, so it is
  ``None``.

:func:`peaks` is the entry point: ``peaks("cuda:0")``, ``peaks("cpu")``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from mlatlas.errors import MlatlasError
from mlatlas.labs.probe.accelerators import Accelerator, find_accelerator
from mlatlas.labs.probe.cpu import CpuInfo, collect_cpu

PEAK_DTYPES = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8")
"""The keys :attr:`Peaks.flops` may have (floating point only; no int8)."""

FMA_UNITS = 2
"""Vector FMA units per core assumed for CPU peaks.

True of most server and desktop cores of the last decade; some parts have one, which
halves the peak (the report states the assumption)."""


@dataclass(frozen=True)
class Peaks:
    """Theoretical peak rates of one device.

    Attributes:
        device: The device as asked for, normalised: ``"cpu"``, ``"cuda:0"``, ``"mps"``.
        name: What the device calls itself (``"NVIDIA H100 80GB HBM3"``, the CPU model).
        flops: Dense peak FLOP/s per data type, keys among :data:`PEAK_DTYPES`;
            empty when nothing is known for this device.
        bandwidth: Peak memory bandwidth in bytes/s, or ``None`` when unknown
            (always for a CPU).
        source: The datasheet URL the figures come from, or how they were computed.
    """

    device: str
    name: str
    flops: dict[str, float] = field(default_factory=dict)
    bandwidth: float | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dictionary."""
        return asdict(self)


# ---------------------------------------------------------------------------
# 1. A GPU: the datasheet row
# ---------------------------------------------------------------------------


def accelerator_peaks(device: str, device_name: str, row: Accelerator | None = None) -> Peaks:
    """Peaks of a GPU from its datasheet row.

    Args:
        device: The device string to put in the result, e.g. ``"cuda:0"``.
        device_name: The name the driver reports, looked up in the table.
        row: The row to use instead of looking ``device_name`` up.

    Returns:
        The row's figures in FLOP/s and bytes/s; empty ``flops`` and ``None``
        bandwidth with a ``source`` saying so when no row matches.

    Example:
        >>> p = accelerator_peaks("cuda:0", "NVIDIA H100 80GB HBM3")
        >>> p.flops["bf16"] / 1e12, p.bandwidth / 1e12
        (989.5, 3.35)
    """
    row = row or find_accelerator(device_name)
    if row is None:
        return Peaks(device, device_name, {}, None, f"no row of mlatlas/data/accelerators.yaml matches {device_name!r}")
    flops = {dtype: float(round(row.tflops[dtype] * 1e12)) for dtype in PEAK_DTYPES if dtype in row.tflops}
    return Peaks(device, device_name, flops, float(round(row.memory_bandwidth_gbps * 1e9)), row.source)


# ---------------------------------------------------------------------------
# 2. A CPU: cores x clock x FLOPs per cycle
# ---------------------------------------------------------------------------


def cpu_flops_per_cycle(simd: tuple[str, ...] | set[str] | frozenset[str]) -> tuple[int, str]:
    """fp32 FLOPs one core can do per cycle, from its SIMD extensions.

    ``FMA_UNITS`` vector units, each doing one operation on every lane per cycle;
    a fused multiply-add counts as two FLOPs. fp64 has half the lanes.

    | widest unit | lanes (fp32) | FLOPs per lane | FLOP/cycle/core |
    |---|---|---|---|
    | AVX-512 (with FMA) | 16 | 2 | 2 x 16 x 2 = 64 |
    | AVX2 + FMA | 8 | 2 | 32 |
    | AVX without FMA (one add and one multiply port) | 8 | 1 | 16 |
    | Arm NEON (ASIMD, 128-bit FMA) | 4 | 2 | 16 |
    | SSE2 (add and multiply ports) | 4 | 1 | 8 |

    Args:
        simd: Linux flag names (``avx512f``, ``avx2``, ``fma``, ``asimd``...).

    Returns:
        The fp32 FLOPs per cycle per core and a sentence stating the assumption.

    Example:
        >>> cpu_flops_per_cycle({"avx2", "fma"})
        (32, 'AVX2 + FMA: 2 FMA units (assumed) x 8 fp32 lanes x 2 FLOPs (FMA)')
    """
    units = FMA_UNITS
    if "avx512f" in simd:
        name, lanes, per_lane = "AVX-512", 16, 2
    elif "avx2" in simd and "fma" in simd:
        name, lanes, per_lane = "AVX2 + FMA", 8, 2
    elif "avx" in simd or "avx2" in simd:
        name, lanes, per_lane = "AVX (no FMA)", 8, 1
    elif "asimd" in simd:
        name, lanes, per_lane = "NEON (ASIMD)", 4, 2
    elif "sse2" in simd:
        name, lanes, per_lane = "SSE2", 4, 1
    else:
        name, lanes, per_lane, units = "scalar (no SIMD flags found)", 1, 1, 1
    unit_words = f"{units} FMA units (assumed)" if per_lane == 2 else f"{units} vector ports (assumed)"
    operation = "2 FLOPs (FMA)" if per_lane == 2 else "1 FLOP"
    return units * lanes * per_lane, f"{name}: {unit_words} x {lanes} fp32 lanes x {operation}"


def cpu_peaks(cpu: CpuInfo) -> Peaks:
    """Peak fp32 and fp64 FLOP/s of a CPU: physical cores x clock x FLOPs/cycle.

    bf16/fp16/AMX rates are not computed: they depend on the exact microarchitecture
    (the flags are reported by the probe so a reader can look them up).

    Args:
        cpu: The CPU as collected by :func:`~mlatlas.labs.probe.cpu.collect_cpu`.

    Returns:
        Empty ``flops`` when the core count or clock is unknown; ``bandwidth``
        is always ``None``.

    Example:
        >>> from dataclasses import replace
        >>> cpu = replace(collect_cpu(), physical_cores=8, max_clock_hz=3.0e9, simd=("avx2", "fma"))
        >>> cpu_peaks(cpu).flops
        {'fp64': 384000000000.0, 'fp32': 768000000000.0}
    """
    per_cycle, assumption = cpu_flops_per_cycle(cpu.simd)
    name = cpu.model or "CPU"
    if not cpu.physical_cores or not cpu.max_clock_hz:
        return Peaks("cpu", name, {}, None, "unknown: the core count or clock could not be read")
    fp32 = cpu.physical_cores * cpu.max_clock_hz * per_cycle
    source = (
        f"computed: {cpu.physical_cores} physical cores x {cpu.max_clock_hz / 1e9:.2f} GHz "
        f"({cpu.clock_source}) x {per_cycle} fp32 FLOP/cycle ({assumption}); fp64 is half; "
        "memory bandwidth is not knowable from software"
    )
    return Peaks("cpu", name, {"fp64": fp32 / 2, "fp32": fp32}, None, source)


# ---------------------------------------------------------------------------
# 3. peaks(device)
# ---------------------------------------------------------------------------


def parse_device(device: str) -> tuple[str, int | None]:
    """Split ``"cuda:1"`` into ``("cuda", 1)``; ``"cpu"`` and ``"mps"`` have no index.

    Raises:
        MlatlasError: If ``device`` is not ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.

    Example:
        >>> parse_device("cuda:1"), parse_device("cpu")
        (('cuda', 1), ('cpu', None))
    """
    match = re.fullmatch(r"(cpu|mps|cuda)(?::(\d+))?", device.strip())
    if not match or (match.group(1) != "cuda" and match.group(2)):
        raise MlatlasError(f"unknown device {device!r}: expected cpu, cuda, cuda:N or mps")
    return match.group(1), int(match.group(2)) if match.group(2) is not None else None


def peaks(device: str = "cpu") -> Peaks:
    """Theoretical peak FLOP/s and memory bandwidth of a device on this machine.

    Args:
        device: ``"cpu"``, ``"cuda"`` (the current CUDA device), ``"cuda:N"`` or
            ``"mps"``. ROCm GPUs are ``cuda`` devices in PyTorch.

    Returns:
        The device's :class:`Peaks`. A GPU that is present but has no row in
        ``accelerators.yaml`` gets empty ``flops`` and ``bandwidth=None``, with
        ``source`` saying so.

    Raises:
        MlatlasError: If the device string is unknown or the device is absent.

    Example:
        >>> peaks("cpu").device
        'cpu'
    """
    kind, index = parse_device(device)
    if kind == "cpu":
        return cpu_peaks(collect_cpu())
    import torch

    if kind == "mps":
        if not torch.backends.mps.is_available():
            raise MlatlasError(
                "device 'mps' is not available: this is not an Apple-silicon Mac with an MPS build of torch"
            )
        return Peaks(
            "mps", "Apple MPS", {}, None, "no datasheet figures for Apple GPUs in mlatlas/data/accelerators.yaml"
        )
    try:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken driver raises from inside torch; the probe explains it
        count = 0
    if count == 0:
        raise MlatlasError(
            f"device {device!r} is not available: torch sees no CUDA device (run `mlatlas probe` to see why)"
        )
    index = torch.cuda.current_device() if index is None else index
    if index >= count:
        raise MlatlasError(
            f"device {device!r} is not available: torch sees {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
        )
    return accelerator_peaks(f"cuda:{index}", torch.cuda.get_device_name(index))
