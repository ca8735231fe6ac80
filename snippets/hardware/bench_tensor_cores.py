import math

from mlatlas.labs.probe import peaks
from mlatlas.labs.probe.peaks import accelerator_peaks

h100 = accelerator_peaks("cuda:0", "NVIDIA H100 80GB HBM3")  # the SXM5 datasheet row
cpu = peaks("cpu")
bytes_per_element = {"fp64": 8, "fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 1}

print(f"{h100.name}: {h100.bandwidth / 1e12:.2f} TB/s; source: {h100.source}")
print("format  peak TFLOP/s  ridge FLOP/byte  smallest compute-bound n")
for dtype, peak in h100.flops.items():
    ridge = peak / h100.bandwidth  # intensity where the two roofs meet
    n = math.ceil(1.5 * bytes_per_element[dtype] * ridge)  # 2n / (3 b) >= ridge
    print(f"{dtype:6} {peak / 1e12:13,.1f} {ridge:16.1f} {n:25,}")
print(
    f"\nThis machine's CPU ({cpu.name}), computed peak: "
    + ", ".join(f"{d} {p / 1e9:,.0f} GFLOP/s" for d, p in cpu.flops.items())
)
if "fp32" in cpu.flops:
    print(f"H100 bf16 tensor-core peak / this CPU's fp32 peak: {h100.flops['bf16'] / cpu.flops['fp32']:,.0f}x")
