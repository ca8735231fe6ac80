import torch

from mlatlas.attention import KVCache, MultiHeadAttention

torch.manual_seed(0)
x = torch.randn(1, 10, 64)  # one sequence of 10 tokens, model width 64

for kv_heads, name in [(8, "MHA"), (2, "GQA"), (1, "MQA")]:
    layer = MultiHeadAttention(embed_dim=64, num_heads=8, num_kv_heads=kv_heads).eval()
    with torch.no_grad():
        full = layer(x, causal=True)  # the whole sequence at once
        cache = KVCache()  # or one token at a time, keeping past keys and values
        steps = [layer(x[:, t : t + 1], causal=True, cache=cache) for t in range(10)]
    same = torch.allclose(torch.cat(steps, dim=1), full, atol=1e-6)
    params = sum(p.numel() for p in layer.parameters())
    print(f"{name}: {kv_heads} KV heads, {params:,} parameters, "
          f"cache {cache.nbytes():,} bytes, decoding == full pass: {same}")
