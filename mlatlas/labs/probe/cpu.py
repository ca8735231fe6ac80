"""The CPU: model, cores, clock, SIMD extensions, memory and caches.

Read top to bottom:

1. :func:`parse_cpuinfo` turns the text of Linux's ``/proc/cpuinfo`` into counts
   and flags (a pure function, so it is tested on synthetic text);
2. :func:`parse_meminfo` does the same for ``/proc/meminfo``;
3. :func:`simd_extensions` picks the vector extensions that matter for peak
   FLOP/s out of the flag soup;
4. :func:`collect_cpu` reads the live machine into a :class:`CpuInfo`, with
   fallbacks (``os``, ``platform``, ``psutil`` if installed, ``sysctl`` on macOS)
   where a Linux file is missing. It never raises: what it cannot read is ``None``.

The peak FLOP/s computed from these figures lives in
:mod:`mlatlas.labs.probe.peaks`.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------------
# 1. /proc/cpuinfo
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuinfoFacts:
    """What ``/proc/cpuinfo`` says, before any fallback.

    Attributes:
        model: The ``model name`` line (x86) or ``None`` (many Arm kernels omit it).
        vendor: ``vendor_id`` (``GenuineIntel``, ``AuthenticAMD``) or ``None``.
        logical_cores: Number of ``processor`` entries.
        physical_cores: Distinct (``physical id``, ``core id``) pairs, or ``None``
            when the kernel does not give core ids (then the caller falls back).
        sockets: Distinct ``physical id`` values, or ``None``.
        mhz: The ``cpu MHz`` of the first processor: the *current* clock, not the
            maximum; ``None`` if absent.
        nominal_ghz: The clock written in the model name (``... @ 2.20GHz``), or ``None``.
        flags: The ``flags`` (x86) or ``Features`` (Arm) of the first processor.
    """

    model: str | None
    vendor: str | None
    logical_cores: int
    physical_cores: int | None
    sockets: int | None
    mhz: float | None
    nominal_ghz: float | None
    flags: frozenset[str]


def parse_cpuinfo(text: str) -> CpuinfoFacts:
    """Parse the text of ``/proc/cpuinfo``.

    Args:
        text: The file's contents: blocks of ``key : value`` lines, one block per
            logical processor, separated by blank lines.

    Returns:
        The facts the probe uses.

    Example:
        >>> block = "processor : {}\\nmodel name : X @ 3.00GHz\\nphysical id : 0\\ncore id : {}\\nflags : fma avx2\\n"
        >>> facts = parse_cpuinfo("\\n".join(block.format(i, i // 2) for i in range(4)))
        >>> facts.logical_cores, facts.physical_cores, facts.nominal_ghz, sorted(facts.flags)
        (4, 2, 3.0, ['avx2', 'fma'])
    """
    blocks = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        entry: dict[str, str] = {}
        for line in chunk.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                entry.setdefault(key.strip(), value.strip())
        if "processor" in entry:
            blocks.append(entry)
    first = blocks[0] if blocks else {}
    cores = {(b.get("physical id"), b["core id"]) for b in blocks if "core id" in b}
    sockets = {b["physical id"] for b in blocks if "physical id" in b}
    model = first.get("model name") or first.get("Model") or None
    nominal = re.search(r"@\s*([\d.]+)\s*GHz", model or "")
    mhz = first.get("cpu MHz")
    flags = first.get("flags", first.get("Features", ""))
    return CpuinfoFacts(
        model=model,
        vendor=first.get("vendor_id") or None,
        logical_cores=len(blocks),
        physical_cores=len(cores) if cores else None,
        sockets=len(sockets) if sockets else None,
        mhz=float(mhz) if mhz else None,
        nominal_ghz=float(nominal.group(1)) if nominal else None,
        flags=frozenset(flags.split()),
    )


# ---------------------------------------------------------------------------
# 2. /proc/meminfo
# ---------------------------------------------------------------------------


def parse_meminfo(text: str) -> tuple[int | None, int | None]:
    """Total and available memory in bytes from the text of ``/proc/meminfo``.

    Example:
        >>> parse_meminfo("MemTotal:       16 kB\\nMemAvailable:   8 kB\\n")
        (16384, 8192)
    """
    values = {}
    for line in text.splitlines():
        match = re.match(r"(\w+):\s+(\d+)\s*kB", line)
        if match:
            values[match.group(1)] = int(match.group(2)) * 1024
    return values.get("MemTotal"), values.get("MemAvailable")


# ---------------------------------------------------------------------------
# 3. SIMD extensions
# ---------------------------------------------------------------------------

SIMD_FLAGS = (
    # x86, oldest to newest
    "sse2", "sse4_2", "avx", "fma", "f16c", "avx2", "avx_vnni",
    "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
    "amx_tile", "amx_bf16", "amx_int8", "amx_fp16",
    # Arm
    "asimd", "asimdhp", "asimddp", "bf16", "i8mm", "sve", "sve2", "sme",
)  # fmt: skip
"""The flags, as Linux names them, that say which vector units a core has."""


def simd_extensions(flags: frozenset[str] | set[str]) -> tuple[str, ...]:
    """The SIMD extensions among ``flags``, in :data:`SIMD_FLAGS` order.

    Example:
        >>> simd_extensions({"fpu", "avx2", "fma", "sse2"})
        ('sse2', 'fma', 'avx2')
    """
    return tuple(flag for flag in SIMD_FLAGS if flag in flags)


# ---------------------------------------------------------------------------
# 4. The live machine
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuInfo:
    """The host CPU as the probe reports it. ``None`` means "could not read".

    Attributes:
        model: Marketing name, e.g. ``"AMD EPYC 9654 96-Core Processor"``.
        vendor: ``GenuineIntel``, ``AuthenticAMD``, ``Apple``... or ``None``.
        architecture: ``platform.machine()``, e.g. ``x86_64``, ``aarch64``, ``arm64``.
        physical_cores: Cores, not counting SMT siblings (all sockets).
        logical_cores: Hardware threads, ``os.cpu_count()``.
        usable_cores: Threads this process may run on (its CPU affinity).
        sockets: Physical packages, if known.
        max_clock_hz: The clock the peak is computed from, in Hz.
        clock_source: Where ``max_clock_hz`` came from: ``cpufreq cpuinfo_max_freq``,
            the model name's nominal clock, ``sysctl``, or ``cpu MHz`` (the
            current clock, a lower bound of the maximum).
        simd: Vector extensions present, see :data:`SIMD_FLAGS`.
        memory_bytes: Installed memory visible to the kernel.
        memory_available_bytes: Memory available to new processes now.
        caches: Cache level and type to size in bytes, as seen from CPU 0
            (``L1d`` and ``L2`` are per core, ``L3`` usually shared), e.g.
            ``{"L1d": 49152, "L2": 1048576, "L3": 33554432}``.
    """

    model: str | None
    vendor: str | None
    architecture: str
    physical_cores: int | None
    logical_cores: int | None
    usable_cores: int | None
    sockets: int | None
    max_clock_hz: float | None
    clock_source: str | None
    simd: tuple[str, ...]
    memory_bytes: int | None
    memory_available_bytes: int | None
    caches: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dictionary."""
        return {**asdict(self), "simd": list(self.simd)}


def collect_cpu(proc: Path = Path("/proc"), sys_cpu: Path = Path("/sys/devices/system/cpu")) -> CpuInfo:
    """Read the CPU of this machine.

    Args:
        proc: Where ``cpuinfo`` and ``meminfo`` are (a folder of copies in tests).
        sys_cpu: Linux's CPU folder in sysfs, for the maximum clock and caches.

    Returns:
        What could be read; nothing here raises.
    """
    facts = parse_cpuinfo(_read(proc / "cpuinfo") or "")
    memory, available = parse_meminfo(_read(proc / "meminfo") or "")
    mac = _sysctl_facts() if platform.system() == "Darwin" else {}
    clock_hz, clock_source = _max_clock(facts, sys_cpu, mac)
    return CpuInfo(
        model=facts.model or mac.get("machdep.cpu.brand_string") or platform.processor() or None,
        vendor=facts.vendor or ("Apple" if mac.get("machdep.cpu.brand_string", "").startswith("Apple") else None),
        architecture=platform.machine(),
        physical_cores=facts.physical_cores or _int(mac.get("hw.physicalcpu")) or _psutil_physical_cores(),
        logical_cores=os.cpu_count(),
        usable_cores=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        sockets=facts.sockets or _int(mac.get("hw.packages")),
        max_clock_hz=clock_hz,
        clock_source=clock_source,
        simd=simd_extensions(facts.flags or _mac_flags(mac)),
        memory_bytes=memory or _int(mac.get("hw.memsize")),
        memory_available_bytes=available,
        caches=_caches(sys_cpu / "cpu0" / "cache") or _mac_caches(mac),
    )


def _max_clock(facts: CpuinfoFacts, sys_cpu: Path, mac: dict[str, str]) -> tuple[float | None, str | None]:
    """The best available maximum clock: cpufreq, then the model name, then current MHz."""
    khz = _int(_read(sys_cpu / "cpu0" / "cpufreq" / "cpuinfo_max_freq"))
    if khz:
        return khz * 1e3, "cpufreq cpuinfo_max_freq"
    if facts.nominal_ghz:
        return facts.nominal_ghz * 1e9, "model name (nominal clock)"
    if _int(mac.get("hw.cpufrequency_max")):
        return float(mac["hw.cpufrequency_max"]), "sysctl hw.cpufrequency_max"
    if facts.mhz:
        return facts.mhz * 1e6, "cpu MHz, the current clock: a lower bound"
    return None, None


def _caches(folder: Path) -> dict[str, int]:
    """Cache sizes from sysfs ``index*/{level,type,size}`` (``size`` like ``48K``)."""
    caches = {}
    for index in sorted(folder.glob("index*")):
        level, kind, size = (_read(index / name) for name in ("level", "type", "size"))
        match = re.fullmatch(r"(\d+)([KMG]?)", (size or "").strip())
        if not (level and kind and match):
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind.strip(), "")
        scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[match.group(2)]
        caches[f"L{level.strip()}{suffix}"] = int(match.group(1)) * scale
    return caches


def _sysctl_facts() -> dict[str, str]:
    """A few ``sysctl`` values on macOS (brand, cores, memory, caches, features)."""
    names = [
        "machdep.cpu.brand_string", "hw.physicalcpu", "hw.packages", "hw.memsize", "hw.cpufrequency_max",
        "hw.l1dcachesize", "hw.l2cachesize", "hw.l3cachesize",
        "hw.optional.neon", "hw.optional.arm.FEAT_BF16", "hw.optional.arm.FEAT_I8MM", "hw.optional.arm.FEAT_SME",
        "hw.optional.avx2_0", "hw.optional.avx512f", "hw.optional.fma",
    ]  # fmt: skip
    values = {}
    for name in names:
        try:
            out = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            return values
        if out.returncode == 0 and out.stdout.strip():
            values[name] = out.stdout.strip()
    return values


def _mac_flags(mac: dict[str, str]) -> frozenset[str]:
    """``sysctl hw.optional.*`` features under Linux's flag names."""
    linux_name = {
        "hw.optional.neon": "asimd", "hw.optional.arm.FEAT_BF16": "bf16", "hw.optional.arm.FEAT_I8MM": "i8mm",
        "hw.optional.arm.FEAT_SME": "sme", "hw.optional.avx2_0": "avx2", "hw.optional.avx512f": "avx512f",
        "hw.optional.fma": "fma",
    }  # fmt: skip
    return frozenset(flag for key, flag in linux_name.items() if mac.get(key) == "1")


def _mac_caches(mac: dict[str, str]) -> dict[str, int]:
    names = {"L1d": "hw.l1dcachesize", "L2": "hw.l2cachesize", "L3": "hw.l3cachesize"}
    return {level: int(mac[key]) for level, key in names.items() if _int(mac.get(key))}


def _psutil_physical_cores() -> int | None:
    try:
        import psutil  # optional: used only when the kernel gives no core ids
    except ImportError:
        return None
    return psutil.cpu_count(logical=False)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None
