"""How long ``mlatlas bench --quick`` takes, and the CPU's fraction of peak it finds.

Runs the command exactly as a user would (a fresh process, so start-up and the torch
import count), times it with the wall clock, and prints the CPU figures from its JSON.
The target is under 30 s on a two-core machine; the tests never assert it.

    python benchmarks/bench_quick.py [extra mlatlas bench arguments]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

TARGET_S = 30.0


def main(argv: list[str]) -> int:
    command = [sys.executable, "-m", "mlatlas", "bench", "--quick", "--json", *argv]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return result.returncode
    report = json.loads(result.stdout)
    verdict = "within" if wall < TARGET_S else "OVER"
    print(f"mlatlas bench --quick: {wall:.1f} s wall ({verdict} the {TARGET_S:.0f} s target)")
    print(f"torch {report['torch']}, {report['threads']} threads, {report['created']}")
    busy = report["cpu_busy_before"]
    if busy is not None:
        print(f"CPU busy with other processes just before the run: {busy:.0%}")
    for device in report["devices"]:
        print(f"\n{device['device']} ({device['name']})")
        print(f"  peaks: {device['peak_source']}")
        for r in (r for r in report["results"] if r["device"] == device["device"]):
            if r["kernel"] == "matmul":
                rate = f"{r['flop_per_s'] / 1e9:9.1f} GFLOP/s"
            else:
                rate = f"{r['bytes_per_s'] / 1e9:9.1f} GB/s    "
            share = "n/a" if r["fraction_of_peak"] is None else f"{r['fraction_of_peak']:.1%}"
            size = f"n={r['size']}" if r["kernel"] == "matmul" else f"{r['bytes'] / 2**20:.0f} MiB moved"
            print(
                f"  {r['kernel']:6} {r['dtype']:4} {size:>10}  {rate}  of peak: {share:>6}  "
                f"(median {r['median_s'] * 1e3:.3f} ms, IQR {r['iqr_s'] * 1e3:.3f} ms, {r['reps']} reps)"
            )
        for s in (s for s in report["skipped"] if s["device"] == device["device"]):
            print(f"  skipped {s['kernel']} {s['dtype']} {s['size'] or ''}: {s['reason']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
