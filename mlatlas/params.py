"""Counting a model's parameters from its ``config.json``: total and active.

A dense transformer uses every weight for every token. A mixture-of-experts model
does not: each token passes through only the ``k`` routed experts its router picks
(plus the always-on shared experts), so two numbers describe it, the **total**
parameters it stores and the **active** parameters one token touches. The second sets
the compute per token, the first sets the memory.

Read this module top to bottom:

1. the pieces of a block, each a small formula: :func:`gqa_attention_params`,
   :func:`mla_attention_params`, :func:`swiglu_params`, :func:`moe_params`;
2. :func:`count_parameters`, which assembles them for a dense (Llama-style) or a
   DeepSeek (MLA + DeepSeekMoE) configuration into a :class:`ParamCount`;
3. :func:`model_config` and :func:`model_params`, which read the configurations in
   ``mlatlas/data/model_configs.yaml`` and ``mlatlas/data/mla_moe_configs.yaml``;
4. :func:`flops_per_token`, the usual ``2 x active parameters`` estimate.

Every formula counts weight matrices as ``inputs x outputs`` and norms as one
weight per channel; none of these models has biases in its projections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

# ---------------------------------------------------------------------------
# 1. The pieces of a transformer block
# ---------------------------------------------------------------------------


def gqa_attention_params(hidden_size: int, num_heads: int, num_kv_heads: int, head_dim: int) -> int:
    """Weights of a multi-head / grouped-query / multi-query attention layer.

    $$d\\,(n_h d_h) + 2\\,d\\,(n_\\text{kv} d_h) + (n_h d_h)\\,d$$

    for the query, key and value projections and the output projection.

    Example:
        >>> gqa_attention_params(4096, 32, 8, 128)  # one Llama 3 8B layer
        41943040
    """
    return hidden_size * num_heads * head_dim * 2 + 2 * hidden_size * num_kv_heads * head_dim


def mla_attention_params(
    hidden_size: int,
    num_heads: int,
    qk_nope_head_dim: int,
    qk_rope_head_dim: int,
    v_head_dim: int,
    kv_lora_rank: int,
    q_lora_rank: int | None,
) -> int:
    """Weights of a multi-head latent attention layer (DeepSeek-V2, section 2.1).

    With $d$ the model width, $n_h$ heads, $d_h$ the per-head query/key width,
    $d_h^R$ the decoupled RoPE width, $d_v$ the value width, $d_c$ the KV latent and
    $d_c'$ the query latent:

    - queries: $d\\,d_c' + d_c' + d_c'\\,n_h (d_h + d_h^R)$ (down-projection, its
      RMSNorm, up-projection to the content and RoPE parts), or
      $d\\,n_h(d_h + d_h^R)$ without query compression;
    - keys and values: $d\\,(d_c + d_h^R) + d_c + d_c\\,n_h(d_h + d_v)$
      (down-projection to the latent and the shared RoPE key, the latent's RMSNorm,
      up-projection to per-head keys and values);
    - output: $n_h d_v\\,d$.

    Example:
        >>> mla_attention_params(5120, 128, 128, 64, 128, 512, 1536)  # one DeepSeek-V2 layer
        149227520
    """
    qk_head_dim = qk_nope_head_dim + qk_rope_head_dim
    if q_lora_rank is None:
        queries = hidden_size * num_heads * qk_head_dim
    else:
        queries = hidden_size * q_lora_rank + q_lora_rank + q_lora_rank * num_heads * qk_head_dim
    keys_values = (
        hidden_size * (kv_lora_rank + qk_rope_head_dim)
        + kv_lora_rank
        + kv_lora_rank * num_heads * (qk_nope_head_dim + v_head_dim)
    )
    output = num_heads * v_head_dim * hidden_size
    return queries + keys_values + output


def swiglu_params(hidden_size: int, intermediate_size: int) -> int:
    """Weights of a SwiGLU feed-forward network: gate, up and down projections, $3\\,d\\,d_\\text{ff}$.

    Example:
        >>> swiglu_params(4096, 14336)
        176160768
    """
    return 3 * hidden_size * intermediate_size


@dataclass(frozen=True)
class MoEParams:
    """The parameters of one mixture-of-experts feed-forward layer.

    Attributes:
        routed: All routed experts together.
        routed_active: The ``k`` routed experts one token goes through.
        shared: The shared experts, used by every token.
        router: The router's weights (one vector per routed expert), plus the
            per-expert selection bias when the model has one.
    """

    routed: int
    routed_active: int
    shared: int
    router: int

    @property
    def total(self) -> int:
        """Everything the layer stores."""
        return self.routed + self.shared + self.router

    @property
    def active(self) -> int:
        """What one token uses: ``k`` routed experts, the shared experts and the router."""
        return self.routed_active + self.shared + self.router


def moe_params(
    hidden_size: int,
    expert_size: int,
    num_routed: int,
    num_shared: int,
    top_k: int,
    router_bias: bool = False,
) -> MoEParams:
    """Parameters of a DeepSeekMoE layer of SwiGLU experts (DeepSeekMoE, arXiv:2401.06066).

    Args:
        hidden_size: Model width $d$.
        expert_size: Hidden width of one expert.
        num_routed: Routed experts $N_r$.
        num_shared: Shared experts $N_s$.
        top_k: Routed experts per token $K_r$.
        router_bias: Whether the router stores a selection bias per expert
            (DeepSeek-V3's auxiliary-loss-free balancing).

    Example:
        >>> moe_params(5120, 1536, 160, 2, 6).active  # one DeepSeek-V2 MoE layer
        189562880
    """
    expert = swiglu_params(hidden_size, expert_size)
    router = num_routed * hidden_size + (num_routed if router_bias else 0)
    return MoEParams(
        routed=num_routed * expert, routed_active=top_k * expert, shared=num_shared * expert, router=router
    )


# ---------------------------------------------------------------------------
# 2. A whole model
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamCount:
    """Total and active parameters of a model, and where they sit.

    ``active`` counts what one token touches: every weight except the routed experts
    its router did not pick. It includes the input embedding table whole, although a
    token only reads one row of it; ``active_matmul`` leaves that table out, so it
    counts the weights a token is *multiplied* by, the basis of the FLOP estimate
    (:func:`flops_per_token`).

    Attributes:
        name: Model name.
        total: Parameters stored by the main model.
        active: Parameters used for one token, embedding table included.
        embedding: The input embedding table, ``vocab_size x hidden_size``.
        breakdown: Total parameters by component (``embedding``, ``attention``,
            ``dense_ffn``, ``routed_experts``, ``shared_experts``, ``router``,
            ``norms``, ``lm_head``).
        extra: Parameters shipped with the checkpoint but not part of the model
            counted above (DeepSeek-V3's multi-token-prediction module), by name.
    """

    name: str
    total: int
    active: int
    embedding: int
    breakdown: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def active_matmul(self) -> int:
        """Active parameters without the input embedding table (a row lookup, not a matmul)."""
        return self.active - self.embedding

    @property
    def is_moe(self) -> bool:
        """Whether some parameters are inactive for a token."""
        return self.active < self.total


_DENSE_FIELDS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size")
_MLA_FIELDS = ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")


def _require(config: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    missing = [f for f in fields if f not in config]
    if missing:
        name = config.get("name", "the configuration")
        raise MlatlasError(f"{name} lacks {', '.join(missing)}, which counting parameters needs")


def count_parameters(config: Mapping[str, Any]) -> ParamCount:
    """Count a model's parameters from the fields of its ``config.json``.

    Two families are understood, told apart by the fields present:

    - **dense, Llama-style**: grouped-query attention (``num_key_value_heads``),
      a SwiGLU feed-forward network of width ``intermediate_size`` in every layer;
    - **DeepSeek-V2/V3**: multi-head latent attention (``kv_lora_rank`` and the
      head widths), dense SwiGLU layers for the first ``first_k_dense_replace``
      layers, then DeepSeekMoE layers of ``n_routed_experts`` experts of width
      ``moe_intermediate_size``, ``num_experts_per_tok`` of them per token, and
      ``n_shared_experts`` shared ones. ``topk_method: noaux_tc`` adds DeepSeek-V3's
      per-expert selection bias to each router.

    Each block also has two RMSNorms (before attention and before the feed-forward
    network), and the model a final norm, an embedding table and an output head
    (the same matrix when ``tie_word_embeddings`` is true).

    Args:
        config: A mapping with the model's ``config.json`` fields, such as a row of
            :func:`model_config`.

    Returns:
        The count. For a DeepSeek config with ``num_nextn_predict_layers``, the
        multi-token-prediction module is reported in ``extra["mtp"]`` and left out of
        ``total``: DeepSeek-V3's 671B excludes it.

    Raises:
        MlatlasError: If a field the formula needs is missing.
    """
    _require(config, _DENSE_FIELDS)
    d = config["hidden_size"]
    layers = config["num_hidden_layers"]
    heads = config["num_attention_heads"]
    vocab = config["vocab_size"]
    norms_per_layer = 2 * d

    if all(f in config for f in _MLA_FIELDS):
        attention = mla_attention_params(
            d, heads, config["qk_nope_head_dim"], config["qk_rope_head_dim"], config["v_head_dim"],
            config["kv_lora_rank"], config.get("q_lora_rank"),
        )  # fmt: skip
    else:
        _require(config, ("num_key_value_heads",))
        head_dim = config.get("head_dim") or d // heads
        attention = gqa_attention_params(d, heads, config["num_key_value_heads"], head_dim)

    # Which layers are MoE: DeepSeek's rule (and transformers'): layer i is MoE when
    # n_routed_experts is set, i >= first_k_dense_replace and i % moe_layer_freq == 0.
    dense_ffn = swiglu_params(d, config["intermediate_size"])
    if config.get("n_routed_experts"):
        first_moe = config.get("first_k_dense_replace", 0)
        freq = config.get("moe_layer_freq", 1)
        moe_layers = sum(1 for i in range(layers) if i >= first_moe and i % freq == 0)
        moe = moe_params(
            d, config["moe_intermediate_size"], config["n_routed_experts"], config.get("n_shared_experts") or 0,
            config["num_experts_per_tok"], router_bias=config.get("topk_method") == "noaux_tc",
        )  # fmt: skip
    else:
        moe_layers, moe = 0, moe_params(d, 0, 0, 0, 0)
    dense_layers = layers - moe_layers

    embedding = vocab * d
    lm_head = 0 if config.get("tie_word_embeddings", False) else vocab * d
    breakdown = {
        "embedding": embedding,
        "attention": layers * attention,
        "dense_ffn": dense_layers * dense_ffn,
        "routed_experts": moe_layers * moe.routed,
        "shared_experts": moe_layers * moe.shared,
        "router": moe_layers * moe.router,
        "norms": layers * norms_per_layer + d,
        "lm_head": lm_head,
    }
    total = sum(breakdown.values())
    inactive = moe_layers * (moe.routed - moe.routed_active)

    extra = {}
    mtp_modules = config.get("num_nextn_predict_layers") or 0
    if mtp_modules:
        # DeepSeek-V3 section 2.2 and README_WEIGHTS.md: each MTP module is one more
        # (MoE) block, a projection of [norm(h); norm(embedding)] from 2d to d, and
        # the norms enorm, hnorm and the shared head's norm; the embedding and the
        # output head are shared with the main model, so they are not counted again.
        block = attention + moe.total + norms_per_layer
        extra["mtp"] = mtp_modules * (block + 2 * d * d + 3 * d)
    return ParamCount(
        name=str(config.get("name", "")),
        total=total,
        active=total - inactive,
        embedding=embedding,
        breakdown=breakdown,
        extra=extra,
    )


# ---------------------------------------------------------------------------
# 3. The configurations shipped with mlatlas
# ---------------------------------------------------------------------------

_DATA_FILES = ("model_configs", "mla_moe_configs")


def model_config(name: str) -> dict[str, Any]:
    """The ``config.json`` fields of a model in ``mlatlas/data``, with its ``source``.

    Raises:
        MlatlasError: If no data file has a model of that name.
    """
    rows = {row["name"]: row for data in _DATA_FILES for row in load_rows(data)}
    if name not in rows:
        raise MlatlasError(f"unknown model {name!r}; known: {', '.join(rows)}")
    return dict(rows[name])


def countable_models() -> list[str]:
    """Names of the models whose rows have every field :func:`count_parameters` needs."""
    names = []
    for data in _DATA_FILES:
        for row in load_rows(data):
            if all(f in row for f in _DENSE_FIELDS):
                names.append(row["name"])
    return names


def model_params(name: str) -> ParamCount:
    """Count the parameters of a model shipped in ``mlatlas/data``.

    Example:
        >>> count = model_params("deepseek-v3")
        >>> f"{count.total / 1e9:.1f}B total, {count.active_matmul / 1e9:.1f}B active"
        '671.0B total, 36.6B active'
    """
    return count_parameters(model_config(name))


# ---------------------------------------------------------------------------
# 4. Compute per token
# ---------------------------------------------------------------------------


def flops_per_token(count: ParamCount) -> int:
    """Forward-pass FLOPs per token from the weights, $2 N_\\text{active}$.

    Each weight a token is multiplied by costs one multiply and one add, so a
    forward pass costs about twice the active matmul parameters
    (:attr:`ParamCount.active_matmul`). This leaves out the attention scores
    themselves (query-key products and the weighted sum of values), which grow with
    the context length: about $2\\,n_\\text{layers}\\,n_h (d_{qk} + d_v)$ FLOPs per
    token per token of context, small next to the weights for short contexts.
    Training costs about three times this (forward plus a backward twice as
    expensive).

    Example:
        >>> round(flops_per_token(model_params("llama-3-8b")) / 1e9, 2)  # GFLOPs
        15.01
    """
    return 2 * count.active_matmul
