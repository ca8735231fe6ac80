import torch
import torch.nn.functional as F

from mlatlas.attention import causal_mask, scaled_dot_product_attention

torch.manual_seed(0)
q, k, v = torch.randn(3, 2, 4, 5, 16).unbind(0)  # (batch, heads, tokens, head dim)

out, weights = scaled_dot_product_attention(q, k, v, mask=causal_mask(5, 5))
reference = F.scaled_dot_product_attention(q, k, v, is_causal=True)

print("output shape:", tuple(out.shape))
print("max |ours - torch|:", f"{(out - reference).abs().max().item():.1e}")
print("each row of weights sums to 1:", torch.allclose(weights.sum(-1), torch.ones(2, 4, 5)))
print("causal weights of head 0 (row = query, column = key):")
print(weights[0, 0].round(decimals=2))
