"""``mlatlas bench``: matrix-product throughput and memory bandwidth, as % of peak."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mlatlas.cli.output import add_json_flag, print_json, print_table
from mlatlas.errors import MlatlasError
from mlatlas.files import check_folder
from mlatlas.labs.bench import BenchReport, run, write_plots
from mlatlas.labs.bench.devices import DEFAULT_DTYPES, DTYPES
from mlatlas.labs.bench.sweep import parse_list, parse_sizes

BUSY_WARNING = 0.1
"""Share of the CPU others may use before the run before the output warns."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench`` to the command line."""
    parser = subparsers.add_parser(
        "bench",
        help="benchmark: matmul TFLOP/s and memory bandwidth, as %% of peak",
        description=(
            "Time matrix products over a sweep of sizes and number formats, and STREAM copy and triad, "
            "on the CPU and every accelerator found; report each as a fraction of the device's peak."
        ),
    )
    parser.add_argument(
        "--devices", metavar="LIST", help="comma-separated devices: cpu, cuda, cuda:N, mps (default: all found)"
    )
    parser.add_argument(
        "--dtypes",
        metavar="LIST",
        help=f"comma-separated matmul formats among {', '.join(DTYPES)} (default: {','.join(DEFAULT_DTYPES)})",
    )
    parser.add_argument(
        "--sizes", metavar="LIST", help="comma-separated matrix sides, e.g. 256,512,1024 (default: a sweep per device)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer sizes and a shorter time budget per kernel"
    )
    parser.add_argument(
        "--plot", metavar="DIR", type=Path, help="write bench_roofline and bench_sweep as PNG and SVG into DIR"
    )
    add_json_flag(parser, "(schema mlatlas.bench/1) instead of tables")
    parser.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark, print it, and draw it if asked."""
    devices = parse_list(args.devices) if args.devices is not None else None
    dtypes = parse_list(args.dtypes) if args.dtypes is not None else None
    sizes = parse_sizes(args.sizes) if args.sizes is not None else None
    if args.plot is not None:
        _check_plot_dir(args.plot)
    command = shlex.join(["mlatlas", *sys.argv[1:]]) if sys.argv[1:2] == ["bench"] else "mlatlas bench"
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("bench", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        report = run(devices, dtypes, sizes, quick=args.quick, progress=progress, command=command)
    written = write_plots(report, args.plot) if args.plot is not None else []
    if args.json:
        print_json(report.to_dict())
        return 0
    _print_report(report)
    for path in written:
        print(f"wrote {path}")
    return 0


def _check_plot_dir(folder: Path) -> None:
    """Fail before measuring if the plots could not be written."""
    check_folder(folder)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MlatlasError("--plot needs matplotlib: pip install 'mlatlas[plot]'") from None


def _percent(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{fraction:.1%}"


def _print_report(report: BenchReport) -> None:
    names = {d.device: d.name for d in report.devices}
    print(f"torch {report.torch_version}, {report.threads} CPU threads, {report.created}")
    if report.cpu_busy_before is not None and report.cpu_busy_before > BUSY_WARNING:
        print(
            f"warning: other processes kept {report.cpu_busy_before:.0%} of the CPU busy just before this run; "
            "CPU figures are likely low"
        )
    stream = [r for r in report.results if r.kernel != "matmul"]
    if stream:
        rows = [
            {
                "device": r.device,
                "kernel": r.kernel,
                "array": f"{r.size * DTYPES[r.dtype].itemsize / 2**20:,.0f} MiB",
                "reps": r.timing.reps,
                "median_us": r.median_s * 1e6,
                "iqr_us": r.timing.iqr * 1e6,
                "gbps": r.bytes_per_s / 1e9,
                "peak": _percent(r.fraction_of_peak),
            }
            for r in stream
        ]
        columns = {"device": "device", "kernel": "kernel", "array": "per array", "reps": "reps",
                   "median_us": "median µs", "iqr_us": "IQR µs", "gbps": "GB/s", "peak": "% of peak"}  # fmt: skip
        print_table("Memory bandwidth (STREAM, fp32)", rows, columns)
    matmuls = [r for r in report.results if r.kernel == "matmul"]
    if matmuls:
        rows = [
            {
                "device": r.device,
                "dtype": r.dtype,
                "n": r.size,
                "reps": r.timing.reps,
                "median_us": r.median_s * 1e6,
                "iqr_us": r.timing.iqr * 1e6,
                "gflops": r.flop_per_s / 1e9,
                "peak": _percent(r.fraction_of_peak),
            }
            for r in matmuls
        ]
        columns = {"device": "device", "dtype": "dtype", "n": "n", "reps": "reps", "median_us": "median µs",
                   "iqr_us": "IQR µs", "gflops": "GFLOP/s", "peak": "% of peak"}  # fmt: skip
        print_table("Matrix product n x n x n", rows, columns)
    for info in report.devices:
        print(f"{info.device} ({names[info.device]}) peaks: {info.peak_source}")
    for skip in report.skipped:
        size = f" {skip.size}" if skip.size is not None else ""
        print(f"skipped {skip.device} {skip.kernel} {skip.dtype}{size}: {skip.reason}")
