from mlatlas.scaling import kaplan_law, published_laws

laws = published_laws().values()
print("| fit | $E$ | $A$ | $B$ | $\\alpha$ | $\\beta$ | $a = \\beta/(\\alpha+\\beta)$ |")
print("|---|--:|--:|--:|--:|--:|--:|")
for law in laws:
    print(f"| `{law.name}` | {law.E} | {law.A} | {law.B} | {law.alpha} | {law.beta} | {law.a:.3f} |")
print()
for law in laws:
    print(f"- `{law.name}`, {law.label}: {law.source}.")


def latex(x: float) -> str:
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


kaplan = kaplan_law()
print(f"- Kaplan et al.'s law, for contrast: $\\alpha_N = {kaplan.alpha_N}$, $\\alpha_D = {kaplan.alpha_D}$, "
      f"$N_c = {latex(kaplan.N_c)}$, $D_c = {latex(kaplan.D_c)}$: {kaplan.source}.")
