"""NVML: what the NVIDIA driver itself says, through ``nvidia-ml-py``.

NVML is the library under ``nvidia-smi``; NVIDIA documents its API as stable
where ``nvidia-smi``'s text output is not. It answers without creating a CUDA
context, and it answers even when CUDA cannot start, which is how the probe tells
"no GPU" from "a GPU whose driver CUDA cannot use".

The Python binding is the optional ``nvidia-ml-py`` package (``pip install
'mlatlas[gpu]'``); it installs a module named ``pynvml``. (A different, unofficial
PyPI package is also called ``pynvml``; install ``nvidia-ml-py``.)

:func:`collect_nvml` returns a plain, JSON-ready dictionary. Every query is tried on
its own: a field the GPU does not support (NVML's ``NotSupported``, common for MIG
instances and GeForce cards) is ``None``, and the rest still come back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NVML_DEVICE_FIELDS = {
    "name": "product name",
    "uuid": "GPU UUID",
    "pci_bus_id": "PCI bus id (domain:bus:device.function)",
    "compute_capability": "CUDA compute capability, e.g. ``9.0``",
    "memory_total_bytes": "framebuffer memory",
    "memory_used_bytes": "memory in use now",
    "memory_free_bytes": "memory free now",
    "temperature_c": "GPU core temperature, degrees Celsius",
    "power_draw_w": "power draw now, watts",
    "power_limit_w": "enforced power limit, watts",
    "utilization_gpu_pct": "percent of the last sample period a kernel was running (not reported under MIG)",
    "utilization_memory_pct": "percent of that period device memory was read or written",
    "clock_sm_mhz": "SM clock now",
    "clock_mem_mhz": "memory clock now",
    "clock_sm_max_mhz": "maximum SM clock",
    "clock_mem_max_mhz": "maximum memory clock",
    "memory_bus_width_bits": "memory bus width",
    "ecc_enabled": "ECC mode now",
    "ecc_pending": "ECC mode after the next reset",
    "mig_enabled": "MIG mode now",
    "mig_pending": "MIG mode after the next reset",
    "pcie_generation": "PCIe link generation now",
    "pcie_width": "PCIe link width now",
    "nvlink_active_links": "NVLink links in the active state",
    "compute_mode": "0 default, 2 prohibited, 3 exclusive-process",
    "persistence_mode": "whether the driver stays loaded with no client",
}
"""Per-device fields of :func:`collect_nvml`, with their meaning (``None`` when unsupported)."""


def collect_nvml() -> dict[str, Any]:
    """Ask NVML for the driver and every GPU it sees.

    Returns:
        ``{"status": "ok", "driver_version", "cuda_driver_version", "devices": [...]}``
        with one dictionary of :data:`NVML_DEVICE_FIELDS` per GPU, or
        ``{"status": "not installed" | "error", "error": "...", "devices": []}``.
        Never raises.
    """
    try:
        import pynvml
    except ImportError:
        return {"status": "not installed", "error": "nvidia-ml-py is not installed", "devices": []}
    try:
        pynvml.nvmlInit()
    except Exception as error:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return {"status": "error", "error": f"NVML did not start: {error}", "devices": []}
    try:
        cuda = _try(pynvml.nvmlSystemGetCudaDriverVersion)
        return {
            "status": "ok",
            "error": None,
            "driver_version": _text(_try(pynvml.nvmlSystemGetDriverVersion)),
            "cuda_driver_version": f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else None,
            "devices": [_device(pynvml, i) for i in range(_try(pynvml.nvmlDeviceGetCount) or 0)],
        }
    finally:
        _try(pynvml.nvmlShutdown)


def _device(nv: Any, index: int) -> dict[str, Any]:
    """The fields of one GPU; each query on its own."""
    h = nv.nvmlDeviceGetHandleByIndex(index)
    memory = _try(lambda: nv.nvmlDeviceGetMemoryInfo(h))
    util = _try(lambda: nv.nvmlDeviceGetUtilizationRates(h))
    ecc = _try(lambda: nv.nvmlDeviceGetEccMode(h)) or (None, None)
    mig = _try(lambda: nv.nvmlDeviceGetMigMode(h)) or (None, None)
    capability = _try(lambda: nv.nvmlDeviceGetCudaComputeCapability(h))
    power_draw = _try(lambda: nv.nvmlDeviceGetPowerUsage(h))
    power_limit = _try(lambda: nv.nvmlDeviceGetEnforcedPowerLimit(h))
    links = [_try(lambda link=link: nv.nvmlDeviceGetNvLinkState(h, link)) for link in range(nv.NVML_NVLINK_MAX_LINKS)]
    return {
        "index": index,
        "name": _text(_try(lambda: nv.nvmlDeviceGetName(h))),
        "uuid": _text(_try(lambda: nv.nvmlDeviceGetUUID(h))),
        "pci_bus_id": _text(_try(lambda: nv.nvmlDeviceGetPciInfo(h).busId)),
        "compute_capability": f"{capability[0]}.{capability[1]}" if capability else None,
        "memory_total_bytes": memory.total if memory else None,
        "memory_used_bytes": memory.used if memory else None,
        "memory_free_bytes": memory.free if memory else None,
        "temperature_c": _try(lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU)),
        "power_draw_w": power_draw / 1000 if power_draw is not None else None,
        "power_limit_w": power_limit / 1000 if power_limit is not None else None,
        "utilization_gpu_pct": util.gpu if util else None,
        "utilization_memory_pct": util.memory if util else None,
        "clock_sm_mhz": _try(lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM)),
        "clock_mem_mhz": _try(lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_MEM)),
        "clock_sm_max_mhz": _try(lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_SM)),
        "clock_mem_max_mhz": _try(lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_MEM)),
        "memory_bus_width_bits": _try(lambda: nv.nvmlDeviceGetMemoryBusWidth(h)),
        "ecc_enabled": _flag(ecc[0]),
        "ecc_pending": _flag(ecc[1]),
        "mig_enabled": _flag(mig[0]),
        "mig_pending": _flag(mig[1]),
        "pcie_generation": _try(lambda: nv.nvmlDeviceGetCurrPcieLinkGeneration(h)),
        "pcie_width": _try(lambda: nv.nvmlDeviceGetCurrPcieLinkWidth(h)),
        "nvlink_active_links": sum(1 for state in links if state == nv.NVML_FEATURE_ENABLED),
        "compute_mode": _try(lambda: nv.nvmlDeviceGetComputeMode(h)),
        "persistence_mode": _flag(_try(lambda: nv.nvmlDeviceGetPersistenceMode(h))),
    }


def _try(call: Callable[[], Any]) -> Any:
    """``call()``, or ``None`` when NVML says the query is unsupported or fails."""
    try:
        return call()
    except Exception:
        return None


def _text(value: Any) -> str | None:
    """Old bindings return ``bytes``, new ones ``str``."""
    return value.decode() if isinstance(value, bytes) else value


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)
