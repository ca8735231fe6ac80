from mlatlas.labs.probe.nvml import NVML_DEVICE_FIELDS

print("| `cuda.devices[].nvml` key | meaning |")
print("|---|---|")
print("| `index` | NVML's index (PCI bus order, which can differ from CUDA's) |")
for key, meaning in NVML_DEVICE_FIELDS.items():
    print(f"| `{key}` | {meaning} |")
