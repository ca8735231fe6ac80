from mlatlas.params import model_config, model_params

for name in ["deepseek-v2", "deepseek-v3"]:
    count, published = model_params(name), model_config(name)["published"]
    print(f"{name}: {count.total / 1e9:.2f}B total (published {published['total_b']}B), "
          f"{count.active_matmul / 1e9:.2f}B active (published {published['active_b']}B)")
    print(f"  active with the input embedding table: {count.active / 1e9:.2f}B; "
          f"routed experts hold {count.breakdown['routed_experts'] / count.total:.0%} of the total")
mtp = model_params("deepseek-v3").extra["mtp"]
print(f"deepseek-v3 multi-token-prediction module, outside the 671B: {mtp / 1e9:.2f}B")
print(f"llama-3-8b: {model_params('llama-3-8b').total:,} parameters, all active")
