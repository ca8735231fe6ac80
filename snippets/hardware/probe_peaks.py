from mlatlas.labs.probe import peaks
from mlatlas.labs.probe.peaks import accelerator_peaks

cpu = peaks("cpu")  # this machine's CPU, computed from its cores, clock and SIMD flags
for dtype, flops in cpu.flops.items():
    print(f"cpu  {dtype}: {flops / 1e9:10,.1f} GFLOP/s")
print("     how:", cpu.source)

# The same lookup peaks("cuda:0") makes, for the name an H100 SXM reports:
h100 = accelerator_peaks("cuda:0", "NVIDIA H100 80GB HBM3")
for dtype, flops in h100.flops.items():
    print(f"H100 {dtype}: {flops / 1e12:10,.1f} TFLOP/s")
print(f"H100 memory: {h100.bandwidth / 1e12:.2f} TB/s, from {h100.source}")
