from mlatlas.mla import model_cache_bytes
from mlatlas.params import flops_per_token, model_params

print("| model | attention | total params | active params | forward GFLOPs/token | KV cache/token (bf16) |")
print("|---|---|--:|--:|--:|--:|")
for name, attention in [("llama-3-8b", "GQA, 8 KV heads"), ("llama-3-70b", "GQA, 8 KV heads"),
                        ("deepseek-llm-67b", "GQA, 8 KV heads"), ("deepseek-v2", "MLA"), ("deepseek-v3", "MLA")]:
    count = model_params(name)
    print(f"| {name} | {attention} | {count.total / 1e9:.1f}B | {count.active_matmul / 1e9:.1f}B "
          f"| {flops_per_token(count) / 1e9:.0f} | {model_cache_bytes(name) / 1024:.1f} KiB |")
