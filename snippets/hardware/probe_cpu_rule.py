from mlatlas.labs.probe.peaks import cpu_flops_per_cycle

print("| flags (Linux names) | fp32 FLOP/cycle/core | why |")
print("|---|--:|---|")
for flags in [{"avx512f", "avx2", "fma"}, {"avx2", "fma"}, {"avx"}, {"asimd"}, {"sse2"}]:
    per_cycle, why = cpu_flops_per_cycle(flags)
    print(f"| {', '.join(sorted(flags))} | {per_cycle} | {why} |")
