from mlatlas.attention import kv_cache_bytes, model_shape
from mlatlas.mla import latent_cache_bytes, mla_shape

dense = model_shape("deepseek-llm-67b")  # GQA: 95 layers, 8 KV heads of 128
mla = mla_shape("deepseek-v2")
dense_elements = kv_cache_bytes(dense, seq_len=1, dtype="fp8")  # one byte per element: a count
mla_elements = latent_cache_bytes(mla, seq_len=1, dtype="fp8")
print(f"elements per token: DeepSeek 67B {dense_elements:,}, DeepSeek-V2 {mla_elements:,}")
print(f"reduction, both in 16 bits:               {1 - mla_elements / dense_elements:.1%}")
print(f"reduction, DeepSeek-V2 at 6 bits/element: {1 - mla_elements * 6 / (dense_elements * 16):.1%}")
