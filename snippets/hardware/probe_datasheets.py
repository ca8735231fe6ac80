from mlatlas.labs.probe.accelerators import DTYPES, accelerators

print("| product | memory | GB/s | " + " | ".join(DTYPES) + " | source |")
print("|---|--:|--:|" + "--:|" * len(DTYPES) + "---|")
for row in accelerators():
    cells = [f"{row.tflops[d]:,g}" if d in row.tflops else "–" for d in DTYPES]
    print(
        f"| {row.name} | {row.memory_gb:g} GB {row.memory_type} | {row.memory_bandwidth_gbps:,g} | "
        + " | ".join(cells)
        + f" | [{row.vendor} document]({row.source}) |"
    )
