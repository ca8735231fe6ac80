"""Which devices and number formats a benchmark can run here.

A device is named the way PyTorch names it: ``cpu``, ``cuda:0`` (``cuda`` means
``cuda:0``), ``mps``. A number format is one of :data:`DTYPES`. Whether a format's
matrix product exists on a device is asked of PyTorch itself, with a tiny product,
rather than assumed; :func:`unsupported_reason` says why not when it does not.
"""

from __future__ import annotations

import platform
import re
from functools import cache

import torch

from mlatlas.errors import MlatlasError
from mlatlas.labs.probe.cpu import collect_cpu

DTYPES: dict[str, torch.dtype] = {
    "fp64": torch.float64,
    "fp32": torch.float32,
    "tf32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}
"""Number formats by name. ``tf32`` stores float32 tensors and multiplies them on
NVIDIA tensor cores with a 10-bit mantissa; ``fp32`` is computed in full float32."""

DEFAULT_DTYPES = ("fp32", "tf32", "fp16", "bf16")
"""The formats a run measures unless told otherwise."""


def available_devices() -> list[str]:
    """Every device PyTorch can use here: the CPU, each CUDA GPU, and MPS.

    Example:
        >>> available_devices()[0]
        'cpu'
    """
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(name: str) -> str:
    """The canonical name of a device that exists here (``cuda`` becomes ``cuda:0``).

    Raises:
        MlatlasError: The name is not a device, or no such device is present.

    Example:
        >>> resolve_device("CPU")
        'cpu'
    """
    text = name.strip().lower()
    if text == "cuda":
        text = "cuda:0"
    if not re.fullmatch(r"cpu|mps|cuda:\d+", text):
        raise MlatlasError(f"unknown device {name!r}: use cpu, cuda, cuda:N or mps")
    found = available_devices()
    if text not in found:
        raise MlatlasError(f"device {name!r} is not available here (found: {', '.join(found)})")
    return text


def check_dtype(name: str) -> str:
    """``name`` if it is one of :data:`DTYPES`.

    Raises:
        MlatlasError: It is not.
    """
    if name not in DTYPES:
        raise MlatlasError(f"unknown dtype {name!r}: use one of {', '.join(DTYPES)}")
    return name


def device_name(device: str) -> str:
    """A human-readable name for the hardware behind ``device``.

    Example:
        >>> isinstance(device_name("cpu"), str)
        True
    """
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    if dev.type == "mps":
        return f"Apple GPU (MPS, {platform.machine()})"
    return _cpu_model()


@cache
def _cpu_model() -> str:
    return collect_cpu().model or platform.machine() or "CPU"


@cache
def unsupported_reason(device: str, dtype: str) -> str | None:
    """Why a ``dtype`` matrix product cannot be measured on ``device``, or ``None``.

    TF32 is a mode of NVIDIA tensor cores from compute capability 8.0 (Ampere) on;
    bf16 needs the same. For everything else a 4 x 4 product is attempted, and
    PyTorch's refusal, if any, is the reason.

    Example:
        >>> unsupported_reason("cpu", "tf32")
        'TF32 is a mode of NVIDIA tensor cores (compute capability 8.0 and later); a CPU has no TF32 matrix product'
        >>> unsupported_reason("cpu", "fp32") is None
        True
    """
    dev = torch.device(device)
    if dtype == "tf32":
        if dev.type != "cuda":
            kind = "a CPU" if dev.type == "cpu" else "MPS"
            return (
                "TF32 is a mode of NVIDIA tensor cores (compute capability 8.0 and later); "
                f"{kind} has no TF32 matrix product"
            )
        major, minor = torch.cuda.get_device_capability(dev)
        if major < 8:
            return f"TF32 needs compute capability 8.0 or later; this GPU is {major}.{minor}"
        return None
    if dtype == "bf16" and dev.type == "cuda":
        major, minor = torch.cuda.get_device_capability(dev)
        if major < 8:
            return f"bf16 tensor cores need compute capability 8.0 or later; this GPU is {major}.{minor}"
    try:
        a = torch.ones(4, 4, dtype=DTYPES[dtype], device=dev)
        out = torch.empty(4, 4, dtype=DTYPES[dtype], device=dev)
        torch.matmul(a, a, out=out)
    except (RuntimeError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"torch {torch.__version__} has no {dtype} matrix product on {dev.type}: {first_line}"
    return None
