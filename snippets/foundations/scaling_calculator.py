from mlatlas.scaling import compute_for_loss, compute_optimal, published_law, published_laws

law = published_law("epoch")  # Besiroglu et al. 2024, Table 1
print(f"L(N, D) = {law.E} + {law.A} / N^{law.alpha} + {law.B} / D^{law.beta}")
print(f"N_opt grows as C^{law.a:.3f} and D_opt as C^{law.b:.3f}")
for compute in [1e19, 1e21, 1e23, 1e25]:
    best = compute_optimal(law, compute)
    print(f"C = {compute:.0e} FLOPs: N = {best.params:.2e}, D = {best.tokens:.2e}, "
          f"{best.tokens_per_param:4.1f} tokens per parameter, loss {best.loss:.3f}")

target = compute_for_loss(law, 2.0)  # the inverse: the budget for a target loss
print(f"loss 2.0 needs {target.compute:.2e} FLOPs: N = {target.params:.2e}, D = {target.tokens:.2e}")

print("\nChinchilla's own budget, 6 x 70e9 x 1.4e12 FLOPs, under each fit:")
for law in published_laws().values():
    best = compute_optimal(law, 6 * 70e9 * 1.4e12)
    print(f"  {law.name:15s} N = {best.params / 1e9:5.1f}B, {best.tokens_per_param:5.1f} tokens per parameter")
