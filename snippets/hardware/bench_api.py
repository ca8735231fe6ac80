from mlatlas.labs import bench

report = bench.run(quick=True)  # every device found here, the --quick sweep

print(f"torch {report.torch_version}, {report.threads} threads, {report.created}")
if report.cpu_busy_before and report.cpu_busy_before > 0.1:
    print(f"(other processes kept {report.cpu_busy_before:.0%} of the CPU busy when it started)")
for device in report.devices:
    roof, origin = report.bandwidth_roof(device.device)
    print(f"\n{device.device} ({device.name}): memory roof {roof / 1e9:.1f} GB/s ({origin})")
    for r in report.results_for(device.device, "matmul"):
        share = "no peak known" if r.fraction_of_peak is None else f"{r.fraction_of_peak:6.1%} of peak"
        print(
            f"  matmul {r.dtype} n={r.size:<5} {r.flop_per_s / 1e9:9.1f} GFLOP/s  "
            f"median {r.median_s * 1e3:8.3f} ms  IQR {r.timing.iqr * 1e3:7.3f} ms  {share}"
        )
