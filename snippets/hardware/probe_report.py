from mlatlas.labs.probe import probe

report = probe()  # never prints, never exits, never raises for a missing GPU
print("usable devices:", report.devices)
print("GPU status:", report.cuda.status)
print("torch:", report.torch.version, "built with CUDA", report.torch.cuda)
cpu = report.cpu
print(f"CPU: {cpu.model}, {cpu.physical_cores} physical / {cpu.logical_cores} logical cores")
print("widest SIMD:", cpu.simd[-3:])
for sentence in report.findings:
    print("-", sentence)
