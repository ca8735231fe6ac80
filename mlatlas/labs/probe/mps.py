"""Apple's Metal Performance Shaders (MPS): the GPU of an Apple-silicon Mac.

PyTorch reaches it as device ``"mps"``. It shares the Mac's unified memory with the
CPU; ``torch.mps.recommended_max_memory()`` is how much of it Metal suggests one
process use.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class MpsReport:
    """Whether this torch can use an Apple GPU.

    Attributes:
        built: Whether this torch has the MPS backend compiled in.
        available: Whether it can use it now (needs Apple silicon and a recent macOS).
        macos: macOS version, or ``None`` off a Mac.
        recommended_max_memory_bytes: Metal's suggested working-set limit, or ``None``.
    """

    built: bool
    available: bool
    macos: str | None
    recommended_max_memory_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dictionary."""
        return asdict(self)


def collect_mps() -> MpsReport:
    """Ask torch about MPS. Never raises."""
    import torch

    built = _safe(torch.backends.mps.is_built, False)
    available = _safe(torch.backends.mps.is_available, False)
    memory = _safe(torch.mps.recommended_max_memory) if available else None
    return MpsReport(built, available, platform.mac_ver()[0] or None, memory)


def _safe(call: Any, default: Any = None) -> Any:
    try:
        return call()
    except Exception:
        return default
