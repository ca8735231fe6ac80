"""Attention, from one equation to the layer inside every transformer.

Read this module top to bottom:

1. :func:`scaled_dot_product_attention`, the equation
   $\\operatorname{softmax}(QK^\\top/\\sqrt{d_k})\\,V$ with an optional mask;
2. :func:`causal_mask`, which stops a token from looking at the future;
3. :class:`MultiHeadAttention`, which runs several attentions side by side on learned
   projections, for self- and cross-attention, and shares key/value heads between
   query heads when ``num_kv_heads < num_heads`` (grouped-query attention; one
   shared head is multi-query attention);
4. :class:`KVCache`, which keeps past keys and values so that generating a token
   costs one new row instead of the whole sequence again;
5. :func:`kv_cache_bytes`, what that cache costs in memory for a real model.

Shapes use ``B`` batch, ``H`` heads, ``L`` query length, ``S`` key length and ``D``
head dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

# ---------------------------------------------------------------------------
# 1. Scaled dot-product attention
# ---------------------------------------------------------------------------


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    scale: float | None = None,
) -> tuple[Tensor, Tensor]:
    """Attend from queries to keys and mix the values.

    $$\\operatorname{Attention}(Q, K, V) =
    \\operatorname{softmax}\\!\\left(\\frac{QK^\\top}{\\sqrt{d_k}}\\right) V$$

    Args:
        q: Queries, shape ``(..., L, D)``.
        k: Keys, shape ``(..., S, D)``.
        v: Values, shape ``(..., S, Dv)``.
        mask: Optional boolean tensor broadcastable to ``(..., L, S)``; ``True``
            means "may attend". A query row with no allowed key gets zeros.
        scale: Factor applied to the scores; defaults to $1/\\sqrt{D}$.

    Returns:
        The output, shape ``(..., L, Dv)``, and the attention weights, shape
        ``(..., L, S)``, each row summing to one.
    """
    scale = 1.0 / math.sqrt(q.size(-1)) if scale is None else scale
    # Similarity of every query with every key: (..., L, S). Without the scale the
    # dot products grow like sqrt(D) and push the softmax into saturation.
    scores = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        # A forbidden position gets -inf, so exp(-inf) = 0 weight after softmax.
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        # A fully masked row is softmax(-inf, ..., -inf) = NaN; define it as zeros.
        weights = torch.nan_to_num(weights, nan=0.0)
    return weights @ v, weights


# ---------------------------------------------------------------------------
# 2. The causal mask
# ---------------------------------------------------------------------------


def causal_mask(query_len: int, key_len: int, device: torch.device | None = None) -> Tensor:
    """Boolean mask letting query ``i`` see keys ``0 .. i + (key_len - query_len)``.

    The last query is aligned with the last key, which is what decoding with a cache
    needs: a single new query (``query_len=1``) sees every cached key. When the
    lengths are equal this is the usual lower-triangular mask.

    Args:
        query_len: Number of queries ``L``.
        key_len: Number of keys ``S``, at least ``L``.
        device: Where to build the mask.

    Returns:
        A ``(L, S)`` boolean tensor, ``True`` where attending is allowed.
    """
    if key_len < query_len:
        raise MlatlasError(f"key_len ({key_len}) must be at least query_len ({query_len})")
    offset = key_len - query_len
    return torch.ones(query_len, key_len, dtype=torch.bool, device=device).tril(diagonal=offset)


# ---------------------------------------------------------------------------
# 3. Multi-head, grouped-query and multi-query attention
# ---------------------------------------------------------------------------


class KVCache:
    """Keys and values of the tokens seen so far, for one attention layer.

    During generation the keys and values of past tokens never change, so a layer
    computes them once, appends them here, and attends from each new token to
    everything stored. The cache holds ``num_kv_heads`` heads, not ``num_heads``:
    that is the whole memory saving of grouped-query attention.
    """

    def __init__(self) -> None:
        """Start empty."""
        self.k: Tensor | None = None
        self.v: Tensor | None = None

    def __len__(self) -> int:
        """Number of cached positions."""
        return 0 if self.k is None else self.k.size(-2)

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Add new keys and values, shape ``(B, H_kv, L, D)``, and return all of them."""
        self.k = k if self.k is None else torch.cat([self.k, k], dim=-2)
        self.v = v if self.v is None else torch.cat([self.v, v], dim=-2)
        return self.k, self.v

    def nbytes(self) -> int:
        """Memory held by the cached tensors, in bytes."""
        return sum(t.numel() * t.element_size() for t in (self.k, self.v) if t is not None)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with optional grouped-query sharing of keys and values.

    $$\\operatorname{MHA}(X, C) = \\operatorname{Concat}(\\text{head}_1, \\dots,
    \\text{head}_H)\\,W^O,\\quad \\text{head}_h = \\operatorname{Attention}(X W^Q_h,
    C W^K_{g(h)}, C W^V_{g(h)})$$

    ``C`` is ``X`` itself for self-attention and another sequence (an encoder's
    output, an image's patches) for cross-attention. ``g(h)`` maps query head ``h``
    to its key/value head: ``g(h) = h`` in classic multi-head attention (Vaswani
    et al., 2017), ``g(h) = h // (H / H_kv)`` in grouped-query attention (Ainslie
    et al., 2023) and ``g(h) = 0`` in multi-query attention (Shazeer, 2019).

    Args:
        embed_dim: Model width ``d_model``; each head has ``embed_dim // num_heads``
            dimensions.
        num_heads: Number of query heads ``H``.
        num_kv_heads: Number of key/value heads ``H_kv``; must divide ``num_heads``.
            Defaults to ``num_heads``.
        bias: Whether the four projections have a bias.
    """

    def __init__(
        self, embed_dim: int, num_heads: int, num_kv_heads: int | None = None, bias: bool = True
    ) -> None:
        super().__init__()
        num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        if embed_dim % num_heads:
            raise MlatlasError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        if num_kv_heads < 1 or num_heads % num_kv_heads:
            raise MlatlasError(f"num_kv_heads ({num_kv_heads}) must divide num_heads ({num_heads})")
        self.num_heads, self.num_kv_heads = num_heads, num_kv_heads
        self.head_dim = embed_dim // num_heads
        kv_dim = num_kv_heads * self.head_dim
        # Queries get a head each; keys and values only H_kv heads, so their
        # projections (and the cache) are H / H_kv times smaller.
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(embed_dim, kv_dim, bias=bias)
        self.v_proj = nn.Linear(embed_dim, kv_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def _split_heads(self, x: Tensor, heads: int) -> Tensor:
        """``(B, L, heads * D)`` to ``(B, heads, L, D)``."""
        b, n, _ = x.shape
        return x.view(b, n, heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        x: Tensor,
        context: Tensor | None = None,
        *,
        causal: bool = False,
        mask: Tensor | None = None,
        cache: KVCache | None = None,
        need_weights: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Attend from ``x`` to ``context`` (or to ``x`` itself).

        Args:
            x: Queries' input, shape ``(B, L, embed_dim)``.
            context: Keys' and values' input, shape ``(B, S, embed_dim)``; ``None``
                for self-attention.
            causal: Forbid attending to later positions (decoder self-attention).
            mask: Extra boolean mask broadcastable to ``(B, H, L, S)``, ``True`` =
                may attend; combined with ``causal`` by logical and.
            cache: A :class:`KVCache` to extend with this call's keys and values;
                attention then covers every cached position.
            need_weights: Also return the attention weights ``(B, H, L, S)``.

        Returns:
            The output, shape ``(B, L, embed_dim)``, and the weights if asked for.
        """
        context = x if context is None else context
        q = self._split_heads(self.q_proj(x), self.num_heads)
        k = self._split_heads(self.k_proj(context), self.num_kv_heads)
        v = self._split_heads(self.v_proj(context), self.num_kv_heads)
        if cache is not None:
            k, v = cache.append(k, v)
        # Grouped-query attention: each key/value head serves H / H_kv consecutive
        # query heads. Repeating it is the simplest correct form; fused kernels
        # index the shared head instead of copying it.
        group = self.num_heads // self.num_kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        if causal:
            allowed = causal_mask(q.size(-2), k.size(-2), device=q.device)
            mask = allowed if mask is None else mask & allowed
        out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
        # (B, H, L, D) back to (B, L, H * D), then mix the heads.
        out = self.out_proj(out.transpose(1, 2).flatten(2))
        return (out, weights) if need_weights else out

    @classmethod
    def from_torch(cls, module: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention`` into a new layer.

        PyTorch stores the three input projections stacked in one
        ``in_proj_weight`` of shape ``(3 * embed_dim, embed_dim)``: queries, then
        keys, then values.

        Args:
            module: A ``batch_first`` module with ``kdim == vdim == embed_dim`` and
                without ``add_bias_kv`` or ``add_zero_attn``.

        Returns:
            A :class:`MultiHeadAttention` computing the same function.
        """
        unsupported = {
            "kdim == vdim == embed_dim": module._qkv_same_embed_dim,
            "batch_first=True": module.batch_first,
            "add_bias_kv=False": module.bias_k is None,
            "add_zero_attn=False": not module.add_zero_attn,
        }
        missing = [option for option, holds in unsupported.items() if not holds]
        if missing:
            raise MlatlasError(f"from_torch needs an nn.MultiheadAttention with {', '.join(missing)}")
        has_bias = module.in_proj_bias is not None
        layer = cls(module.embed_dim, module.num_heads, bias=has_bias).to(module.in_proj_weight.dtype)
        projections = (layer.q_proj, layer.k_proj, layer.v_proj)
        with torch.no_grad():
            for proj, w in zip(projections, module.in_proj_weight.chunk(3), strict=True):
                proj.weight.copy_(w)
            layer.out_proj.weight.copy_(module.out_proj.weight)
            if has_bias:
                for proj, b in zip(projections, module.in_proj_bias.chunk(3), strict=True):
                    proj.bias.copy_(b)
                layer.out_proj.bias.copy_(module.out_proj.bias)
        return layer


# ---------------------------------------------------------------------------
# 4. What the KV cache costs
# ---------------------------------------------------------------------------

BYTES_PER_ELEMENT = {"fp32": 4, "fp16": 2, "bf16": 2, "fp8": 1}
"""Storage size of one cached number for the dtypes a KV cache is kept in."""


@dataclass(frozen=True)
class AttentionShape:
    """The attention geometry of a model, as its ``config.json`` states it.

    Attributes:
        name: Short model name, for example ``"llama-3-8b"``.
        num_layers: Transformer blocks, each with its own cache.
        num_heads: Query heads per layer.
        num_kv_heads: Key/value heads per layer (equal to ``num_heads`` for MHA).
        head_dim: Dimensions per head.
        source: The configuration file the figures come from.
    """

    name: str
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    source: str

    @property
    def kind(self) -> str:
        """``"MHA"``, ``"GQA"`` or ``"MQA"``, from the head counts."""
        if self.num_kv_heads == self.num_heads:
            return "MHA"
        return "MQA" if self.num_kv_heads == 1 else "GQA"


def model_shapes() -> dict[str, AttentionShape]:
    """The attention shapes of the open models in ``mlatlas/data/model_configs.yaml``.

    Returns:
        A mapping from model name to its :class:`AttentionShape`.
    """
    return {
        row["name"]: AttentionShape(
            name=row["name"],
            num_layers=row["num_hidden_layers"],
            num_heads=row["num_attention_heads"],
            num_kv_heads=row["num_key_value_heads"],
            head_dim=row["hidden_size"] // row["num_attention_heads"],
            source=row["source"],
        )
        for row in load_rows("model_configs")
    }


def model_shape(name: str) -> AttentionShape:
    """Look up one model's attention shape by name.

    Raises:
        MlatlasError: If the name is unknown; the message lists the known ones.
    """
    shapes = model_shapes()
    if name not in shapes:
        raise MlatlasError(f"unknown model {name!r}; known: {', '.join(shapes)}")
    return shapes[name]


def kv_cache_bytes(
    shape: AttentionShape, seq_len: int, batch_size: int = 1, dtype: str = "bf16"
) -> int:
    """Bytes a model's KV cache needs for ``batch_size`` sequences of ``seq_len`` tokens.

    $$\\text{bytes} = 2 \\cdot n_\\text{layers} \\cdot H_\\text{kv} \\cdot d_\\text{head}
    \\cdot \\text{seq\\_len} \\cdot \\text{batch} \\cdot \\text{bytes per element}$$

    The leading 2 counts keys and values. Query heads do not appear: only the
    key/value heads are cached, which is why GQA and MQA shrink the cache.

    Args:
        shape: The model's attention shape (see :func:`model_shape`).
        seq_len: Tokens per sequence, prompt plus generated.
        batch_size: Sequences held at once.
        dtype: One of ``fp32``, ``fp16``, ``bf16``, ``fp8``.

    Returns:
        The cache size in bytes.
    """
    return cache_bytes(2 * shape.num_layers * shape.num_kv_heads * shape.head_dim, seq_len, batch_size, dtype)


def cache_bytes(elements_per_token: int, seq_len: int, batch_size: int = 1, dtype: str = "bf16") -> int:
    """Bytes of any inference cache that stores ``elements_per_token`` numbers per token.

    The one place where tokens, batch and dtype turn a per-token element count into
    bytes, shared by :func:`kv_cache_bytes` and MLA's latent cache.

    Raises:
        MlatlasError: If ``seq_len`` or ``batch_size`` is not positive or ``dtype`` is
            unknown.
    """
    if seq_len < 1 or batch_size < 1:
        raise MlatlasError(f"seq_len and batch_size must be positive, got {seq_len} and {batch_size}")
    if dtype not in BYTES_PER_ELEMENT:
        raise MlatlasError(f"unknown dtype {dtype!r}; choose from {', '.join(BYTES_PER_ELEMENT)}")
    return elements_per_token * seq_len * batch_size * BYTES_PER_ELEMENT[dtype]
