from mlatlas.labs.probe.cuda import interpret_cuda

# A made-up record, shaped like collect_cuda()'s: a CUDA build of torch,
# a GPU that NVML and the kernel driver see, and CUDA failing to start.
record = {
    "torch_version": "2.11.0+cu130",
    "built_with_cuda": "13.0",
    "built_with_hip": None,
    "is_available": False,
    "init_error": "CUDA initialization: The NVIDIA driver on your system is too old",
    "device_count": 0,
    "devices": [],
    "peer_access": None,
    "driver_files": {"proc_version": None, "proc_gpus": ["NVIDIA H100 80GB HBM3"], "dev_nodes": ["nvidia0"]},
    "nvml": {
        "status": "ok",
        "driver_version": "535.54.03",
        "cuda_driver_version": "12.2",
        "devices": [{"name": "NVIDIA H100 80GB HBM3"}],
    },
}
report = interpret_cuda(record)
print("status:", report.status)
for sentence in report.findings:
    print("-", sentence)
