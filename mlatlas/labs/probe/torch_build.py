"""The PyTorch build: which version, which GPU toolkit it was compiled for, which math libraries.

Half of "why is my GPU not used" is a torch wheel built without CUDA, so the probe
reports the build next to the hardware. Most fields come from ``torch.version``,
``torch.backends`` and ``torch.get_num_threads()``; the BLAS and library versions
come from the build summary ``torch.__config__.show()``, parsed by
:func:`parse_build_config`.
"""

from __future__ import annotations

import platform
import re
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TorchBuild:
    """How this PyTorch was built and is configured.

    Attributes:
        version: ``torch.__version__``, e.g. ``"2.13.0+cpu"``.
        git_version: The commit it was built from.
        cuda: CUDA version it was built with (``torch.version.cuda``); ``None`` for
            a CPU-only or ROCm build.
        hip: HIP (ROCm) version it was built with, or ``None``.
        cudnn: cuDNN version as an integer (``91002`` is 9.10.2), or ``None``.
        nccl: NCCL version as ``"2.27.5"``, or ``None``.
        cuda_arch_list: GPU architectures compiled in, e.g. ``["sm_80", "sm_90"]``.
        mps_built: Whether the build has Apple's Metal (MPS) backend.
        blas: ``BLAS_INFO`` of the build (``mkl``, ``open``, ``accelerate``...).
        lapack: ``LAPACK_INFO`` of the build.
        mkl: Whether Intel MKL is usable (``torch.backends.mkl.is_available()``).
        mkl_version: MKL version from the build summary, or ``None``.
        onednn: Whether oneDNN (MKL-DNN) is usable.
        onednn_version: oneDNN version from the build summary, or ``None``.
        openmp: Whether OpenMP is usable.
        cpu_capability: SIMD level the CPU kernels dispatch to (``AVX512``, ``AVX2``,
            ``DEFAULT``...), ``torch.backends.cpu.get_cpu_capability()``.
        num_threads: Intra-op threads, ``torch.get_num_threads()``.
        num_interop_threads: Inter-op threads, ``torch.get_num_interop_threads()``.
        python: Python version running torch.
    """

    version: str
    git_version: str | None
    cuda: str | None
    hip: str | None
    cudnn: int | None
    nccl: str | None
    cuda_arch_list: list[str] = field(default_factory=list)
    mps_built: bool = False
    blas: str | None = None
    lapack: str | None = None
    mkl: bool = False
    mkl_version: str | None = None
    onednn: bool = False
    onednn_version: str | None = None
    openmp: bool = False
    cpu_capability: str | None = None
    num_threads: int = 1
    num_interop_threads: int = 1
    python: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dictionary."""
        return asdict(self)


def parse_build_config(text: str) -> dict[str, str | None]:
    """Pick BLAS, LAPACK and library versions out of ``torch.__config__.show()``.

    Example:
        >>> show = "  - Intel(R) MKL-DNN v3.5.3 (Git Hash x)\\n  - Build settings: BLAS_INFO=mkl, LAPACK_INFO=mkl, "
        >>> parse_build_config(show)
        {'blas': 'mkl', 'lapack': 'mkl', 'mkl_version': None, 'onednn_version': '3.5.3'}
    """

    def find(pattern: str) -> str | None:
        match = re.search(pattern, text)
        return match.group(1) if match else None

    return {
        "blas": find(r"BLAS_INFO=([^,\s]+)"),
        "lapack": find(r"LAPACK_INFO=([^,\s]+)"),
        "mkl_version": find(r"Math Kernel Library Version ([\w.]+)"),
        "onednn_version": find(r"(?:MKL-DNN|oneDNN) v([\d.]+)"),
    }


def collect_torch_build() -> TorchBuild:
    """Read the build of the imported ``torch``. Never raises."""
    import torch

    config = parse_build_config(_safe(lambda: torch.__config__.show(), ""))
    return TorchBuild(
        version=torch.__version__,
        git_version=getattr(torch.version, "git_version", None),
        cuda=torch.version.cuda,
        hip=getattr(torch.version, "hip", None),
        cudnn=_safe(lambda: torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None),
        nccl=_safe(_nccl_version),
        cuda_arch_list=_safe(torch.cuda.get_arch_list, []),
        mps_built=_safe(torch.backends.mps.is_built, False),
        blas=config["blas"],
        lapack=config["lapack"],
        mkl=_safe(torch.backends.mkl.is_available, False),
        mkl_version=config["mkl_version"],
        onednn=_safe(torch.backends.mkldnn.is_available, False),
        onednn_version=config["onednn_version"],
        openmp=_safe(torch.backends.openmp.is_available, False),
        cpu_capability=_safe(torch.backends.cpu.get_cpu_capability),
        num_threads=torch.get_num_threads(),
        num_interop_threads=torch.get_num_interop_threads(),
        python=platform.python_version(),
    )


def _nccl_version() -> str | None:
    import torch

    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        return None
    version = torch.cuda.nccl.version()
    return ".".join(map(str, version)) if isinstance(version, tuple) else str(version)


def _safe(call: Any, default: Any = None) -> Any:
    """``call()``, or ``default`` if it raises (a half-installed GPU stack raises odd things)."""
    try:
        return call()
    except Exception:
        return default
