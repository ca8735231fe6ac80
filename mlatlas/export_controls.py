"""US export controls on AI chips: total processing performance, density, and the rules.

An explainer, not legal advice. The US Bureau of Industry and Security (BIS) controls
advanced computing chips under ECCN 3A090 of the Export Administration Regulations.
The rules and their thresholds are in ``mlatlas/data/export_rules.yaml`` (each with its
Federal Register citation); the chip figures are the datasheet rows of
``mlatlas/data/accelerators.yaml``.

**Total processing performance.** The October 2023 rule (88 FR 73458) defines it as
"2 x 'MacTOPS' x 'bit length of the operation', aggregated over all processing units on
the integrated circuit", where MacTOPS is the peak rate of multiply-accumulates
(``D = A x B + C``) in tera-operations per second. Datasheets count a multiply-accumulate
as two operations, so a dense TFLOPS (or TOPS) figure is already ``2 x MacTOPS`` and

    TPP = dense TFLOPS x bit length.

The rule's own worked example agrees: the 4800 threshold "can be met with 600 tera
integer operations (or 2 x 300 MacTOPS) at 8 bits or 300 tera FLOPS (or 2 x 150
MacTOPS) at 16 bits". Sparse figures do not count. The 2022 rule used the same product
("bit length per operation multiplied by processing performance measured in TOPS")
without the name. A chip lists several data types; its TPP here is the largest product
over them (``tf32`` is skipped: its bit length is ambiguous, and it never gives the
largest value in the table).

**Performance density** is TPP divided by the "applicable die area" in mm^2 (logic dies
made on a non-planar transistor process).

Simplifications, stated: the 2022 I/O criterion counts "all inputs and outputs" to
chips other than volatile memory; the data give the vendor's chip-to-chip figure
(NVLink, or PCIe where there is none). Adding PCIe to the NVLink figure changes no
classification of the chips in the table (A800: 400 + 64, H800: 400 + 128, both still
below 600).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

BITS = {"fp64": 64, "fp32": 32, "fp16": 16, "bf16": 16, "fp8": 8, "int8": 8}
"""Bit length of each data type for TPP (``tf32`` left out, see the module docstring)."""


@dataclass(frozen=True)
class Rule:
    """One rule of ``export_rules.yaml``: its Federal Register citation and thresholds."""

    id: str
    title: str
    citation: str
    document: str
    released: str
    published: str
    effective: str
    scheme: str
    summary: str
    source: str
    thresholds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Chip:
    """The figures the rules need, from a datasheet row or given by hand."""

    name: str
    tflops: float
    bits: int
    dtype: str = ""
    die_area_mm2: float | None = None
    interconnect_gbps: float | None = None
    datacenter: bool = True

    @property
    def tpp(self) -> float:
        """Total processing performance: dense TFLOPS (= 2 x MacTOPS) x bit length.

        Example:
            >>> Chip("rule's example", tflops=600, bits=8).tpp
            4800.0
        """
        return float(self.tflops) * self.bits

    @property
    def density(self) -> float | None:
        """Performance density, TPP per mm^2 of die; ``None`` without a die area."""
        return None if self.die_area_mm2 is None else self.tpp / self.die_area_mm2


@dataclass(frozen=True)
class Verdict:
    """How a chip fares under one rule, with the reasons."""

    rule: str
    status: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The verdict as a JSON-ready dictionary."""
        return {"rule": self.rule, "status": self.status, "reasons": list(self.reasons)}


def tpp(tflops: float, bits: int) -> float:
    """TPP of a dense rate in TFLOPS (or TOPS) at a bit length.

    Example:
        >>> tpp(300, 16), tpp(600, 8)
        (4800.0, 4800.0)
    """
    return float(tflops) * bits


def rules() -> tuple[Rule, ...]:
    """Every rule of ``mlatlas/data/export_rules.yaml``, oldest first."""
    out = []
    for row in load_rows("export_rules"):
        out.append(
            Rule(
                id=str(row["id"]), title=row["title"], citation=row["citation"], document=str(row["document"]),
                released=str(row["released"]), published=str(row["published"]), effective=str(row["effective"]),
                scheme=row["scheme"], summary=row["summary"], source=row["source"],
                thresholds={k: float(v) for k, v in row.get("thresholds", {}).items()},
            )
        )  # fmt: skip
    return tuple(out)


def chip_rows() -> tuple[dict[str, Any], ...]:
    """Rows of ``accelerators.yaml`` (with their export-control fields)."""
    return load_rows("accelerators")


def chip_from_row(row: dict[str, Any]) -> Chip:
    """The :class:`Chip` of a datasheet row: the data type giving the largest TPP."""
    rates = {d: float(v) for d, v in row["tflops"].items() if d in BITS}
    if not rates:
        raise MlatlasError(f"accelerators.yaml row {row['name']!r} has no rate with a known bit length")
    dtype = max(rates, key=lambda d: rates[d] * BITS[d])
    return Chip(
        name=row["name"], tflops=rates[dtype], bits=BITS[dtype], dtype=dtype,
        die_area_mm2=_opt(row.get("die_area_mm2")), interconnect_gbps=_opt(row.get("interconnect_gbps")),
        datacenter=bool(row.get("datacenter", True)),
    )  # fmt: skip


def chip(name: str) -> Chip:
    """The chip whose row name is ``name``, or contains it as whole words (``H100``).

    When several rows contain the words, the first in file order wins (``H100`` is
    the SXM5 row, ``RTX 4090`` the RTX 4090 rather than the 4090 D).

    Example:
        >>> chip("H100").name, chip("4090 D").name
        ('NVIDIA H100 SXM5 80GB', 'NVIDIA GeForce RTX 4090 D')

    Raises:
        MlatlasError: If no row matches.
    """
    rows = chip_rows()
    exact = [r for r in rows if r["name"].lower() == name.lower()]
    if exact:
        return chip_from_row(exact[0])
    words = name.lower().split()
    found = [r for r in rows if _contains(r["name"].lower().split(), words)]
    if not found:
        known = ", ".join(r["name"] for r in rows)
        raise MlatlasError(f"no chip named {name!r} in accelerators.yaml (known: {known})")
    return chip_from_row(found[0])


def make_chip(
    tflops: float, bits: int, die_area_mm2: float | None = None, interconnect_gbps: float | None = None,
    datacenter: bool = True, name: str = "given figures",
) -> Chip:  # fmt: skip
    """A chip from raw figures, checked.

    Raises:
        MlatlasError: If a figure is not a positive finite number or ``bits`` is not
            one of 4, 8, 16, 32, 64.
    """
    for label, value in (("tflops", tflops), ("die area", die_area_mm2), ("interconnect", interconnect_gbps)):
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise MlatlasError(f"{label} must be a positive finite number, not {value!r}")
    if bits not in (4, 8, 16, 32, 64):
        raise MlatlasError(f"bits must be one of 4, 8, 16, 32, 64, not {bits!r}")
    return Chip(name, float(tflops), int(bits), f"{bits}-bit", die_area_mm2, interconnect_gbps, datacenter)


def classify(c: Chip, rule: Rule) -> Verdict:
    """Whether ``c`` meets the chip parameters of ``rule``, with the thresholds it crosses.

    Status is ``"3A090"`` (2022), ``"3A090.a"`` or ``"3A090.b"`` (2023) when caught,
    ``"not controlled"`` when not, ``"unknown"`` when a needed figure is missing, and
    ``"n/a"`` for a rule that set no chip parameter.
    """
    t = rule.thresholds
    if rule.scheme == "interconnect_and_tpp":
        tpp_ok = c.tpp >= t["tpp"]
        why = [f"TPP {c.tpp:,.0f} {'>=' if tpp_ok else '<'} {t['tpp']:,.0f}"]
        if c.interconnect_gbps is None:
            return Verdict(rule.id, "unknown" if tpp_ok else "not controlled", (*why, "interconnect unknown"))
        io_ok = c.interconnect_gbps >= t["interconnect_gbps"]
        why.append(f"I/O {c.interconnect_gbps:,.0f} GB/s {'>=' if io_ok else '<'} {t['interconnect_gbps']:,.0f} GB/s")
        return Verdict(rule.id, "3A090" if tpp_ok and io_ok else "not controlled", tuple(why))
    if rule.scheme == "tpp_and_density":
        return _classify_2023(c, rule, t)
    return Verdict(rule.id, "n/a", ("this rule set no new chip parameter",))


def _classify_2023(c: Chip, rule: Rule, t: dict[str, float]) -> Verdict:
    p, d = c.tpp, c.density
    why = [f"TPP {p:,.0f}", "density unknown" if d is None else f"density {d:.2f}"]
    if p >= t["a1_tpp"]:
        status, why = "3A090.a", [*why, f"a.1: TPP >= {t['a1_tpp']:,.0f}"]
    elif d is not None and p >= t["a2_tpp"] and d >= t["a2_density"]:
        status, why = "3A090.a", [*why, f"a.2: TPP >= {t['a2_tpp']:,.0f} and density >= {t['a2_density']}"]
    elif d is not None and t["b1_tpp"] <= p < t["b1_tpp_below"] and t["b1_density"] <= d < t["b1_density_below"]:
        status, why = "3A090.b", [*why, f"b.1: {t['b1_tpp']:,.0f} <= TPP < {t['b1_tpp_below']:,.0f}, "
                                          f"{t['b1_density']} <= density < {t['b1_density_below']}"]  # fmt: skip
    elif d is not None and p >= t["b2_tpp"] and t["b2_density"] <= d < t["b2_density_below"]:
        status, why = (
            "3A090.b",
            [*why, f"b.2: TPP >= {t['b2_tpp']:,.0f}, {t['b2_density']} <= density < {t['b2_density_below']}"],
        )
    elif d is None and p >= t["a2_tpp"]:
        return Verdict(rule.id, "unknown", (*why, "below a.1; a.2 and b need the die area"))
    else:
        return Verdict(rule.id, "not controlled", (*why, "below every 3A090.a and 3A090.b threshold"))
    if not c.datacenter and p < t["note2_tpp"]:
        return Verdict(
            rule.id, "not controlled", (*why, f"but Note 2: not a datacenter item and TPP < {t['note2_tpp']:,.0f}")
        )
    return Verdict(rule.id, status, tuple(why))


def classify_all(c: Chip) -> list[Verdict]:
    """The verdict under every rule with chip parameters, oldest first."""
    return [classify(c, r) for r in rules() if r.scheme != "none"]


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))
