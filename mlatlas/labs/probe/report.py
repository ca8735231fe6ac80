"""The whole probe: every part in one report, and its JSON schema ``mlatlas.probe/1``.

:func:`probe` collects the CPU, the torch build, CUDA/ROCm GPUs and Apple MPS and
returns a :class:`ProbeReport`; :func:`build_report` does the same from parts
already collected (a captured CUDA record, for instance), so it runs anywhere.

``ProbeReport.to_dict()`` is what ``mlatlas probe --json`` prints. Its top-level
keys are :data:`TOP_LEVEL_KEYS`; a change that removes or renames a key, or changes
a field's meaning, gets a new ``schema`` (``mlatlas.probe/2``). Adding a key does not.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

import mlatlas
from mlatlas.labs.probe.cpu import CpuInfo, collect_cpu
from mlatlas.labs.probe.cuda import CudaReport, collect_cuda, interpret_cuda
from mlatlas.labs.probe.mps import MpsReport, collect_mps
from mlatlas.labs.probe.peaks import Peaks, cpu_peaks
from mlatlas.labs.probe.torch_build import TorchBuild, collect_torch_build

SCHEMA = "mlatlas.probe/1"
"""Name and version of the JSON layout, the first key of ``--json`` output."""

TOP_LEVEL_KEYS = ("schema", "mlatlas_version", "platform", "devices", "torch", "cpu", "cuda", "mps", "findings")
"""Keys of :meth:`ProbeReport.to_dict`, in order."""


@dataclass(frozen=True)
class ProbeReport:
    """Everything the probe found.

    Attributes:
        platform: ``system``, ``release``, ``machine`` (from :mod:`platform`).
        torch: How torch was built (:class:`~mlatlas.labs.probe.torch_build.TorchBuild`).
        cpu: The host CPU (:class:`~mlatlas.labs.probe.cpu.CpuInfo`).
        cpu_peaks: The CPU's computed peak FLOP/s.
        cuda: GPUs through CUDA or ROCm (:class:`~mlatlas.labs.probe.cuda.CudaReport`).
        mps: Apple's GPU (:class:`~mlatlas.labs.probe.mps.MpsReport`).
    """

    platform: dict[str, str]
    torch: TorchBuild
    cpu: CpuInfo
    cpu_peaks: Peaks
    cuda: CudaReport
    mps: MpsReport

    @property
    def devices(self) -> list[str]:
        """Torch device strings usable here, CPU first: ``["cpu", "cuda:0", "mps"]``."""
        return ["cpu", *(d.device for d in self.cuda.devices), *(["mps"] if self.mps.available else [])]

    @property
    def findings(self) -> list[str]:
        """Sentences for a person: the GPU verdict, MPS, and how the CPU peak was had."""
        findings = list(self.cuda.findings)
        if self.mps.available:
            findings.append(f"Apple MPS is available (macOS {self.mps.macos}): use device 'mps'.")
        elif self.mps.built and self.mps.macos:
            findings.append("This torch has MPS but cannot use it here: it needs Apple silicon and a recent macOS.")
        findings.append(f"CPU peak is {self.cpu_peaks.source}.")
        return findings

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, schema :data:`SCHEMA` (documented on the probe page)."""
        return {
            "schema": SCHEMA,
            "mlatlas_version": mlatlas.__version__,
            "platform": dict(self.platform),
            "devices": self.devices,
            "torch": self.torch.to_dict(),
            "cpu": {**self.cpu.to_dict(), "peaks": self.cpu_peaks.to_dict()},
            "cuda": self.cuda.to_dict(),
            "mps": self.mps.to_dict(),
            "findings": self.findings,
        }


def build_report(
    cpu: CpuInfo,
    torch_build: TorchBuild,
    cuda_record: dict[str, Any],
    mps: MpsReport,
    platform_info: dict[str, str] | None = None,
) -> ProbeReport:
    """Assemble a report from parts already collected; no hardware is touched.

    Args:
        cpu: From :func:`~mlatlas.labs.probe.cpu.collect_cpu`.
        torch_build: From :func:`~mlatlas.labs.probe.torch_build.collect_torch_build`.
        cuda_record: From :func:`~mlatlas.labs.probe.cuda.collect_cuda`, live or captured.
        mps: From :func:`~mlatlas.labs.probe.mps.collect_mps`.
        platform_info: ``system``, ``release``, ``machine``; this machine's by default.
    """
    info = platform_info or {"system": platform.system(), "release": platform.release(), "machine": platform.machine()}
    return ProbeReport(info, torch_build, cpu, cpu_peaks(cpu), interpret_cuda(cuda_record), mps)


def probe(nvml: bool = True) -> ProbeReport:
    """Probe this machine's compute devices.

    Args:
        nvml: Ask NVML (through ``nvidia-ml-py``, if installed) for driver-level fields.

    Returns:
        The report. It never prints, never exits, and does not raise on a machine
        without a GPU or with a broken driver: that is reported in ``findings``.

    Example:
        >>> report = probe()
        >>> report.devices[0], report.to_dict()["schema"]
        ('cpu', 'mlatlas.probe/1')
    """
    return build_report(collect_cpu(), collect_torch_build(), collect_cuda(nvml=nvml), collect_mps())
