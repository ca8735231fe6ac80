from mlatlas.scaling import kaplan_law, published_laws

# Kaplan et al.'s compute-optimal exponents, N ~ C^0.73 and D ~ C^0.27, as Hoffmann
# et al. 2022 tabulate them beside their own (Table 2).
exponents = [("Kaplan et al. 2020", 0.73, 0.27)] + [(law.name, law.a, law.b) for law in published_laws().values()]
for name, a, b in exponents:
    print(f"{name:19s} 10x the compute buys {10**a:.2f}x the parameters and {10**b:.2f}x the tokens")

kaplan = kaplan_law()
print("\nKaplan's L(N, D) with (almost) unlimited data has no floor E:")
for n in [1e8, 1e10, 1e12, 1e15]:
    print(f"  N = {n:.0e} non-embedding parameters: L = {kaplan.loss(n, 1e30):.3f} nats per token")
