"""Tests for `mlatlas.attention`, each against an independent reference.

The references are PyTorch's own attention (`F.scaled_dot_product_attention`,
`nn.MultiheadAttention`), the caches that Hugging Face `transformers` allocates for
real model geometries, and a figure published in the vLLM paper. Computations run in
float64 so that a 1e-5 tolerance leaves no room for a wrong formula.
"""

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoModelForCausalLM,
    FalconConfig,
    LlamaConfig,
    MistralConfig,
    Qwen2Config,
)

from mlatlas.attention import (
    KVCache,
    MultiHeadAttention,
    causal_mask,
    kv_cache_bytes,
    model_shape,
    scaled_dot_product_attention,
)
from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

DTYPE = torch.float64
TOL = {"atol": 1e-5, "rtol": 1e-5}


@pytest.fixture(autouse=True)
def _seed():
    """Makes every test draw the same random tensors and weights."""
    torch.manual_seed(0)


def _randn(*shape):
    """Draws a float64 tensor of standard normal values.

    Args:
        *shape: The tensor's shape.

    Returns:
        The random tensor.
    """
    return torch.randn(*shape, dtype=DTYPE)


def _torch_mha(embed_dim, num_heads, bias=True):
    """Builds a batch-first `nn.MultiheadAttention` and its `mlatlas` copy.

    The torch module is initialised in float32 and only then converted to float64, so
    its weights are exactly representable in float32 and `from_torch` (which builds a
    float32 layer) copies them without rounding.

    Args:
        embed_dim: Model width.
        num_heads: Number of heads.
        bias: Whether the projections have biases.

    Returns:
        The torch module and the `MultiHeadAttention` built from it, both float64 and
        in eval mode.
    """
    module = nn.MultiheadAttention(embed_dim, num_heads, bias=bias, batch_first=True)
    layer = MultiHeadAttention.from_torch(module)
    return module.to(DTYPE).eval(), layer.to(DTYPE).eval()


def _reference_gqa(layer, x):
    """Computes causal self-attention with PyTorch's own grouped-query path.

    Uses only the layer's projection weights, then `F.scaled_dot_product_attention`
    with `enable_gqa=True`, which shares each key/value head between
    `num_heads // num_kv_heads` consecutive query heads.

    Args:
        layer: A `MultiHeadAttention`.
        x: Input, shape `(B, T, E)`.

    Returns:
        The reference output, shape `(B, T, E)`.
    """
    b, t, _ = x.shape
    d = layer.head_dim
    q = layer.q_proj(x).view(b, t, layer.num_heads, d).transpose(1, 2)
    k = layer.k_proj(x).view(b, t, layer.num_kv_heads, d).transpose(1, 2)
    v = layer.v_proj(x).view(b, t, layer.num_kv_heads, d).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    return layer.out_proj(out.transpose(1, 2).reshape(b, t, layer.num_heads * d))


# ---------------------------------------------------------------------------
# 1. scaled_dot_product_attention
# ---------------------------------------------------------------------------


def test_sdpa_without_mask_matches_torch():
    """Unmasked attention equals torch's, and every weight row sums to one."""
    q, k, v = _randn(2, 3, 5, 8), _randn(2, 3, 5, 8), _randn(2, 3, 5, 8)
    out, weights = scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), **TOL)
    assert weights.shape == (2, 3, 5, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5, dtype=DTYPE), **TOL)


def test_sdpa_with_causal_mask_matches_torch_is_causal():
    """`causal_mask(L, L)` gives torch's `is_causal=True` result."""
    q, k, v = _randn(2, 3, 6, 8), _randn(2, 3, 6, 8), _randn(2, 3, 6, 8)
    out, weights = scaled_dot_product_attention(q, k, v, mask=causal_mask(6, 6))
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True), **TOL)
    # No weight on the future, and still one unit of weight per row.
    assert torch.all(weights.triu(diagonal=1) == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 6, dtype=DTYPE), **TOL)


def test_sdpa_with_arbitrary_boolean_mask_matches_torch():
    """A random boolean mask (True = may attend) gives torch's result for `attn_mask`."""
    q, k, v = _randn(2, 3, 5, 8), _randn(2, 3, 7, 8), _randn(2, 3, 7, 4)
    mask = torch.rand(2, 3, 5, 7) < 0.5
    mask[..., 0] = True  # every row keeps a key, so torch's result is well defined
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), **TOL)
    assert torch.all(weights[~mask] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 5, dtype=DTYPE), **TOL)


def test_sdpa_with_custom_scale_matches_torch():
    """An explicit `scale` replaces 1/sqrt(D) exactly as torch's `scale=` does."""
    q, k, v = _randn(2, 3, 5, 8), _randn(2, 3, 5, 8), _randn(2, 3, 5, 8)
    out, _ = scaled_dot_product_attention(q, k, v, scale=0.7)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, scale=0.7), **TOL)
    # The scale matters: the default one gives a different answer.
    assert not torch.allclose(out, scaled_dot_product_attention(q, k, v)[0])


def test_sdpa_cross_attention_shapes_match_torch():
    """With L != S and a value width != D, output and weights match torch's."""
    q, k, v = _randn(2, 3, 4, 8), _randn(2, 3, 9, 8), _randn(2, 3, 9, 5)
    out, weights = scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 4, 5)
    assert weights.shape == (2, 3, 4, 9)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), **TOL)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 4, dtype=DTYPE), **TOL)


def test_sdpa_fully_masked_row_gives_zeros_not_nan():
    """A query with no allowed key gets zero weights and a zero output."""
    q, k, v = _randn(1, 1, 3, 4), _randn(1, 1, 5, 4), _randn(1, 1, 5, 4)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1] = False
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert torch.isfinite(out).all() and torch.isfinite(weights).all()
    assert torch.all(weights[..., 1, :] == 0)
    assert torch.all(out[..., 1, :] == 0)
    # The other rows are untouched by the empty one.
    torch.testing.assert_close(out[..., [0, 2], :], scaled_dot_product_attention(q[..., [0, 2], :], k, v)[0], **TOL)


# ---------------------------------------------------------------------------
# 2. causal_mask
# ---------------------------------------------------------------------------


def test_causal_mask_is_bottom_right_aligned_when_keys_outnumber_queries():
    """With L < S the last query sees every key and the first sees S - L + 1 of them."""
    expected = torch.tensor(
        [
            [1, 1, 1, 0, 0],
            [1, 1, 1, 1, 0],
            [1, 1, 1, 1, 1],
        ],
        dtype=torch.bool,
    )
    mask = causal_mask(3, 5)
    assert mask.dtype == torch.bool
    assert torch.equal(mask, expected)
    assert causal_mask(1, 7).all()  # one decoded token sees the whole cache


@pytest.mark.parametrize("length", [1, 2, 6])
def test_causal_mask_is_lower_triangular_when_lengths_are_equal(length):
    """With L == S the mask is the usual lower triangle."""
    assert torch.equal(causal_mask(length, length), torch.ones(length, length).tril().bool())


def test_causal_mask_rejects_fewer_keys_than_queries():
    """key_len < query_len has no causal meaning and raises `MlatlasError`."""
    with pytest.raises(MlatlasError, match=r"key_len \(3\) must be at least query_len \(4\)"):
        causal_mask(4, 3)


# ---------------------------------------------------------------------------
# 3. MultiHeadAttention against nn.MultiheadAttention
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_mha_self_attention_matches_torch(bias):
    """`from_torch` copies the weights so that self-attention output and weights match."""
    module, layer = _torch_mha(16, 4, bias=bias)
    x = _randn(2, 5, 16)
    expected, expected_weights = module(x, x, x, need_weights=True, average_attn_weights=False)
    out, weights = layer(x, need_weights=True)
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(weights, expected_weights, **TOL)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_mha_cross_attention_matches_torch(bias):
    """Queries from `x`, keys and values from a longer `context`, as torch computes."""
    module, layer = _torch_mha(16, 4, bias=bias)
    x, context = _randn(2, 3, 16), _randn(2, 7, 16)
    expected, expected_weights = module(x, context, context, need_weights=True, average_attn_weights=False)
    out, weights = layer(x, context, need_weights=True)
    assert weights.shape == (2, 4, 3, 7)
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(weights, expected_weights, **TOL)


def test_mha_causal_matches_torch_with_inverted_mask():
    """`causal=True` equals torch with `attn_mask=~causal_mask(L, L)`.

    For `nn.MultiheadAttention` a boolean `attn_mask` marks with True the positions
    that may NOT be attended, the opposite of `mlatlas`'s convention.
    """
    module, layer = _torch_mha(16, 4)
    x = _randn(2, 6, 16)
    expected, expected_weights = module(
        x, x, x, attn_mask=~causal_mask(6, 6), need_weights=True, average_attn_weights=False
    )
    out, weights = layer(x, causal=True, need_weights=True)
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(weights, expected_weights, **TOL)
    # The mask must have had an effect: the unmasked layer gives something else.
    assert not torch.allclose(out, layer(x))


def test_mha_padding_mask_matches_torch_key_padding_mask():
    """A `(B, 1, 1, S)` mask equals torch's `key_padding_mask` (True = padding)."""
    module, layer = _torch_mha(16, 4)
    x = _randn(2, 5, 16)
    padding = torch.tensor([[False, False, False, True, True], [False] * 5])
    expected, _ = module(x, x, x, key_padding_mask=padding)
    out = layer(x, mask=~padding[:, None, None, :])
    torch.testing.assert_close(out, expected, **TOL)


def test_mha_causal_and_padding_masks_combine_like_torch():
    """`causal=True` plus a padding `mask` equals torch with both `attn_mask` and `key_padding_mask`."""
    module, layer = _torch_mha(16, 4)
    x = _randn(2, 5, 16)
    padding = torch.tensor([[False, False, False, True, True], [False, False, False, False, True]])
    expected, _ = module(x, x, x, attn_mask=~causal_mask(5, 5), key_padding_mask=padding)
    out = layer(x, causal=True, mask=~padding[:, None, None, :])
    torch.testing.assert_close(out, expected, **TOL)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"add_bias_kv": True}, "add_bias_kv=False"),
        ({"add_zero_attn": True}, "add_zero_attn=False"),
        ({"batch_first": False}, "batch_first=True"),
        ({"kdim": 8, "vdim": 8}, "kdim == vdim == embed_dim"),
    ],
    ids=["add_bias_kv", "add_zero_attn", "not-batch-first", "other-kdim"],
)
def test_from_torch_refuses_what_it_cannot_reproduce(options, named):
    """A torch module whose function the copy would not reproduce is refused, by name.

    With ``add_bias_kv`` or ``add_zero_attn`` torch appends an extra key/value to
    every sequence; copying only the projections would silently compute another
    function (a 0.1 difference was measured before this check existed).
    """
    module = nn.MultiheadAttention(16, 4, **{"batch_first": True, **options})
    with pytest.raises(MlatlasError, match=re.escape(named)):
        MultiHeadAttention.from_torch(module)


# ---------------------------------------------------------------------------
# 4. Grouped-query and multi-query attention
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num_heads", "num_kv_heads"),
    [(4, 4), (4, 2), (6, 3), (4, 1)],
    ids=["MHA", "GQA-2", "GQA-3", "MQA"],
)
def test_grouped_query_attention_matches_torch_enable_gqa(num_heads, num_kv_heads):
    """Causal GQA/MQA equals torch's `enable_gqa=True` path on the same projections."""
    layer = MultiHeadAttention(24, num_heads, num_kv_heads=num_kv_heads).to(DTYPE)
    assert layer.k_proj.out_features == num_kv_heads * (24 // num_heads)
    x = _randn(2, 5, 24)
    torch.testing.assert_close(layer(x, causal=True), _reference_gqa(layer, x), **TOL)


@pytest.mark.parametrize(
    ("embed_dim", "num_heads", "num_kv_heads", "message"),
    [
        (16, 4, 3, r"num_kv_heads \(3\) must divide num_heads \(4\)"),
        (16, 4, 0, r"num_kv_heads \(0\) must divide num_heads \(4\)"),
        (10, 4, None, r"embed_dim \(10\) must be divisible by num_heads \(4\)"),
    ],
    ids=["kv-not-dividing", "zero-kv", "embed-not-divisible"],
)
def test_invalid_head_counts_raise(embed_dim, num_heads, num_kv_heads, message):
    """Head counts that cannot form equal groups raise `MlatlasError` naming them."""
    with pytest.raises(MlatlasError, match=message):
        MultiHeadAttention(embed_dim, num_heads, num_kv_heads=num_kv_heads)


# ---------------------------------------------------------------------------
# 5. KVCache
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("num_kv_heads", [4, 2, 1], ids=["MHA", "GQA", "MQA"])
@pytest.mark.parametrize("prefill", [1, 4], ids=["token-by-token", "prefill-4"])
def test_kv_cache_decoding_matches_full_causal_pass(num_kv_heads, prefill):
    """Prefill `prefill` tokens at once, decode the rest one by one: same as one pass.

    The concatenated outputs equal both the layer's own full causal pass and the
    `enable_gqa` reference, and the cache stores only the key/value heads.
    """
    batch, length, embed_dim, num_heads = 2, 7, 16, 4
    layer = MultiHeadAttention(embed_dim, num_heads, num_kv_heads=num_kv_heads).to(DTYPE)
    x = _randn(batch, length, embed_dim)
    cache = KVCache()
    outs = [layer(x[:, :prefill], causal=True, cache=cache)]
    outs += [layer(x[:, t : t + 1], causal=True, cache=cache) for t in range(prefill, length)]
    decoded = torch.cat(outs, dim=1)
    torch.testing.assert_close(decoded, layer(x, causal=True), **TOL)
    torch.testing.assert_close(decoded, _reference_gqa(layer, x), **TOL)
    head_dim = embed_dim // num_heads
    assert len(cache) == length
    assert cache.k.shape == cache.v.shape == (batch, num_kv_heads, length, head_dim)
    element_size = torch.empty((), dtype=DTYPE).element_size()
    assert cache.nbytes() == 2 * batch * num_kv_heads * length * head_dim * element_size


def test_empty_kv_cache_holds_nothing():
    """A fresh cache has no positions and no bytes."""
    cache = KVCache()
    assert len(cache) == 0
    assert cache.nbytes() == 0


# ---------------------------------------------------------------------------
# 6. The KV-cache size calculator
# ---------------------------------------------------------------------------


def test_kv_cache_bytes_matches_vllm_paper_opt_13b():
    """OPT-13B needs 800 KB of KV cache per token in FP16.

    Kwon et al., "Efficient Memory Management for Large Language Model Serving with
    PagedAttention" (SOSP 2023, arXiv:2309.06180), section 3, gives one OPT-13B token
    800 KB of KV cache: 2 (key and value vectors) x 5120 (hidden state size) x 40
    (layers) x 2 (bytes per FP16) = 819,200 bytes.
    """
    assert kv_cache_bytes(model_shape("opt-13b"), 1, 1, "fp16") == 2 * 5120 * 40 * 2 == 819_200


def test_kv_cache_bytes_scales_with_tokens_batch_and_dtype():
    """The size is linear in tokens and batch and proportional to the element size."""
    shape = model_shape("llama-3-8b")
    per_token = kv_cache_bytes(shape, 1, 1, "bf16")
    assert per_token == 2 * 32 * 8 * 128 * 2
    assert kv_cache_bytes(shape, 100, 3, "bf16") == 300 * per_token
    assert kv_cache_bytes(shape, 100, 3, "fp32") == 600 * per_token
    assert kv_cache_bytes(shape, 100, 3, "fp8") == 150 * per_token


def _hf_config(row):
    """Builds a one-layer `transformers` config with a model's real attention geometry.

    Only the attention geometry is real; layers, vocabulary and MLP are shrunk so the
    model builds in well under a second.

    Args:
        row: The model's row in `model_configs.yaml`.

    Returns:
        The config.
    """
    geometry = {
        "hidden_size": row["hidden_size"],
        "num_attention_heads": row["num_attention_heads"],
        "num_hidden_layers": 1,
        "vocab_size": 64,
    }
    if row["family"] == "falcon":
        # Falcon-7B's config.json: multi_query=true, new_decoder_architecture=false,
        # parallel_attn=true, so one key/value head. ffn_hidden_size only shrinks the
        # MLP (4 * hidden_size by default), which the cache does not depend on.
        assert row["num_key_value_heads"] == 1
        return FalconConfig(
            multi_query=True, new_decoder_architecture=False, parallel_attn=True, ffn_hidden_size=32, **geometry
        )
    config_class = {"llama": LlamaConfig, "mistral": MistralConfig, "qwen2": Qwen2Config}[row["family"]]
    return config_class(num_key_value_heads=row["num_key_value_heads"], intermediate_size=32, **geometry)


@pytest.mark.parametrize("name", ["llama-2-7b", "llama-3-8b", "mistral-7b-v0.1", "qwen2.5-7b", "falcon-7b"])
def test_kv_cache_bytes_matches_transformers_cache(name):
    """The formula equals the cache `transformers` allocates for the same geometry.

    A one-layer bf16 model with the real hidden size and head counts from
    `model_configs.yaml` runs 3 tokens with `use_cache=True`; the bytes of its one
    layer's keys and values, times the real number of layers, are the model's cache.
    """
    row = next(r for r in load_rows("model_configs") if r["name"] == name)
    model = AutoModelForCausalLM.from_config(_hf_config(row), dtype=torch.bfloat16).eval()
    with torch.no_grad():
        output = model(torch.tensor([[1, 2, 3]]), use_cache=True)
    cache = output.past_key_values
    assert len(cache.layers) == 1
    layer = cache.layers[0]
    assert layer.keys.dtype == layer.values.dtype == torch.bfloat16
    assert layer.keys.shape[-2] == 3
    one_layer = sum(t.numel() * t.element_size() for t in (layer.keys, layer.values))
    shape = model_shape(name)
    assert one_layer * row["num_hidden_layers"] == kv_cache_bytes(shape, 3, 1, "bf16")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seq_len": 0}, r"seq_len and batch_size must be positive, got 0 and 1"),
        ({"seq_len": -5}, r"must be positive, got -5"),
        ({"batch_size": 0}, r"must be positive, got 8 and 0"),
        ({"dtype": "int3"}, r"unknown dtype 'int3'; choose from fp32, fp16, bf16, fp8"),
    ],
    ids=["zero-seq-len", "negative-seq-len", "zero-batch", "unknown-dtype"],
)
def test_kv_cache_bytes_rejects_bad_input(kwargs, message):
    """Non-positive sizes and unknown dtypes raise `MlatlasError` naming the problem."""
    arguments = {"seq_len": 8, "batch_size": 1, "dtype": "bf16"} | kwargs
    with pytest.raises(MlatlasError, match=message):
        kv_cache_bytes(model_shape("llama-3-8b"), **arguments)


def test_model_shape_rejects_unknown_name_and_lists_known_ones():
    """An unknown model name raises `MlatlasError` naming it and the known models."""
    with pytest.raises(MlatlasError, match=r"unknown model 'nope'; known: .*llama-3-8b"):
        model_shape("nope")


# ---------------------------------------------------------------------------
# 7. AttentionShape.kind
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [("llama-2-7b", "MHA"), ("llama-3-8b", "GQA"), ("falcon-7b", "MQA")],
)
def test_attention_shape_kind(name, kind):
    """Equal head counts are MHA, shared groups GQA, a single key/value head MQA."""
    assert model_shape(name).kind == kind


def test_attention_shape_head_dim_is_hidden_over_heads():
    """`head_dim` is `hidden_size / num_attention_heads` for every model in the file."""
    for row in load_rows("model_configs"):
        shape = model_shape(row["name"])
        assert shape.head_dim * shape.num_heads == row["hidden_size"]
        assert shape.num_kv_heads == row["num_key_value_heads"]
        assert shape.source == row["source"]
