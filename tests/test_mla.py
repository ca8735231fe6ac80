"""Tests for `mlatlas.mla`, against transformers' DeepSeek-V3 attention and the paper.

The independent references are `transformers`' `DeepseekV3Attention` (the released
model's MLA, here with non-interleaved RoPE so that both use the same rotary layout),
the layer's own naive path for the absorbed one, and the per-token cache formulas of
DeepSeek-V2's Table 1 (arXiv:2405.04434). Computations run in float64.
"""

import pytest
import torch
from transformers import DeepseekV3Config
from transformers.models.deepseek_v3.modeling_deepseek_v3 import (
    DeepseekV3Attention,
    DeepseekV3RotaryEmbedding,
    apply_rotary_pos_emb,
)

from mlatlas.attention import KVCache, MultiHeadAttention, kv_cache_bytes, model_shape
from mlatlas.errors import MlatlasError
from mlatlas.mla import (
    LatentCache,
    MLAShape,
    MultiHeadLatentAttention,
    apply_rope,
    cache_comparison,
    latent_cache_bytes,
    mla_shape,
    model_cache_bytes,
)
from mlatlas.params import mla_attention_params

DTYPE = torch.float64
TOL = {"atol": 1e-5, "rtol": 1e-5}
# A small MLA: d=32, 4 heads of 8 (+4 RoPE), values of 6, d_c=12, d_c'=16.
SMALL = {"embed_dim": 32, "num_heads": 4, "head_dim": 8, "rope_dim": 4, "kv_rank": 12, "q_rank": 16, "v_head_dim": 6}


@pytest.fixture(autouse=True)
def _seed():
    """Makes every test draw the same random tensors and weights."""
    torch.manual_seed(0)


def _layer(**overrides):
    """Builds a float64 `MultiHeadLatentAttention` with the small geometry, weights N(0, 0.3²)."""
    layer = MultiHeadLatentAttention(**(SMALL | overrides)).to(DTYPE)
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_(0, 0.3)
    return layer


# ---------------------------------------------------------------------------
# The absorbed path and the latent cache
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("q_rank", [16, None], ids=["q-compressed", "q-uncompressed"])
def test_absorbed_path_equals_naive_path_and_caches_only_latents(q_rank):
    """Attention against the cached latents equals expanding them into keys and values.

    The absorbed path is run with a cache, so the test also checks what the cache
    holds: the latent (B, T, d_c) and the shared RoPE key (B, T, d_h^R), nothing per head.
    """
    layer = _layer(q_rank=q_rank)
    x = torch.randn(2, 7, 32, dtype=DTYPE)
    cache = LatentCache()
    absorbed = layer(x, cache=cache, absorb=True)
    torch.testing.assert_close(absorbed, layer(x), **TOL)
    assert cache.c_kv.shape == (2, 7, 12)
    assert cache.k_rope.shape == (2, 7, 4)
    assert len(cache) == 7
    assert cache.nbytes() == 2 * 7 * (12 + 4) * 8


def test_absorbed_weights_have_latent_shapes():
    """W^UQᵀW^UK maps the query latent to KV-latent space; W^O W^UV maps a latent to the output."""
    w_q_latent, w_o_latent = _layer().absorbed_weights()
    assert w_q_latent.shape == (4, 16, 12)
    assert w_o_latent.shape == (4, 32, 12)


@pytest.mark.parametrize("absorb", [True, False], ids=["absorbed", "naive"])
@pytest.mark.parametrize("prefill", [1, 3], ids=["token-by-token", "prefill-3"])
def test_incremental_decoding_with_latent_cache_equals_full_causal_pass(absorb, prefill):
    """Prefill, then decode one token at a time against the latent cache: same as one pass."""
    layer = _layer()
    x = torch.randn(2, 7, 32, dtype=DTYPE)
    cache = LatentCache()
    outs = [layer(x[:, :prefill], cache=cache, absorb=absorb)]
    outs += [layer(x[:, t : t + 1], cache=cache, absorb=absorb) for t in range(prefill, 7)]
    torch.testing.assert_close(torch.cat(outs, dim=1), layer(x), **TOL)
    assert cache.c_kv.shape == (2, 7, 12) and cache.k_rope.shape == (2, 7, 4)


def test_the_layer_is_causal():
    """Changing a later token leaves the outputs of earlier ones unchanged."""
    layer = _layer()
    x = torch.randn(1, 6, 32, dtype=DTYPE)
    y = x.clone()
    y[:, 4:] += 1.0
    torch.testing.assert_close(layer(x)[:, :4], layer(y)[:, :4], **TOL)
    assert not torch.allclose(layer(x)[:, 4:], layer(y)[:, 4:])


# ---------------------------------------------------------------------------
# Against transformers' DeepseekV3Attention
# ---------------------------------------------------------------------------


def _hf_attention(q_rank):
    """Builds `transformers`' MLA with the small geometry and random float64 weights."""
    config = DeepseekV3Config(
        hidden_size=32, num_attention_heads=4, num_key_value_heads=4, qk_nope_head_dim=8, qk_rope_head_dim=4,
        v_head_dim=6, kv_lora_rank=12, q_lora_rank=q_rank, rope_interleave=False, num_hidden_layers=1,
    )  # fmt: skip
    config._attn_implementation = "eager"
    module = DeepseekV3Attention(config, layer_idx=0).to(DTYPE).eval()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.3)
    return config, module


def _copy_from_hf(module, q_rank):
    """Copies `DeepseekV3Attention` weights into a `MultiHeadLatentAttention`.

    transformers stacks what the paper keeps apart: `q_b_proj` holds W^UQ and W^QR
    (per head: 8 content rows, then 4 RoPE rows), `kv_a_proj_with_mqa` holds W^DKV
    and W^KR, and `kv_b_proj` holds W^UK and W^UV (per head: 8 key rows, 6 value rows).
    """
    layer = MultiHeadLatentAttention(**(SMALL | {"q_rank": q_rank})).to(DTYPE)
    h, dn, dr, dv, dc = 4, 8, 4, 6, 12
    with torch.no_grad():
        if q_rank is None:
            qb = module.q_proj.weight.view(h, dn + dr, 32)
        else:
            layer.w_dq.weight.copy_(module.q_a_proj.weight)
            layer.q_norm.weight.copy_(module.q_a_layernorm.weight)
            qb = module.q_b_proj.weight.view(h, dn + dr, q_rank)
        layer.w_uq.weight.copy_(qb[:, :dn].flatten(0, 1))
        layer.w_qr.weight.copy_(qb[:, dn:].flatten(0, 1))
        layer.w_dkv.weight.copy_(module.kv_a_proj_with_mqa.weight[:dc])
        layer.w_kr.weight.copy_(module.kv_a_proj_with_mqa.weight[dc:])
        layer.kv_norm.weight.copy_(module.kv_a_layernorm.weight)
        kvb = module.kv_b_proj.weight.view(h, dn + dv, dc)
        layer.w_uk.weight.copy_(kvb[:, :dn].flatten(0, 1))
        layer.w_uv.weight.copy_(kvb[:, dn:].flatten(0, 1))
        layer.w_o.weight.copy_(module.o_proj.weight)
    return layer


@pytest.mark.parametrize("q_rank", [16, None], ids=["q-compressed", "q-uncompressed"])
def test_matches_transformers_deepseek_v3_attention(q_rank):
    """Both paths equal transformers' MLA on the same weights, and the weights count the same.

    transformers computes its RMSNorms and softmax in float32, hence 1e-6 and not 1e-12.
    """
    config, module = _hf_attention(q_rank)
    layer = _copy_from_hf(module, q_rank)
    x = torch.randn(2, 6, 32, dtype=DTYPE)
    cos, sin = DeepseekV3RotaryEmbedding(config)(x, torch.arange(6)[None].expand(2, -1))
    additive_causal = torch.full((6, 6), float("-inf"), dtype=DTYPE).triu(1)[None, None]
    with torch.no_grad():
        expected, _ = module(x, position_embeddings=(cos.to(DTYPE), sin.to(DTYPE)), attention_mask=additive_causal)
        torch.testing.assert_close(layer(x), expected, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(layer(x, absorb=True), expected, atol=1e-6, rtol=1e-6)
    assert sum(p.numel() for p in layer.parameters()) == sum(p.numel() for p in module.parameters())


def test_parameter_count_matches_the_params_formula():
    """`mlatlas.params.mla_attention_params` counts this layer's weights."""
    for q_rank in (16, None):
        layer = MultiHeadLatentAttention(**(SMALL | {"q_rank": q_rank}))
        assert sum(p.numel() for p in layer.parameters()) == mla_attention_params(32, 4, 8, 4, 6, 12, q_rank)


# ---------------------------------------------------------------------------
# RoPE
# ---------------------------------------------------------------------------


def test_apply_rope_matches_transformers_rotate_half():
    """Our RoPE equals transformers' `apply_rotary_pos_emb` with its default rotary embedding."""
    config = DeepseekV3Config(qk_rope_head_dim=8, rope_interleave=False)
    q, k = torch.randn(2, 3, 5, 8, dtype=DTYPE), torch.randn(2, 1, 5, 8, dtype=DTYPE)
    positions = torch.arange(2, 7)
    cos, sin = DeepseekV3RotaryEmbedding(config)(q, positions[None].expand(2, -1))
    expected_q, expected_k = apply_rotary_pos_emb(q, k, cos.to(DTYPE), sin.to(DTYPE))
    torch.testing.assert_close(apply_rope(q, positions), expected_q, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(apply_rope(k, positions), expected_k, atol=1e-6, rtol=1e-6)


def test_rope_scores_depend_only_on_relative_position():
    """<RoPE(q, m), RoPE(k, n)> is the same for (m, n) = (5, 2) and (9, 6)."""
    q, k = torch.randn(1, 8, dtype=DTYPE), torch.randn(1, 8, dtype=DTYPE)
    a = apply_rope(q, torch.tensor([5])) @ apply_rope(k, torch.tensor([2])).T
    b = apply_rope(q, torch.tensor([9])) @ apply_rope(k, torch.tensor([6])).T
    torch.testing.assert_close(a, b, **TOL)


def test_odd_rope_dim_is_refused():
    """RoPE rotates pairs: an odd width raises `MlatlasError`."""
    with pytest.raises(MlatlasError, match="rope_dim must be even"):
        MultiHeadLatentAttention(32, 4, 8, 3, 12)
    with pytest.raises(MlatlasError, match="even feature count, got 3"):
        apply_rope(torch.zeros(2, 3), torch.arange(2))


# ---------------------------------------------------------------------------
# Cache sizes: DeepSeek-V2's Table 1
# ---------------------------------------------------------------------------


def test_deepseek_v2_shape_from_its_config():
    """n_h = 128, d_h = 128, d_h^R = 64, d_c = 512 = 4 d_h, 60 layers (section 3.1.2)."""
    shape = mla_shape("deepseek-v2")
    assert (shape.num_layers, shape.num_heads, shape.head_dim, shape.rope_dim, shape.kv_rank) == (60, 128, 128, 64, 512)
    assert shape.kv_rank == 4 * shape.head_dim and 2 * shape.rope_dim == shape.head_dim


def test_cache_comparison_follows_table_1_for_deepseek_v2():
    """Elements per token per layer: 2 n_h d_h, 2 n_g d_h, 2 d_h and d_c + d_h^R = 9/2 d_h.

    The bytes of MHA, GQA and MQA are `kv_cache_bytes` of the same-shape attention,
    and MLA caches 576 / 32768 = 1.76% of a same-shape MHA: a 98.2% reduction.
    """
    shape = mla_shape("deepseek-v2")
    rows = {row.variant: row for row in cache_comparison(shape, num_groups=8)}
    n_h, d_h, layers = 128, 128, 60
    assert rows["MHA"].elements_per_layer == 2 * n_h * d_h == 32768
    assert rows["GQA-8"].elements_per_layer == 2 * 8 * d_h
    assert rows["MQA"].elements_per_layer == 2 * d_h
    assert rows["MLA"].elements_per_layer == 576 == 9 * d_h // 2
    for row in rows.values():
        assert row.bytes_per_token == row.elements_per_layer * layers * 2  # bf16
    assert rows["MLA"].bytes_per_token == latent_cache_bytes(shape, 1) == 69_120
    assert rows["MLA"].fraction_of_mha == pytest.approx(576 / 32768)
    assert 1 - rows["MLA"].fraction_of_mha == pytest.approx(0.982, abs=5e-4)


def test_the_93_3_percent_is_against_deepseek_67b_with_a_6_bit_cache():
    """DeepSeek-V2's abstract: "reduces the KV cache by 93.3%" compared with DeepSeek 67B.

    DeepSeek 67B (GQA, 8 KV heads of 128, 95 layers) caches 194,560 numbers per token
    in 16 bits; deployed DeepSeek-V2 caches 34,560 (576 x 60) quantised to 6 bits on
    average (section 3.2.3). At equal precision the saving is 82.2%.
    """
    llm_67b = model_shape("deepseek-llm-67b")
    v2 = mla_shape("deepseek-v2")
    bits_67b = kv_cache_bytes(llm_67b, 1, 1, "bf16") * 8
    elements_v2 = latent_cache_bytes(v2, 1, 1, "fp8")  # one byte per element: a count
    assert bits_67b == 194_560 * 16 and elements_v2 == 34_560
    assert 1 - elements_v2 * 6 / bits_67b == pytest.approx(0.933, abs=5e-4)
    assert 1 - elements_v2 * 16 / bits_67b == pytest.approx(0.822, abs=5e-4)


def test_model_cache_bytes_dispatches_on_the_attention_kind():
    """MLA models use the latent formula, the others `kv_cache_bytes`."""
    assert model_cache_bytes("deepseek-v3", 10, 2, "fp8") == 61 * 576 * 10 * 2
    assert model_cache_bytes("llama-3-8b", 10) == kv_cache_bytes(model_shape("llama-3-8b"), 10)


def test_latent_cache_is_far_smaller_than_an_mha_cache_of_the_same_heads():
    """At runtime too: the latent cache of a layer holds (d_c + d_h^R) / (2 n_h d_h) of MHA's."""
    layer, mha = _layer(), MultiHeadAttention(32, 4).to(DTYPE)
    x = torch.randn(1, 5, 32, dtype=DTYPE)
    latent, kv = LatentCache(), KVCache()
    layer(x, cache=latent, absorb=True)
    mha(x, causal=True, cache=kv)
    assert latent.nbytes() / kv.nbytes() == (12 + 4) / (2 * 4 * 8)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: latent_cache_bytes(mla_shape("deepseek-v2"), 0), r"must be positive, got 0 and 1"),
        (lambda: latent_cache_bytes(mla_shape("deepseek-v2"), 8, dtype="int3"), r"unknown dtype 'int3'"),
        (lambda: mla_shape("llama-3-8b"), r"unknown MLA model 'llama-3-8b'; known: deepseek-v2, deepseek-v3"),
        (lambda: cache_comparison(mla_shape("deepseek-v2"), num_groups=3), r"num_groups \(3\) must divide"),
    ],
    ids=["zero-seq-len", "unknown-dtype", "not-mla", "bad-groups"],
)
def test_bad_input_raises(call, message):
    """Bad sizes, dtypes, names and group counts raise `MlatlasError` naming the problem."""
    with pytest.raises(MlatlasError, match=message):
        call()


def test_mla_shape_is_frozen():
    """Shapes are values: they cannot be changed after lookup."""
    shape = mla_shape("deepseek-v3")
    assert isinstance(shape, MLAShape)
    with pytest.raises(AttributeError):
        shape.kv_rank = 1
