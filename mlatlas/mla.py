"""Multi-head latent attention (MLA): DeepSeek-V2's small KV cache.

Multi-head attention caches a key and a value per head per token. MLA (DeepSeek-V2,
arXiv:2405.04434, section 2.1) caches one small **latent** vector per token instead,
from which every head's keys and values are re-created by up-projections, plus one
small key that carries the position. At inference the up-projections can be folded
into the query and output projections ("weight absorption"), so attention runs
directly against the cached latents.

Read this module top to bottom:

1. :func:`apply_rope`, the rotary position embedding the decoupled keys need;
2. :class:`LatentCache`, all that MLA keeps per token: $c^{KV}_t$ and $k^R_t$;
3. :class:`MultiHeadLatentAttention`, the layer, with its naive path (expand the
   latents to keys and values) and its absorbed path (attend in latent space);
4. :class:`MLAShape`, :func:`latent_cache_bytes` and :func:`cache_comparison`: what
   the cache costs next to MHA, GQA and MQA for a real model.

Notation follows the paper: $d$ model width, $n_h$ heads, $d_h$ per-head width,
$d_c$ the KV latent ($d_c \\ll n_h d_h$), $d_c'$ the query latent, $d_h^R$ the
decoupled RoPE width. Shapes use ``B`` batch, ``H`` heads, ``L`` new tokens, ``S``
all tokens (cached and new).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mlatlas.attention import (
    AttentionShape,
    cache_bytes,
    causal_mask,
    kv_cache_bytes,
    model_shape,
    scaled_dot_product_attention,
)
from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

# ---------------------------------------------------------------------------
# 1. Rotary position embedding
# ---------------------------------------------------------------------------


def apply_rope(x: Tensor, positions: Tensor, base: float = 10000.0) -> Tensor:
    """Rotate pairs of features by an angle proportional to the position (RoPE).

    Feature pair $(x_i, x_{i + D/2})$ at position $p$ is rotated by
    $p\\,\\theta_i$ with $\\theta_i = \\text{base}^{-2i/D}$ (Su et al., 2021), in the
    "rotate half" layout that Llama and ``transformers`` use. The dot product of a
    rotated query and a rotated key then depends only on their distance.

    Args:
        x: Tensor of shape ``(..., L, D)`` with ``D`` even.
        positions: Integer positions, shape ``(L,)``.
        base: The frequency base.

    Returns:
        The rotated tensor, same shape and dtype as ``x``.
    """
    dim = x.size(-1)
    if dim % 2:
        raise MlatlasError(f"RoPE needs an even feature count, got {dim}")
    inv_freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=x.device) / dim)
    angles = positions.to(torch.float64)[:, None] * inv_freq[None, :]  # (L, D/2)
    angles = torch.cat([angles, angles], dim=-1)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    first, second = x[..., : dim // 2], x[..., dim // 2 :]
    rotated_half = torch.cat([-second, first], dim=-1)
    return x * cos + rotated_half * sin


# ---------------------------------------------------------------------------
# 2. The latent cache
# ---------------------------------------------------------------------------


class LatentCache:
    """What one MLA layer keeps per past token: the KV latent and the RoPE key.

    Shapes are ``(B, T, d_c)`` for ``c_kv`` and ``(B, T, d_h^R)`` for ``k_rope``:
    no head dimension at all. Multi-head attention would keep
    ``2 x n_h x d_h`` numbers per token; MLA keeps ``d_c + d_h^R``.
    """

    def __init__(self) -> None:
        """Start empty."""
        self.c_kv: Tensor | None = None
        self.k_rope: Tensor | None = None

    def __len__(self) -> int:
        """Number of cached positions."""
        return 0 if self.c_kv is None else self.c_kv.size(1)

    def append(self, c_kv: Tensor, k_rope: Tensor) -> tuple[Tensor, Tensor]:
        """Add the latents ``(B, L, d_c)`` and RoPE keys ``(B, L, d_h^R)`` of new tokens; return all."""
        self.c_kv = c_kv if self.c_kv is None else torch.cat([self.c_kv, c_kv], dim=1)
        self.k_rope = k_rope if self.k_rope is None else torch.cat([self.k_rope, k_rope], dim=1)
        return self.c_kv, self.k_rope

    def nbytes(self) -> int:
        """Memory held by the cached tensors, in bytes."""
        return sum(t.numel() * t.element_size() for t in (self.c_kv, self.k_rope) if t is not None)


# ---------------------------------------------------------------------------
# 3. The layer
# ---------------------------------------------------------------------------


class MultiHeadLatentAttention(nn.Module):
    """Causal self-attention with low-rank joint KV compression and decoupled RoPE.

    For token $t$ with hidden state $h_t$ (DeepSeek-V2, sections 2.1.2 and 2.1.3):

    $$c^{KV}_t = W^{DKV} h_t,\\qquad k^C_t = W^{UK} c^{KV}_t,\\qquad v^C_t = W^{UV} c^{KV}_t$$

    $$c^{Q}_t = W^{DQ} h_t,\\qquad q^C_t = W^{UQ} c^{Q}_t$$

    $$q^R_t = \\operatorname{RoPE}(W^{QR} c^Q_t),\\qquad k^R_t = \\operatorname{RoPE}(W^{KR} h_t)$$

    $$q_{t,i} = [q^C_{t,i}; q^R_{t,i}],\\qquad k_{t,i} = [k^C_{t,i}; k^R_t],\\qquad
    o_{t,i} = \\sum_{j \\le t} \\operatorname{softmax}_j\\!\\left(
    \\frac{q_{t,i}^\\top k_{j,i}}{\\sqrt{d_h + d_h^R}}\\right) v^C_{j,i}$$

    and $u_t = W^O [o_{t,1}; \\dots; o_{t,n_h}]$. Only $c^{KV}_t$ and $k^R_t$
    are cached. The RoPE key $k^R_t$ is one vector shared by all heads; RoPE needs
    its own small key because a rotation that depends on the position cannot be
    folded into $W^{UK}$ (the absorbed path below relies on that folding).

    As in DeepSeek-V2's released model, the two latents pass through an RMSNorm
    before their up-projections (section 3.1.2 of the paper). No projection has a
    bias.

    Args:
        embed_dim: Model width $d$.
        num_heads: Number of heads $n_h$.
        head_dim: Per-head query/key width $d_h$ (without the RoPE part).
        rope_dim: Decoupled RoPE width $d_h^R$, even.
        kv_rank: KV latent width $d_c$.
        q_rank: Query latent width $d_c'$; ``None`` projects queries straight from
            $h_t$ (as DeepSeek-V2-Lite does).
        v_head_dim: Per-head value width; defaults to ``head_dim``.
        rope_base: RoPE frequency base.
        eps: The RMSNorms' epsilon.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        head_dim: int,
        rope_dim: int,
        kv_rank: int,
        q_rank: int | None = None,
        v_head_dim: int | None = None,
        rope_base: float = 10000.0,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        if rope_dim % 2:
            raise MlatlasError(f"rope_dim must be even for RoPE, got {rope_dim}")
        self.num_heads, self.head_dim, self.rope_dim = num_heads, head_dim, rope_dim
        self.kv_rank, self.q_rank = kv_rank, q_rank
        self.v_head_dim = head_dim if v_head_dim is None else v_head_dim
        self.rope_base = rope_base
        h = num_heads
        # Queries: h -> c^Q (d_c') -> content part q^C and RoPE part q^R, per head.
        q_in = embed_dim if q_rank is None else q_rank
        self.w_dq = None if q_rank is None else nn.Linear(embed_dim, q_rank, bias=False)
        self.q_norm = None if q_rank is None else nn.RMSNorm(q_rank, eps=eps)
        self.w_uq = nn.Linear(q_in, h * head_dim, bias=False)
        self.w_qr = nn.Linear(q_in, h * rope_dim, bias=False)
        # Keys and values: h -> c^KV (d_c), the only thing cached with k^R ...
        self.w_dkv = nn.Linear(embed_dim, kv_rank, bias=False)
        self.kv_norm = nn.RMSNorm(kv_rank, eps=eps)
        self.w_kr = nn.Linear(embed_dim, rope_dim, bias=False)
        # ... and re-created per head from it.
        self.w_uk = nn.Linear(kv_rank, h * head_dim, bias=False)
        self.w_uv = nn.Linear(kv_rank, h * self.v_head_dim, bias=False)
        self.w_o = nn.Linear(h * self.v_head_dim, embed_dim, bias=False)

    @property
    def scale(self) -> float:
        """The softmax temperature $1/\\sqrt{d_h + d_h^R}$: keys have both parts."""
        return 1.0 / math.sqrt(self.head_dim + self.rope_dim)

    def _queries(self, x: Tensor, positions: Tensor) -> tuple[Tensor, Tensor]:
        """The query latent $c^Q$ ``(B, L, d_c')`` and the rotated $q^R$ ``(B, H, L, d_h^R)``."""
        b, n, _ = x.shape
        c_q = x if self.w_dq is None else self.q_norm(self.w_dq(x))
        q_rope = self.w_qr(c_q).view(b, n, self.num_heads, self.rope_dim).transpose(1, 2)
        return c_q, apply_rope(q_rope, positions, self.rope_base)

    def _latents(self, x: Tensor, positions: Tensor) -> tuple[Tensor, Tensor]:
        """The new tokens' $c^{KV}$ ``(B, L, d_c)`` and rotated shared $k^R$ ``(B, L, d_h^R)``."""
        return self.kv_norm(self.w_dkv(x)), apply_rope(self.w_kr(x), positions, self.rope_base)

    def forward(self, x: Tensor, *, cache: LatentCache | None = None, absorb: bool = False) -> Tensor:
        """Causal self-attention over the cached tokens and ``x``.

        Args:
            x: Hidden states of the new tokens, shape ``(B, L, embed_dim)``; their
                positions follow the cached ones.
            cache: A :class:`LatentCache` to extend with the new tokens' latents;
                attention then covers every cached position.
            absorb: Use the absorbed path (:meth:`absorbed_weights`) instead of
                expanding the latents into per-head keys and values. Both compute
                the same function.

        Returns:
            The output, shape ``(B, L, embed_dim)``.
        """
        start = 0 if cache is None else len(cache)
        positions = torch.arange(start, start + x.size(1), device=x.device)
        c_q, q_rope = self._queries(x, positions)
        c_kv, k_rope = self._latents(x, positions)
        if cache is not None:
            c_kv, k_rope = cache.append(c_kv, k_rope)
        mask = causal_mask(x.size(1), c_kv.size(1), device=x.device)
        if absorb:
            return self._absorbed(c_q, q_rope, c_kv, k_rope, mask)
        return self._naive(c_q, q_rope, c_kv, k_rope, mask)

    def _naive(self, c_q: Tensor, q_rope: Tensor, c_kv: Tensor, k_rope: Tensor, mask: Tensor) -> Tensor:
        """Expand every cached latent into per-head keys and values, then attend (training path)."""
        b, n, _ = c_q.shape
        s, h = c_kv.size(1), self.num_heads
        q_c = self.w_uq(c_q).view(b, n, h, self.head_dim).transpose(1, 2)
        k_c = self.w_uk(c_kv).view(b, s, h, self.head_dim).transpose(1, 2)
        v_c = self.w_uv(c_kv).view(b, s, h, self.v_head_dim).transpose(1, 2)
        q = torch.cat([q_c, q_rope], dim=-1)
        # The RoPE key is one vector per token, the same for every head.
        k = torch.cat([k_c, k_rope[:, None].expand(b, h, s, self.rope_dim)], dim=-1)
        out, _ = scaled_dot_product_attention(q, k, v_c, mask=mask, scale=self.scale)
        return self.w_o(out.transpose(1, 2).flatten(2))

    def absorbed_weights(self) -> tuple[Tensor, Tensor]:
        """Fold $W^{UK}$ into the query and $W^{UV}$ into the output projection.

        The content score of head $i$ is
        $q^{C\\top}_{t,i} k^C_{j,i} = (W^{UQ}_i c^Q_t)^\\top (W^{UK}_i c^{KV}_j)
        = c^{Q\\top}_t \\big(W^{UQ\\top}_i W^{UK}_i\\big)\\, c^{KV}_j$, and the
        output of head $i$ reaches $u_t$ as $W^O_i W^{UV}_i \\sum_j p_{j} c^{KV}_j$.
        So two per-head products can be precomputed once after training and the
        per-head keys and values never exist.

        Returns:
            ``w_q_latent`` of shape ``(H, d_c', d_c)`` ($W^{UQ\\top}_i W^{UK}_i$),
            mapping the query latent to a query in KV-latent space, and
            ``w_o_latent`` of shape ``(H, d, d_c)`` ($W^O_i W^{UV}_i$), mapping a
            head's attention-weighted latent to the output.
        """
        h = self.num_heads
        w_uq = self.w_uq.weight.view(h, self.head_dim, -1)  # (H, d_h, d_c')
        w_uk = self.w_uk.weight.view(h, self.head_dim, self.kv_rank)  # (H, d_h, d_c)
        w_uv = self.w_uv.weight.view(h, self.v_head_dim, self.kv_rank)  # (H, d_v, d_c)
        w_o = self.w_o.weight.view(-1, h, self.v_head_dim)  # (d, H, d_v)
        w_q_latent = torch.einsum("hnq,hnc->hqc", w_uq, w_uk)
        w_o_latent = torch.einsum("dhv,hvc->hdc", w_o, w_uv)
        return w_q_latent, w_o_latent

    def _absorbed(self, c_q: Tensor, q_rope: Tensor, c_kv: Tensor, k_rope: Tensor, mask: Tensor) -> Tensor:
        """Attend directly against the cached latents (inference path).

        Every head's query lives in the same $(d_c + d_h^R)$-dimensional space as
        the cached $[c^{KV}_j; k^R_j]$, so the cache acts as one key/value head
        shared by all query heads: multi-query attention in latent space.
        """
        w_q_latent, w_o_latent = self.absorbed_weights()
        q_latent = torch.einsum("blq,hqc->bhlc", c_q, w_q_latent)  # (B, H, L, d_c)
        q = torch.cat([q_latent, q_rope], dim=-1)  # (B, H, L, d_c + d_h^R)
        k = torch.cat([c_kv, k_rope], dim=-1)[:, None]  # (B, 1, S, d_c + d_h^R)
        out_latent, _ = scaled_dot_product_attention(q, k, c_kv[:, None], mask=mask, scale=self.scale)
        return torch.einsum("bhlc,hdc->bld", out_latent, w_o_latent)


# ---------------------------------------------------------------------------
# 4. What the cache costs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MLAShape:
    """The attention geometry of an MLA model, from its ``config.json``.

    Attributes:
        name: Short model name, for example ``"deepseek-v2"``.
        num_layers: Transformer blocks, each with its own cache.
        num_heads: Query heads $n_h$ (``num_attention_heads``).
        head_dim: Per-head query/key width without RoPE, $d_h$ (``qk_nope_head_dim``).
        rope_dim: Decoupled RoPE width $d_h^R$ (``qk_rope_head_dim``).
        kv_rank: KV latent width $d_c$ (``kv_lora_rank``).
        source: The configuration file the figures come from.
    """

    name: str
    num_layers: int
    num_heads: int
    head_dim: int
    rope_dim: int
    kv_rank: int
    source: str

    @property
    def elements_per_token_per_layer(self) -> int:
        """Numbers cached per token per layer: $d_c + d_h^R$."""
        return self.kv_rank + self.rope_dim


def mla_shape(name: str) -> MLAShape:
    """Look up an MLA model's shape in ``mlatlas/data/mla_moe_configs.yaml``.

    Raises:
        MlatlasError: If the name is unknown; the message lists the known ones.
    """
    rows = {row["name"]: row for row in load_rows("mla_moe_configs")}
    if name not in rows:
        raise MlatlasError(f"unknown MLA model {name!r}; known: {', '.join(rows)}")
    row = rows[name]
    return MLAShape(
        name=name,
        num_layers=row["num_hidden_layers"],
        num_heads=row["num_attention_heads"],
        head_dim=row["qk_nope_head_dim"],
        rope_dim=row["qk_rope_head_dim"],
        kv_rank=row["kv_lora_rank"],
        source=row["source"],
    )


def latent_cache_bytes(shape: MLAShape, seq_len: int, batch_size: int = 1, dtype: str = "bf16") -> int:
    """Bytes an MLA model's cache needs for ``batch_size`` sequences of ``seq_len`` tokens.

    $$\\text{bytes} = n_\\text{layers} \\cdot (d_c + d_h^R) \\cdot \\text{seq\\_len}
    \\cdot \\text{batch} \\cdot \\text{bytes per element}$$

    No factor 2 and no head count: keys and values both come from the one latent.

    Args:
        shape: The model's shape (see :func:`mla_shape`).
        seq_len: Tokens per sequence.
        batch_size: Sequences held at once.
        dtype: One of ``fp32``, ``fp16``, ``bf16``, ``fp8``.

    Returns:
        The cache size in bytes.
    """
    return cache_bytes(shape.num_layers * shape.elements_per_token_per_layer, seq_len, batch_size, dtype)


@dataclass(frozen=True)
class CacheRow:
    """The KV cache of one attention variant, per token.

    Attributes:
        variant: ``"MHA"``, ``"GQA-<groups>"``, ``"MQA"`` or ``"MLA"``.
        elements_per_layer: Cached numbers per token per layer (the paper's Table 1
            without the factor $l$).
        bytes_per_token: Over all layers, at the requested dtype.
        fraction_of_mha: ``bytes_per_token`` over the same-shape MHA's.
    """

    variant: str
    elements_per_layer: int
    bytes_per_token: int
    fraction_of_mha: float


def cache_comparison(shape: MLAShape, num_groups: int = 8, dtype: str = "bf16") -> list[CacheRow]:
    """KV cache per token of MHA, GQA, MQA and MLA at the same depth, heads and head width.

    The first three are what :func:`mlatlas.attention.kv_cache_bytes` gives for an
    attention of $n_h$ heads of width $d_h$ with $n_h$, ``num_groups`` and one
    key/value heads; the last is :func:`latent_cache_bytes`. Per layer these are
    DeepSeek-V2's Table 1: $2 n_h d_h$, $2 n_g d_h$, $2 d_h$ and $d_c + d_h^R$.

    Args:
        shape: The MLA model whose depth and head geometry all four share.
        num_groups: Key/value heads $n_g$ of the GQA row; must divide $n_h$.
        dtype: Cache dtype.

    Returns:
        One row per variant, MHA first.
    """
    if num_groups < 1 or shape.num_heads % num_groups:
        raise MlatlasError(f"num_groups ({num_groups}) must divide num_heads ({shape.num_heads})")
    rows = []
    for variant, kv_heads in [("MHA", shape.num_heads), (f"GQA-{num_groups}", num_groups), ("MQA", 1)]:
        twin = AttentionShape(shape.name, shape.num_layers, shape.num_heads, kv_heads, shape.head_dim, shape.source)
        rows.append((variant, 2 * kv_heads * shape.head_dim, kv_cache_bytes(twin, 1, 1, dtype)))
    rows.append(("MLA", shape.elements_per_token_per_layer, latent_cache_bytes(shape, 1, 1, dtype)))
    mha_bytes = rows[0][2]
    return [CacheRow(v, e, b, b / mha_bytes) for v, e, b in rows]


def model_cache_bytes(name: str, seq_len: int = 1, batch_size: int = 1, dtype: str = "bf16") -> int:
    """KV-cache bytes of any model shipped in ``mlatlas/data``, MLA or not.

    An MLA model (``mlatlas/data/mla_moe_configs.yaml``) is sized with
    :func:`latent_cache_bytes`; any other (``mlatlas/data/model_configs.yaml``) with
    :func:`mlatlas.attention.kv_cache_bytes`.

    Example:
        >>> model_cache_bytes("deepseek-v2"), model_cache_bytes("llama-3-8b")  # bf16, one token
        (69120, 131072)
    """
    if name in {row["name"] for row in load_rows("mla_moe_configs")}:
        return latent_cache_bytes(mla_shape(name), seq_len, batch_size, dtype)
    return kv_cache_bytes(model_shape(name), seq_len, batch_size, dtype)
