"""CUDA and ROCm GPUs: collect what torch and the driver say, then interpret it.

The two halves are kept apart on purpose:

1. :func:`collect_cuda` queries the live machine (torch, NVML, ``/proc/driver/nvidia``)
   into a plain dictionary, the *record* (:data:`RECORD_KEYS`). It is the only code
   here that needs a GPU, and it never raises: an error becomes a string in the record.
2. :func:`interpret_cuda` turns a record into a :class:`CudaReport`: one
   :class:`GpuDevice` per GPU with its datasheet peaks, a ``status`` and plain
   sentences (``findings``) saying what was found and what is missing.

A record is JSON, so a record captured on a GPU machine (``mlatlas probe --json``
prints it under ``cuda.record``) can be interpreted, and tested, on a laptop.

``status`` is one of:

| status | meaning |
|---|---|
| ``ok`` | torch can use at least one GPU |
| ``no-cuda-build`` | this torch has neither CUDA nor ROCm compiled in (``torch.version.cuda is None``) |
| ``driver-problem`` | torch has CUDA/ROCm, NVML, ``/proc`` or ``/dev`` show a GPU or driver, torch cannot use it |
| ``no-gpu`` | torch has CUDA/ROCm but there is no GPU or driver |
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlatlas.labs.probe.nvml import collect_nvml
from mlatlas.labs.probe.peaks import Peaks, accelerator_peaks

RECORD_KEYS = (
    "torch_version", "built_with_cuda", "built_with_hip", "is_available", "init_error",
    "device_count", "devices", "peer_access", "driver_files", "nvml",
)  # fmt: skip
"""Top-level keys of a record from :func:`collect_cuda`."""

# ---------------------------------------------------------------------------
# 1. Collection: the live machine -> a plain record
# ---------------------------------------------------------------------------


def collect_cuda(nvml: bool = True, root: Path = Path("/")) -> dict[str, Any]:
    """Query torch and the driver into a JSON-ready record. Never raises.

    Args:
        nvml: Also ask NVML (skipped when ``False``, or reported ``not installed``
            when ``nvidia-ml-py`` is missing).
        root: Filesystem root for ``proc/driver/nvidia`` and ``dev`` (tests pass a
            folder of copies).

    Returns:
        A dictionary with the keys of :data:`RECORD_KEYS`. ``devices`` holds, per
        GPU, its ``index``, ``name``, the public fields of
        ``torch.cuda.get_device_properties`` under ``properties`` and, when NVML
        gave none, ``free_memory_bytes`` from ``torch.cuda.mem_get_info`` (which
        creates a CUDA context).
    """
    import torch

    nvml_record = collect_nvml() if nvml else {"status": "skipped", "error": None, "devices": []}
    record: dict[str, Any] = {
        "torch_version": torch.__version__,
        "built_with_cuda": torch.version.cuda,
        "built_with_hip": getattr(torch.version, "hip", None),
        "is_available": False,
        "init_error": None,
        "device_count": 0,
        "devices": [],
        "peer_access": None,
        "driver_files": _driver_files(root),
        "nvml": nvml_record,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            record["is_available"] = bool(torch.cuda.is_available())
            record["device_count"] = torch.cuda.device_count() if record["is_available"] else 0
        except Exception as error:  # a broken driver can raise from inside torch
            record["init_error"] = f"{type(error).__name__}: {error}"
    if record["init_error"] is None and not record["is_available"]:
        messages = [str(w.message) for w in caught if "CUDA" in str(w.message) or "HIP" in str(w.message)]
        record["init_error"] = messages[0] if messages else None
    for index in range(record["device_count"]):
        try:
            record["devices"].append(_torch_device(torch, index, need_free=nvml_record["status"] != "ok"))
        except Exception as error:  # e.g. a GPU that fell off the bus after CUDA started
            record["init_error"] = f"cuda:{index}: {type(error).__name__}: {error}"
    if record["device_count"] > 1:
        record["peer_access"] = [
            [None if i == j else _safe(lambda i=i, j=j: torch.cuda.can_device_access_peer(i, j))
             for j in range(record["device_count"])]
            for i in range(record["device_count"])
        ]  # fmt: skip
    return record


def _torch_device(torch: Any, index: int, need_free: bool) -> dict[str, Any]:
    props = torch.cuda.get_device_properties(index)
    properties = {}
    for name in dir(props):
        value = _safe(lambda name=name: getattr(props, name))
        if name.startswith("_") or callable(value):
            continue
        properties[name] = value if isinstance(value, (bool, int, float, str)) or value is None else str(value)
    device = {
        "index": index,
        "name": properties.get("name") or _safe(lambda: torch.cuda.get_device_name(index)),
        "properties": properties,
    }
    if need_free:
        free = _safe(lambda: torch.cuda.mem_get_info(index))
        device["free_memory_bytes"] = free[0] if free else None
    return device


def _driver_files(root: Path) -> dict[str, Any]:
    """What the kernel driver exposes, read without any library."""
    proc = root / "proc" / "driver" / "nvidia"
    gpus = []
    for info in sorted((proc / "gpus").glob("*/information")):
        model = re.search(r"^Model:\s*(.+)$", _read(info) or "", re.MULTILINE)
        gpus.append(model.group(1).strip() if model else info.parent.name)
    dev = root / "dev"
    nodes = sorted(p.name for p in dev.glob("nvidia[0-9]*")) + (["kfd"] if (dev / "kfd").exists() else [])
    return {"proc_version": _read(proc / "version"), "proc_gpus": gpus, "dev_nodes": nodes}


# ---------------------------------------------------------------------------
# 2. Interpretation: a record -> a report
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuDevice:
    """One GPU as torch sees it, joined with NVML's view of it.

    Attributes:
        device: The torch device string, ``"cuda:0"`` (also for ROCm).
        name: Name the driver reports, e.g. ``"NVIDIA H100 80GB HBM3"``.
        compute_capability: ``"9.0"`` for CUDA; ``None`` on ROCm.
        arch: ``"sm_90"`` for CUDA, the ``gcnArchName`` (``"gfx942"``) on ROCm.
        multiprocessors: Streaming multiprocessors (CUDA) or compute units (ROCm).
        total_memory_bytes: Memory torch can see on the device.
        free_memory_bytes: Free memory now (NVML, else ``torch.cuda.mem_get_info``).
        l2_cache_bytes: L2 cache size, if this torch reports it.
        uuid: Device UUID.
        pci_bus_id: PCI address from NVML.
        memory_bandwidth_from_clocks: Bytes/s computed from NVML's maximum memory
            clock x bus width x 2 (double data rate) / 8; ``None`` without NVML.
        nvml: NVML's fields for this GPU (see
            :data:`~mlatlas.labs.probe.nvml.NVML_DEVICE_FIELDS`), or ``None``.
        peaks: Datasheet peaks for this product (empty if no row matches).
    """

    device: str
    name: str
    compute_capability: str | None
    arch: str | None
    multiprocessors: int | None
    total_memory_bytes: int | None
    free_memory_bytes: int | None
    l2_cache_bytes: int | None
    uuid: str | None
    pci_bus_id: str | None
    memory_bandwidth_from_clocks: float | None
    nvml: dict[str, Any] | None
    peaks: Peaks

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dictionary."""
        return asdict(self)


@dataclass(frozen=True)
class CudaReport:
    """What the probe concludes about GPUs.

    Attributes:
        status: ``ok``, ``no-cuda-build``, ``driver-problem`` or ``no-gpu`` (see the
            module docstring).
        backend: ``"cuda"``, ``"rocm"`` or ``None`` (no GPU build of torch).
        built_with: CUDA or HIP version torch was compiled with.
        driver_version: Kernel driver version (NVML, else ``/proc/driver/nvidia/version``).
        cuda_driver_version: Newest CUDA version the driver supports (NVML).
        nvml: ``"ok"``, ``"not installed"``, ``"skipped"`` or NVML's error.
        devices: The GPUs torch can use.
        peer_access: ``peer_access[i][j]``: can ``cuda:i`` read ``cuda:j``'s memory
            directly (NVLink or PCIe P2P); ``None`` with fewer than two GPUs.
        gpu_evidence: Signs of a GPU outside torch (NVML, ``/proc``, ``/dev``).
        findings: Sentences for a person: what was found, what is missing, what to do.
        record: The raw record this was interpreted from.
    """

    status: str
    backend: str | None
    built_with: str | None
    driver_version: str | None
    cuda_driver_version: str | None
    nvml: str
    devices: tuple[GpuDevice, ...]
    peer_access: list[list[bool | None]] | None
    gpu_evidence: tuple[str, ...]
    findings: tuple[str, ...]
    record: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dictionary."""
        data = asdict(self)
        data["devices"] = [device.to_dict() for device in self.devices]
        data["gpu_evidence"], data["findings"] = list(self.gpu_evidence), list(self.findings)
        return data


def interpret_cuda(record: dict[str, Any]) -> CudaReport:
    """Explain a record from :func:`collect_cuda`.

    Args:
        record: A record, live or captured earlier (see :data:`RECORD_KEYS`).

    Returns:
        The report; ``findings`` always says something, also on a CPU-only machine.
    """
    nvml = record.get("nvml") or {"status": "skipped", "devices": []}
    files = record.get("driver_files") or {}
    cuda, hip = record.get("built_with_cuda"), record.get("built_with_hip")
    backend = "rocm" if hip else "cuda" if cuda else None
    driver = nvml.get("driver_version") or _proc_driver_version(files.get("proc_version"))
    evidence = tuple(_gpu_evidence(nvml, files))
    devices = tuple(_gpu_device(d, nvml, rocm=backend == "rocm") for d in record.get("devices", []))

    if backend is None:
        status = "no-cuda-build"
    elif not record.get("is_available") or not devices:
        status = "driver-problem" if evidence else "no-gpu"
    else:
        status = "ok"
    findings = _findings(status, record, devices, evidence, nvml, driver)
    return CudaReport(
        status=status,
        backend=backend,
        built_with=hip or cuda,
        driver_version=driver,
        cuda_driver_version=nvml.get("cuda_driver_version"),
        nvml="ok" if nvml.get("status") == "ok" else nvml.get("error") or nvml.get("status", "skipped"),
        devices=devices,
        peer_access=record.get("peer_access"),
        gpu_evidence=evidence,
        findings=tuple(findings),
        record=record,
    )


def _gpu_device(device: dict[str, Any], nvml: dict[str, Any], rocm: bool) -> GpuDevice:
    props = device.get("properties", {})
    name = device.get("name") or props.get("name") or "unknown GPU"
    major, minor = props.get("major"), props.get("minor")
    gcn = str(props.get("gcnArchName") or "").split(":")[0] or None  # "gfx942:sramecc+:xnack-"
    is_cuda = major is not None and not rocm
    info = _matching_nvml(props, nvml.get("devices", []))
    clock, width = (info or {}).get("clock_mem_max_mhz"), (info or {}).get("memory_bus_width_bits")
    index = device["index"]
    return GpuDevice(
        device=f"cuda:{index}",
        name=name,
        compute_capability=f"{major}.{minor}" if is_cuda else None,
        arch=f"sm_{major}{minor}" if is_cuda else gcn if rocm else None,
        multiprocessors=props.get("multi_processor_count"),
        total_memory_bytes=props.get("total_memory"),
        free_memory_bytes=(info or {}).get("memory_free_bytes", device.get("free_memory_bytes")),
        l2_cache_bytes=props.get("L2_cache_size"),
        uuid=props.get("uuid"),
        pci_bus_id=(info or {}).get("pci_bus_id"),
        memory_bandwidth_from_clocks=clock * 1e6 * width * 2 / 8 if clock and width else None,
        nvml=info,
        peaks=accelerator_peaks(f"cuda:{index}", name),
    )


def _matching_nvml(props: dict[str, Any], nvml_devices: list[dict[str, Any]]) -> dict[str, Any] | None:
    """NVML's entry for a torch device, by UUID, else by PCI address.

    CUDA numbers devices fastest first and NVML by PCI bus, so indexes may differ.
    """
    uuid = str(props.get("uuid") or "").removeprefix("GPU-")
    for info in nvml_devices:
        if uuid and str(info.get("uuid") or "").removeprefix("GPU-") == uuid:
            return info
    bus = props.get("pci_bus_id")
    for info in nvml_devices:
        parts = re.fullmatch(r"([0-9a-fA-F]+):([0-9a-fA-F]+):([0-9a-fA-F]+)\.\d", str(info.get("pci_bus_id") or ""))
        if (
            bus is not None
            and parts
            and int(parts.group(2), 16) == bus
            and int(parts.group(1), 16) == props.get("pci_domain_id", 0)
        ):
            return info
    return None


def _gpu_evidence(nvml: dict[str, Any], files: dict[str, Any]) -> list[str]:
    evidence = []
    if nvml.get("devices"):
        evidence.append("NVML lists " + ", ".join(d.get("name") or "a GPU" for d in nvml["devices"]))
    if files.get("proc_gpus"):
        evidence.append(f"/proc/driver/nvidia lists {', '.join(files['proc_gpus'])}")
    elif files.get("proc_version"):
        evidence.append("the NVIDIA kernel driver is loaded (/proc/driver/nvidia/version)")
    if files.get("dev_nodes"):
        evidence.append("device files " + ", ".join(f"/dev/{n}" for n in files["dev_nodes"]) + " exist")
    return evidence


def _findings(status, record, devices, evidence, nvml, driver) -> list[str]:
    torch_version = record.get("torch_version", "?")
    built = record.get("built_with_hip") or record.get("built_with_cuda")
    toolkit = "ROCm/HIP" if record.get("built_with_hip") else "CUDA"
    seen = "; ".join(evidence)
    checked = "checked torch, NVML, /proc/driver/nvidia and /dev"
    if status == "no-cuda-build":
        if evidence:
            return [
                f"torch {torch_version} is a CPU-only build (torch.version.cuda is None), so it cannot use the GPU "
                f"this machine has: {seen}.",
                "Install a CUDA build of torch (https://pytorch.org/get-started/locally/) to use it.",
            ]
        return [
            f"torch {torch_version} is a CPU-only build (torch.version.cuda is None), and no GPU or GPU driver "
            f"was found ({checked}): the CPU is the compute device."
        ]
    if status == "no-gpu":
        return [
            f"torch {torch_version} was built with {toolkit} {built}, but no GPU or GPU driver was found ({checked})."
        ]
    if status == "driver-problem":
        reason = record.get("init_error") or "torch.cuda.is_available() returned False"
        supported = nvml.get("cuda_driver_version")
        advice = (
            f"the driver supports CUDA up to {supported}, torch needs {built}"
            if supported
            else (
                f"check that `nvidia-smi` works and that driver {driver or '(version unknown)'} "
                f"supports {toolkit} {built}"
            )
        )
        return [
            f"A GPU is present ({seen}) but torch {torch_version} cannot use it: {reason}.",
            f"The driver is the likely cause: {advice}.",
        ]
    findings = [
        f"{len(devices)} GPU(s) usable by torch {torch_version} ({toolkit} {built}"
        + (f", driver {driver}" if driver else "")
        + ")."
    ]
    if nvml.get("status") == "not installed" and toolkit == "CUDA":
        findings.append(
            "Install nvidia-ml-py (pip install 'mlatlas[gpu]') for temperature, power, clocks, ECC and MIG."
        )
    for device in devices:
        if not device.peaks.flops:
            findings.append(
                f"{device.device}: no row of mlatlas/data/accelerators.yaml matches {device.name!r}, "
                "so no peak figures."
            )
        if device.nvml and device.nvml.get("mig_enabled"):
            findings.append(
                f"{device.device}: MIG is enabled; its peaks are the whole GPU's, a MIG instance gets a fraction."
            )
    return findings


def _proc_driver_version(text: str | None) -> str | None:
    match = re.search(r"Kernel Module.*?\s(\d+\.\d+(?:\.\d+)?)\s", text or "")
    return match.group(1) if match else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _safe(call: Any) -> Any:
    try:
        return call()
    except Exception:
        return None
