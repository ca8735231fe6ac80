"""``mlatlas probe``: this machine's compute devices and their peak rates."""

from __future__ import annotations

import argparse
from typing import Any

from mlatlas.cli.output import add_json_flag, print_json, print_table
from mlatlas.labs.probe import ProbeReport, peaks, probe
from mlatlas.labs.probe.peaks import Peaks

GIB = 2**30
COLUMNS = {"field": "field", "value": "value"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``probe`` to the command line."""
    parser = subparsers.add_parser(
        "probe",
        help="compute devices of this machine and their peak rates",
        description=(
            "Detect the CPU, the torch build, CUDA/ROCm GPUs and Apple MPS, and show each device's "
            "theoretical peak FLOP/s and memory bandwidth. Exits 0 on a machine without a GPU."
        ),
    )
    add_json_flag(parser, "(schema mlatlas.probe/1) instead of tables")
    parser.add_argument(
        "--device",
        metavar="DEVICE",
        help="show only the peak rates of one device: cpu, cuda, cuda:N or mps",
    )
    parser.add_argument("--no-nvml", action="store_true", help="do not query the driver through NVML")
    parser.set_defaults(handler=run_probe)


def run_probe(args: argparse.Namespace) -> int:
    """Print the probe report, or one device's peaks with ``--device``."""
    if args.device is not None:
        result = peaks(args.device)
        if args.json:
            print_json(result.to_dict())
        else:
            print_table(f"Peak rates of {result.device}: {result.name}", _peak_rows(result), COLUMNS)
        return 0
    report = probe(nvml=not args.no_nvml)
    if args.json:
        print_json(report.to_dict())
        return 0
    _print_report(report)
    return 0


def _print_report(report: ProbeReport) -> None:
    t, cpu, cuda = report.torch, report.cpu, report.cuda
    print_table(
        "torch",
        _rows(
            version=t.version,
            **{"built with CUDA": t.cuda, "built with ROCm/HIP": t.hip, "cuDNN": t.cudnn, "NCCL": t.nccl},
            **{"GPU archs compiled": " ".join(t.cuda_arch_list) or None, "MPS compiled": t.mps_built},
            BLAS=t.blas,
            **{"MKL": _version(t.mkl, t.mkl_version), "oneDNN": _version(t.onednn, t.onednn_version)},
            **{"OpenMP": t.openmp, "CPU kernels": t.cpu_capability},
            threads=f"{t.num_threads} intra-op, {t.num_interop_threads} inter-op",
            Python=t.python,
        ),
        COLUMNS,
    )
    print_table(
        "CPU",
        _rows(
            model=cpu.model,
            architecture=cpu.architecture,
            cores=f"{cpu.physical_cores} physical, {cpu.logical_cores} logical, {cpu.usable_cores} usable here",
            sockets=cpu.sockets,
            clock=f"{cpu.max_clock_hz / 1e9:.2f} GHz ({cpu.clock_source})" if cpu.max_clock_hz else None,
            SIMD=" ".join(cpu.simd) or None,
            memory=f"{cpu.memory_bytes / GIB:.1f} GiB ({(cpu.memory_available_bytes or 0) / GIB:.1f} GiB available)"
            if cpu.memory_bytes
            else None,
            caches=", ".join(f"{level} {_size(size)}" for level, size in cpu.caches.items()) or None,
        )
        + _peak_rows(report.cpu_peaks),
        COLUMNS,
    )
    print_table(
        "GPUs (CUDA / ROCm)",
        _rows(
            status=cuda.status,
            backend=cuda.backend,
            **{"built with": cuda.built_with, "driver": cuda.driver_version, "driver's CUDA": cuda.cuda_driver_version},
            NVML=cuda.nvml,
            evidence="; ".join(cuda.gpu_evidence) or None,
        ),
        COLUMNS,
    )
    for gpu in cuda.devices:
        nv = gpu.nvml or {}
        print_table(
            f"{gpu.device}: {gpu.name}",
            _rows(
                **{"compute capability": gpu.compute_capability, "arch": gpu.arch},
                multiprocessors=gpu.multiprocessors,
                memory=_memory(gpu.total_memory_bytes, gpu.free_memory_bytes),
                **{"L2 cache": _size(gpu.l2_cache_bytes) if gpu.l2_cache_bytes else None, "PCI": gpu.pci_bus_id},
                **{"memory bus": f"{nv['memory_bus_width_bits']} bit" if nv.get("memory_bus_width_bits") else None},
                **{"bandwidth from clocks": f"{gpu.memory_bandwidth_from_clocks / 1e9:,.0f} GB/s"
                   if gpu.memory_bandwidth_from_clocks else None},
                **{"SM clock": _pair(nv.get("clock_sm_mhz"), nv.get("clock_sm_max_mhz"), "MHz")},
                **{"memory clock": _pair(nv.get("clock_mem_mhz"), nv.get("clock_mem_max_mhz"), "MHz")},
                temperature=f"{nv['temperature_c']} C" if nv.get("temperature_c") is not None else None,
                power=_pair(nv.get("power_draw_w"), nv.get("power_limit_w"), "W"),
                utilisation=f"{nv['utilization_gpu_pct']}% GPU, {nv['utilization_memory_pct']}% memory"
                if nv.get("utilization_gpu_pct") is not None
                else None,
                ECC=nv.get("ecc_enabled"),
                MIG=nv.get("mig_enabled"),
                **{"NVLink links up": nv.get("nvlink_active_links") or None},
            )
            + _peak_rows(gpu.peaks),
            COLUMNS,
        )  # fmt: skip
    if cuda.peer_access:
        rows = [
            {"from": f"cuda:{i}", **{f"cuda:{j}": _cell(v) for j, v in enumerate(row)}}
            for i, row in enumerate(cuda.peer_access)
        ]
        print_table("peer access (can_device_access_peer)", rows, {k: k for k in rows[0]})
    print_table(
        "Apple MPS", _rows(built=report.mps.built, available=report.mps.available, macOS=report.mps.macos), COLUMNS
    )
    print("Findings:")
    for sentence in report.findings:
        print(f"- {sentence}")


def _peak_rows(p: Peaks) -> list[dict[str, str]]:
    """A row per data type with the peak in TFLOP/s, then bandwidth and source."""
    rows = [{"field": f"peak {dtype}", "value": _rate(flops)} for dtype, flops in p.flops.items()]
    bandwidth = f"{p.bandwidth / 1e9:,.0f} GB/s" if p.bandwidth else "unknown"
    return [*rows, {"field": "peak bandwidth", "value": bandwidth}, {"field": "peak source", "value": p.source}]


def _rate(flops: float) -> str:
    return f"{flops / 1e12:,.1f} TFLOP/s" if flops >= 1e12 else f"{flops / 1e9:,.1f} GFLOP/s"


def _rows(**fields: Any) -> list[dict[str, str]]:
    """Key/value rows, skipping fields that are ``None``."""
    return [{"field": key, "value": _cell(value)} for key, value in fields.items() if value is not None]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _version(available: bool, version: str | None) -> str:
    return f"yes ({version})" if available and version else "yes" if available else "no"


def _size(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} B"


def _memory(total: int | None, free: int | None) -> str | None:
    if total is None:
        return None
    return f"{total / GIB:.1f} GiB" + (f" ({free / GIB:.1f} GiB free)" if free is not None else "")


def _pair(now: Any, limit: Any, unit: str) -> str | None:
    if now is None and limit is None:
        return None
    return f"{_cell(now)} / {_cell(limit)} {unit}"
