# Draws `report` from the block above when run in the same markdown-exec session
# (one measurement per page build); run on its own, it measures first.
from mlatlas.labs import bench

if "report" not in globals():
    report = bench.run(quick=True)

for figure, caption in [
    (bench.roofline_figure(report), "Roofline: each point is a measured kernel; dashed lines are the roofs."),
    (bench.sweep_figure(report), "Matrix-product throughput against matrix side; dashed lines are the peaks."),
]:
    print(f"<figure>{bench.svg_markup(figure)}<figcaption>{caption}</figcaption></figure>")
