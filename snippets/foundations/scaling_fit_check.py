import numpy as np

from mlatlas.scaling import fit_law, published_law

truth = published_law("epoch")
rng = np.random.default_rng(0)
params = 10 ** rng.uniform(7.5, 10.5, 30)  # 30 made-up runs: 30M to 30B parameters,
tokens = 10 ** rng.uniform(8.5, 11.5, 30)  # 300M to 300B tokens,
losses = truth.loss(params, tokens) * np.exp(0.005 * rng.standard_normal(30))  # 0.5% noise

result = fit_law(params, tokens, losses)  # Huber, delta = 1e-3, L-BFGS from 4,500 starts
print(f"best of {result.starts} starts, summed Huber loss {result.objective:.2e}")
for key in ["E", "A", "B", "alpha", "beta", "a"]:
    print(f"{key:5s}  true {getattr(truth, key):9.4f}  fitted {getattr(result.law, key):9.4f}")
