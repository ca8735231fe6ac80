"""Accelerator datasheets: the sourced table of peak figures, and finding a device in it.

The figures live in ``mlatlas/data/accelerators.yaml``, one row per product, each
with the vendor document it was copied from. A row's fields:

| field | meaning |
|---|---|
| ``name`` | product as the vendor names it, e.g. ``NVIDIA H100 SXM5 80GB`` |
| ``vendor`` | ``NVIDIA``, ``AMD``... |
| ``architecture`` | ``Hopper``, ``CDNA 3``... |
| ``form_factor`` | ``SXM5``, ``PCIe``, ``OAM``, ``desktop card``... |
| ``match`` | substrings of the name the driver reports (``torch.cuda.get_device_name``) |
| ``exclude`` | optional substrings that veto a match (``H200 NVL`` is not ``H200`` SXM) |
| ``memory_gb`` | memory capacity in GB as the datasheet gives it |
| ``memory_type`` | ``HBM3``, ``GDDR6X``... |
| ``memory_bandwidth_gbps`` | peak memory bandwidth in GB/s (10^9 bytes per second) |
| ``tflops`` | **dense** peak TFLOP/s per type (``int8``: TOPS) on its fastest unit (tensor/matrix cores) |
| ``vector_tflops`` | optional: fp64 / fp32 on the non-matrix units where that rate differs |
| ``source`` | the vendor datasheet or whitepaper the figures are copied from |
| ``notes`` | optional: which table, clocks, what was derived (e.g. dense = sparse / 2) |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

DTYPES = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8")
"""Data types a row may give a peak for, widest first; ``int8`` counts integer ops."""


@dataclass(frozen=True)
class Accelerator:
    """One row of ``accelerators.yaml``; see the module docstring for the fields."""

    name: str
    vendor: str
    architecture: str
    form_factor: str
    match: tuple[str, ...]
    memory_gb: float
    memory_type: str
    memory_bandwidth_gbps: float
    tflops: MappingProxyType[str, float]
    source: str
    vector_tflops: MappingProxyType[str, float] = field(default_factory=lambda: MappingProxyType({}))
    exclude: tuple[str, ...] = ()
    notes: str = ""

    def matches(self, device_name: str) -> bool:
        """Whether the name a driver reports is this product.

        Example:
            >>> row = accelerator("NVIDIA H200 SXM 141GB")
            >>> row.matches("NVIDIA H200"), row.matches("NVIDIA H200 NVL")
            (True, False)
        """
        return any(m in device_name for m in self.match) and not any(x in device_name for x in self.exclude)

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dictionary."""
        return {
            "name": self.name,
            "vendor": self.vendor,
            "architecture": self.architecture,
            "form_factor": self.form_factor,
            "match": list(self.match),
            "exclude": list(self.exclude),
            "memory_gb": self.memory_gb,
            "memory_type": self.memory_type,
            "memory_bandwidth_gbps": self.memory_bandwidth_gbps,
            "tflops": dict(self.tflops),
            "vector_tflops": dict(self.vector_tflops),
            "source": self.source,
            "notes": self.notes,
        }


def accelerators() -> tuple[Accelerator, ...]:
    """Every row of ``mlatlas/data/accelerators.yaml``, in file order.

    Raises:
        MlatlasError: If a row lacks a field or names an unknown data type.
    """
    return tuple(_row(i, row) for i, row in enumerate(load_rows("accelerators")))


def accelerator(name: str) -> Accelerator:
    """The row whose ``name`` is exactly ``name``.

    Raises:
        MlatlasError: If there is no such row.
    """
    for row in accelerators():
        if row.name == name:
            return row
    known = ", ".join(row.name for row in accelerators())
    raise MlatlasError(f"no accelerator named {name!r} in accelerators.yaml (known: {known})")


def find_accelerator(device_name: str) -> Accelerator | None:
    """The row for the name a driver reports, or ``None`` if no row matches.

    When several rows match, the one with the longest matching substring wins
    (the most specific).

    Example:
        >>> find_accelerator("NVIDIA H100 80GB HBM3").name
        'NVIDIA H100 SXM5 80GB'
        >>> find_accelerator("NVIDIA GeForce GTX 1080") is None
        True
    """
    candidates = [row for row in accelerators() if row.matches(device_name)]
    if not candidates:
        return None
    return max(candidates, key=lambda row: max(len(m) for m in row.match if m in device_name))


_REQUIRED = ("name", "vendor", "architecture", "form_factor", "match", "memory_gb", "memory_type",
             "memory_bandwidth_gbps", "tflops", "source")  # fmt: skip


def _row(index: int, row: dict[str, Any]) -> Accelerator:
    missing = [key for key in _REQUIRED if key not in row]
    if missing:
        raise MlatlasError(f"mlatlas/data/accelerators.yaml row {index} lacks {', '.join(missing)}")
    for key in ("tflops", "vector_tflops"):
        unknown = set(row.get(key, {})) - set(DTYPES)
        if unknown:
            raise MlatlasError(f"mlatlas/data/accelerators.yaml row {index} has unknown {key} {sorted(unknown)}")
    return Accelerator(
        name=row["name"],
        vendor=row["vendor"],
        architecture=row["architecture"],
        form_factor=row["form_factor"],
        match=tuple(row["match"]),
        exclude=tuple(row.get("exclude", ())),
        memory_gb=float(row["memory_gb"]),
        memory_type=row["memory_type"],
        memory_bandwidth_gbps=float(row["memory_bandwidth_gbps"]),
        tflops=MappingProxyType({k: float(v) for k, v in row["tflops"].items()}),
        vector_tflops=MappingProxyType({k: float(v) for k, v in row.get("vector_tflops", {}).items()}),
        source=row["source"],
        notes=row.get("notes", ""),
    )
