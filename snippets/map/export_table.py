from mlatlas.export_controls import chip_from_row, chip_rows, classify_all, rules

verdict_rules = [r for r in rules() if r.scheme != "none"]
print("| chip | TPP | from | density | I/O GB/s | " + " | ".join(f"{r.released} rule" for r in verdict_rules) + " |")
print("|---|--:|---|--:|--:|" + "---|" * len(verdict_rules))
for row in chip_rows():
    c = chip_from_row(row)
    density = "–" if c.density is None else f"{c.density:.2f}"
    io = "–" if c.interconnect_gbps is None else f"{c.interconnect_gbps:,.0f}"
    cells = [f"**{v.status}**" if v.status.startswith("3A090") else v.status for v in classify_all(c)]
    print(f"| {c.name} | {c.tpp:,.0f} | {c.dtype} | {density} | {io} | " + " | ".join(cells) + " |")
