import torch

from mlatlas.attention import KVCache, MultiHeadAttention
from mlatlas.mla import LatentCache, MultiHeadLatentAttention

torch.manual_seed(0)
x = torch.randn(2, 12, 256, dtype=torch.float64)  # 2 sequences of 12 tokens, width 256

# DeepSeek-V2's proportions at 1/16 of the width: 8 heads of 32 (+16 RoPE), d_c = 4 d_h.
mla = MultiHeadLatentAttention(embed_dim=256, num_heads=8, head_dim=32, rope_dim=16,
                               kv_rank=128, q_rank=96).double()
with torch.no_grad():
    naive = mla(x)  # expand latents to per-head keys and values (training)
    cache = LatentCache()  # prefill 4 tokens, then decode one at a time, absorbed
    steps = [mla(x[:, :4], cache=cache, absorb=True)]
    steps += [mla(x[:, t : t + 1], cache=cache, absorb=True) for t in range(4, 12)]
decoded = torch.cat(steps, dim=1)
print("absorbed decoding == naive full pass:", torch.allclose(decoded, naive, atol=1e-10),
      f"(max difference {(decoded - naive).abs().max().item():.1e})")
print("cached latent c_KV:", tuple(cache.c_kv.shape), "| cached RoPE key k_R:", tuple(cache.k_rope.shape))

w_q_latent, w_o_latent = mla.absorbed_weights()
print("absorbed W_UQ^T W_UK per head:", tuple(w_q_latent.shape), "| W_O W_UV per head:", tuple(w_o_latent.shape))

mha = MultiHeadAttention(256, num_heads=8).double()  # same heads and width, classic cache
with torch.no_grad():
    kv = KVCache()
    mha(x, causal=True, cache=kv)
print(f"cache for 2 x 12 tokens: MLA {cache.nbytes():,} bytes, MHA {kv.nbytes():,} bytes "
      f"({cache.nbytes() / kv.nbytes():.1%})")
