"""Tests for the benchmark lab, ``mlatlas.labs.bench`` and ``mlatlas bench``.

No test asserts a speed (the machine may be shared); they check the method instead:
the timer agrees with ``torch.utils.benchmark``, the flush stays out of the timed
region, each kernel's FLOP and byte counts match an independent count, the kernels
compute the right thing, the statistics match numpy's and the standard library's,
and the command line fails cleanly and writes valid files.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.benchmark import Timer
from torch.utils.flop_counter import FlopCounterMode

from conftest import ROOT, run_env
from mlatlas.errors import MlatlasError
from mlatlas.labs import bench
from mlatlas.labs.bench import kernels, timing
from mlatlas.labs.bench.devices import unsupported_reason
from mlatlas.labs.bench.report import FIELDS
from mlatlas.labs.probe import peaks

CPU = torch.device("cpu")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _mlatlas(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlatlas", *args],
        cwd=ROOT, env=run_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


# --- timing -----------------------------------------------------------------


def test_timing_agrees_with_torch_utils_benchmark() -> None:
    """For a 1024 x 1024 fp32 product, our median is within 10% of blocked_autorange's.

    Both run on one thread, so another process holding one of this machine's cores
    cannot make a barrier wait for the scheduler in one measurement and not in the
    other. At this size one call is tens of milliseconds, and the 8 MiB of operands
    our flush evicts take well under a millisecond to read back. The pair is measured
    again once if the first disagrees (a burst of load elsewhere); the second must
    agree.
    """
    k = kernels.matmul(1024, "fp32", "cpu")
    a, b, c = (k.tensors[name] for name in "abc")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for attempt in range(2):  # noqa: B007 (named in the failure message)
            ours = timing.measure(
                k.call, CPU, flush=timing.CacheFlush(CPU), budget=timing.Budget(0.1, 0.6, 10, 50)
            ).median
            theirs = (
                Timer("torch.matmul(a, b, out=c)", globals={"torch": torch, "a": a, "b": b, "c": c}, num_threads=1)
                .blocked_autorange(min_run_time=0.6)
                .median
            )
            ratio = ours / theirs
            if abs(ratio - 1) <= 0.10:
                break
    finally:
        torch.set_num_threads(threads)
    assert abs(ratio - 1) <= 0.10, (
        f"ours {ours * 1e3:.2f} ms vs torch.utils.benchmark {theirs * 1e3:.2f} ms (attempt {attempt + 1})"
    )


def test_flush_is_outside_the_timed_region() -> None:
    """A 50 ms flush before a 5 ms call leaves the measured time near 5 ms."""
    t = timing.measure(
        lambda: time.sleep(0.005), CPU, flush=lambda: time.sleep(0.05), budget=timing.Budget(0.0, 0.0, 5, 5)
    )
    assert t.reps == 5
    assert 0.005 <= t.median < 0.05


def test_flush_buffer_is_larger_than_the_last_level_cache() -> None:
    """The eviction buffer is twice the cache sysfs reports, and a flush changes every byte."""
    cache = timing.last_level_cache_bytes(CPU)
    flush = timing.CacheFlush(CPU)
    assert cache > 0 and flush.nbytes == 2 * cache
    before = flush._buffer.clone()
    flush()
    assert bool(((flush._buffer - before) == 1).all())


def test_warm_up_and_budget_set_the_number_of_timed_calls() -> None:
    """Calls happen untimed first; the rep count stays within the budget's bounds."""
    calls = []
    t = timing.measure(lambda: calls.append(1), CPU, budget=timing.Budget(0.0, 1e-9, 3, 7, min_warmup_calls=4))
    assert t.reps == 3 and len(calls) == 4 + 3
    t = timing.measure(lambda: None, CPU, budget=timing.Budget(0.0, 10.0, 3, 7))
    assert t.reps == 7


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_match_numpy_and_statistics(seed: int) -> None:
    """Median, quartiles and IQR equal numpy's and statistics' on random samples."""
    rng = random.Random(seed)
    samples = tuple(rng.lognormvariate(0, 1) for _ in range(rng.randint(2, 40)))
    t = timing.Timing(samples)
    q1, q2, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    assert t.median == pytest.approx(statistics.median(samples), rel=1e-12)
    assert (t.q1, t.median, t.q3) == pytest.approx((q1, q2, q3), rel=1e-12)
    assert (t.q1, t.q3) == pytest.approx(tuple(np.percentile(samples, [25, 75])), rel=1e-12)
    assert t.iqr == pytest.approx(q3 - q1, rel=1e-12)
    assert t.min == min(samples)


def test_quantiles_on_known_samples() -> None:
    """Worked by hand: 1..8 has quartiles 2.75 and 6.25, median 4.5."""
    t = timing.Timing(tuple(float(x) for x in [8, 1, 7, 2, 6, 3, 5, 4]))
    assert (t.q1, t.median, t.q3, t.iqr) == (2.75, 4.5, 6.25, 3.5)
    assert timing.Timing((3.0,)).iqr == 0.0
    with pytest.raises(MlatlasError):
        timing.quantile([], 0.5)


# --- kernels ----------------------------------------------------------------


@pytest.mark.parametrize(("m", "n", "k"), [(64, 64, 64), (96, 40, 72), (1, 128, 7)])
def test_matmul_flop_count_matches_torch_flop_counter(m: int, n: int, k: int) -> None:
    """2 m n k, as torch's own FlopCounterMode counts the product."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    with FlopCounterMode(display=False) as counter:
        torch.matmul(a, b)
    assert kernels.matmul_flop(m, n, k) == counter.get_total_flops() == 2 * m * n * k


@pytest.mark.parametrize("dtype", ["fp64", "fp32", "bf16"])
def test_kernel_byte_counts_are_the_operands_sizes(dtype: str) -> None:
    """Bytes moved = the operands' storage: every input read once, the output written once."""
    mm = kernels.matmul(48, dtype, "cpu")
    with FlopCounterMode(display=False) as counter:
        mm.call()
    assert mm.flop == counter.get_total_flops() == 2 * 48**3
    assert mm.bytes == sum(t.nbytes for t in mm.tensors.values()) == 3 * 48 * 48 * mm.tensors["c"].element_size()
    cp = kernels.copy(1000, "cpu")
    assert cp.bytes == sum(t.nbytes for t in cp.tensors.values()) == 2 * 1000 * 4 and cp.flop == 0
    tr = kernels.triad(1000, "cpu")
    assert tr.bytes == sum(t.nbytes for t in tr.tensors.values()) == 3 * 1000 * 4 and tr.flop == 2 * 1000
    assert tr.intensity == pytest.approx(1 / 6)


def test_kernels_compute_the_right_thing_into_their_outputs() -> None:
    """Triad gives a = b + s c, copy gives c = a, matmul gives a @ b, every element written."""
    tr = kernels.triad(100_003, "cpu")
    a, b, c = tr.tensors["a"], tr.tensors["b"], tr.tensors["c"]
    a.fill_(math.nan)
    tr.call()
    expected = b.double() + kernels.TRIAD_SCALAR * c.double()
    assert torch.allclose(a.double(), expected, rtol=1e-6, atol=1e-6)
    assert b.std() > 0.5 and c.std() > 0.5  # random inputs, not zeros

    cp = kernels.copy(10_001, "cpu")
    cp.tensors["c"].fill_(math.nan)
    cp.call()
    assert torch.equal(cp.tensors["c"], cp.tensors["a"])

    mm = kernels.matmul(65, "fp32", "cpu")
    mm.tensors["c"].fill_(math.nan)
    mm.call()
    reference = mm.tensors["a"].double() @ mm.tensors["b"].double()
    assert torch.linalg.norm(mm.tensors["c"].double() - reference) / torch.linalg.norm(reference) < 1e-5


def test_fp32_rows_run_in_full_precision_whatever_the_caller_set() -> None:
    """A caller's "medium" (bf16 inside oneDNN) or "high" (TF32) does not leak into fp32 rows."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("medium")
    try:
        with kernels.matmul_precision("fp32"):
            assert torch.get_float32_matmul_precision() == "highest"
            assert torch.backends.mkldnn.matmul.fp32_precision == "ieee"
        with kernels.matmul_precision("tf32"):
            assert torch.get_float32_matmul_precision() == "high"
        assert torch.get_float32_matmul_precision() == "medium"
    finally:
        torch.set_float32_matmul_precision(before)


def test_stream_arrays_are_four_times_the_cache() -> None:
    """STREAM's rule: no array fits in the last-level cache."""
    assert kernels.stream_elements("cpu") * 4 >= 4 * timing.last_level_cache_bytes(CPU)


def test_cpu_has_no_tf32_and_says_why() -> None:
    """TF32 is skipped on a CPU with a reason; fp32 is supported."""
    assert "TF32" in unsupported_reason("cpu", "tf32")
    assert unsupported_reason("cpu", "fp32") is None


# --- a whole run, through the API -------------------------------------------


@pytest.fixture(scope="module")
def small_report() -> bench.BenchReport:
    """A small CPU run: two formats, two sizes, plus a size certain to be skipped."""
    return bench.run(devices=["cpu"], dtypes=["fp32", "tf32"], sizes=[64, 16384], quick=True)


def test_run_reports_fraction_of_the_probes_peak(small_report: bench.BenchReport) -> None:
    """FLOP/s = flop / median, and the fraction is taken against peaks('cpu')."""
    cpu_peaks = peaks("cpu")
    (mm,) = small_report.results_for("cpu", "matmul", "fp32")
    assert (mm.size, mm.flop, mm.bytes) == (64, 2 * 64**3, 3 * 64 * 64 * 4)
    assert mm.flop_per_s == mm.flop / mm.timing.median
    assert mm.peak == cpu_peaks.flops.get("fp32")
    if mm.peak:
        assert mm.fraction_of_peak == pytest.approx(mm.flop_per_s / cpu_peaks.flops["fp32"])
    (triad,) = small_report.results_for("cpu", "triad")
    assert triad.peak == cpu_peaks.bandwidth  # None for a CPU: no datasheet bandwidth
    assert small_report.bandwidth_roof("cpu") == (triad.bytes_per_s, "measured")


def test_run_skips_what_it_cannot_or_should_not_run(small_report: bench.BenchReport) -> None:
    """tf32 on a CPU and a size extrapolated to be too slow are skipped, with reasons."""
    skips = {(s.dtype, s.size): s.reason for s in small_report.skipped}
    assert "TF32" in skips[("tf32", None)]
    assert "extrapolated" in skips[("fp32", 16384)]
    assert not small_report.results_for("cpu", "matmul", "tf32")


def test_run_rejects_bad_input_before_measuring(capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input raises MlatlasError at once; the API prints nothing."""
    calls = []
    for kwargs in [
        {"sizes": [-3]},
        {"sizes": [0]},
        {"sizes": [True]},
        {"dtypes": ["fp12"]},
        {"devices": ["cuda:99"]},
        {"devices": []},
    ]:
        with pytest.raises(MlatlasError):
            bench.run(**{"devices": ["cpu"], **kwargs}, progress=lambda *a: calls.append(a))
    assert calls == []
    assert capsys.readouterr() == ("", "")


def test_json_schema_keys_are_stable(small_report: bench.BenchReport) -> None:
    """The keys of mlatlas.bench/1; a change here needs a new schema name."""
    data = json.loads(json.dumps(small_report.to_dict()))
    assert data["schema"] == "mlatlas.bench/1"
    assert set(data) == {"schema", "created", "command", "mlatlas", "torch", "threads", "quick",
                         "cpu_busy_before", "devices", "results", "skipped"}  # fmt: skip
    assert set(data["devices"][0]) == {"device", "name", "flush_bytes", "peak_flops", "peak_bandwidth", "peak_source"}
    assert set(data["results"][0]) == {
        "device", "kernel", "dtype", "size", "shape", "flop", "bytes", "intensity", "reps", "median_s", "q1_s",
        "q3_s", "iqr_s", "min_s", "flop_per_s", "bytes_per_s", "peak", "peak_unit", "fraction_of_peak", "samples_s",
    }  # fmt: skip
    assert set(data["skipped"][0]) == {"device", "kernel", "dtype", "size", "reason"}
    # The page's schema table is printed from FIELDS: it documents exactly these keys.
    documented = {name: list(keys) for name, keys in FIELDS.items()}
    assert documented == {"report": list(data), "devices[]": list(data["devices"][0]),
                          "results[]": list(data["results"][0]), "skipped[]": list(data["skipped"][0])}  # fmt: skip
    assert data["threads"] == torch.get_num_threads() and data["torch"] == torch.__version__


def test_plots_are_written_atomically(small_report: bench.BenchReport, tmp_path: Path) -> None:
    """PNG and SVG land complete, with no temporary file left; a bad suffix writes nothing."""
    assert bench.plot_roofline(small_report, tmp_path / "r.png").read_bytes().startswith(PNG_SIGNATURE)
    assert ET.parse(bench.plot_sweep(small_report, tmp_path / "s.svg")).getroot().tag.endswith("svg")
    with pytest.raises(MlatlasError):
        bench.plot_roofline(small_report, tmp_path / "r.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png", "s.svg"]
    markup = bench.svg_markup(bench.roofline_figure(small_report))
    assert markup.startswith("<svg") and "<?xml" not in markup


# --- the command line -------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--sizes", "-3"],
        ["--sizes", "0,512"],
        ["--sizes", "abc"],
        ["--sizes", "99999"],
        ["--dtypes", "fp12"],
        ["--devices", "tpu"],
        ["--devices", "cuda:99"],
    ],
    ids=lambda a: " ".join(a),
)
def test_cli_bad_input_is_one_line_and_exit_2(args: list[str], tmp_path: Path) -> None:
    """One line on stderr, nothing on stdout, exit 2, and no plot written."""
    plots = tmp_path / "plots"
    result = _mlatlas("bench", *args, "--plot", str(plots))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlatlas: error: "), result.stderr
    assert not plots.exists()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``mlatlas bench --quick --json --plot DIR`` on a small sweep, run once."""
    plots = tmp_path_factory.mktemp("plots")
    result = _mlatlas(
        "bench",
        "--devices",
        "cpu",
        "--dtypes",
        "fp32,bf16",
        "--sizes",
        "64,128",
        "--quick",
        "--json",
        "--plot",
        str(plots),
    )
    return result, plots


def test_cli_json_is_the_documented_schema(cli_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """stdout is one JSON document recording the command, device and results."""
    result, _ = cli_run
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == bench.SCHEMA
    assert data["command"].startswith("mlatlas bench --devices cpu")
    assert [d["device"] for d in data["devices"]] == ["cpu"]
    kernels_run = {(r["kernel"], r["dtype"], r["size"]) for r in data["results"]}
    assert {
        ("matmul", "fp32", 64),
        ("matmul", "fp32", 128),
        ("copy", "fp32", kernels.stream_elements("cpu")),
    } <= kernels_run
    for r in data["results"]:
        assert r["median_s"] > 0 and r["reps"] == len(r["samples_s"]) >= 5


def test_cli_plot_writes_valid_png_and_svg(cli_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """--plot DIR holds the roofline and the sweep as PNG and SVG, and nothing else."""
    result, plots = cli_run
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in plots.iterdir())
    assert names == ["bench_roofline.png", "bench_roofline.svg", "bench_sweep.png", "bench_sweep.svg"]
    for png in plots.glob("*.png"):
        import matplotlib.image

        assert png.read_bytes().startswith(PNG_SIGNATURE)
        assert matplotlib.image.imread(png).shape[2] in (3, 4)
    for svg in plots.glob("*.svg"):
        assert ET.parse(svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize("folder", ["/proc/nope", "/proc/self/nope/deeper"])
def test_an_unwritable_plot_folder_is_refused_before_measuring(folder: str) -> None:
    """``--plot`` into a folder nothing can be created in fails at once, not after the measurements."""
    start = time.monotonic()
    result = _mlatlas("bench", "--plot", folder)
    assert result.returncode == 2 and time.monotonic() - start < 20, result.stderr
    assert result.stderr.startswith(f"mlatlas: error: cannot write into {folder}:")
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
