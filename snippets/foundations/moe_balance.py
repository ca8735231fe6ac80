from mlatlas.moe import METHODS, balance_demo

# The same skewed data and the same initial weights; only the balancing differs.
print(f"{'method':<9} {'load CV, first 20 steps':>24} {'last 20 steps':>14} {'task loss':>10}")
for method in METHODS:
    run = balance_demo(method, steps=300, alpha=0.1, gamma=0.01, seed=0)
    first = sum(run.cv[:20]) / 20
    last_loss = sum(run.loss[-20:]) / 20
    print(f"{method:<9} {first:>24.2f} {run.final_cv():>14.2f} {last_loss:>10.3f}")
