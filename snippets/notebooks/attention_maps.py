# %% [markdown]
# # Attention maps
#
# What do the heads of a multi-head attention layer look at? This notebook, executed
# when the site is built, draws the weights of an untrained
# `mlatlas.attention.MultiHeadAttention` on a short sequence with a causal mask, then
# the same layer with grouped-query attention, where pairs of query heads share one
# key/value head.

# %%
import matplotlib.pyplot as plt
import torch

from mlatlas.attention import MultiHeadAttention

torch.manual_seed(0)
tokens = ["the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "warm"]
x = torch.randn(1, len(tokens), 32)


def draw(layer: MultiHeadAttention, title: str) -> None:
    """Plot each head's attention weights as a heat map."""
    with torch.no_grad():
        _, weights = layer(x, causal=True, need_weights=True)
    fig, axes = plt.subplots(1, layer.num_heads, figsize=(3 * layer.num_heads, 3.2))
    for head, ax in enumerate(axes):
        ax.imshow(weights[0, head], cmap="viridis", vmin=0, vmax=1)
        kv_head = head // (layer.num_heads // layer.num_kv_heads)
        ax.set_title(f"query head {head} (KV head {kv_head})", fontsize=9)
        ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=7)
        ax.set_yticks(range(len(tokens)), tokens, fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    plt.show()


# %% [markdown]
# Four query heads, four key/value heads: every head has its own keys, so every map
# differs. The upper triangle is empty: a token never attends to a later one.

# %%
draw(MultiHeadAttention(32, num_heads=4), "multi-head attention: 4 KV heads")

# %% [markdown]
# Grouped-query attention with two key/value heads: heads 0 and 1 share keys, as do
# heads 2 and 3. Their maps still differ because each query head has its own query
# projection, yet the KV cache is half the size.

# %%
draw(MultiHeadAttention(32, num_heads=4, num_kv_heads=2), "grouped-query attention: 2 KV heads")
