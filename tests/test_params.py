"""Tests for `mlatlas.params`, against transformers' own models and published totals.

The independent reference is the model `transformers` builds from the same config
fields, on the meta device (shapes only, no memory): its state dict holds exactly
the tensors a checkpoint stores. DeepSeek models are built with their real widths
but fewer layers (one dense and one MoE layer, or two of each), and the per-layer
counts extrapolated: the count is linear in the number of layers of each kind.

Published figures are rounded to the nearest billion in the papers' abstracts, so
"reproduces" means within 0.5B of the stated figure.
"""

import json
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForCausalLM, DeepseekV2Config, DeepseekV3Config, LlamaConfig

from conftest import ROOT
from mlatlas.errors import MlatlasError
from mlatlas.params import (
    count_parameters,
    countable_models,
    flops_per_token,
    gqa_attention_params,
    mla_attention_params,
    model_config,
    model_params,
    moe_params,
    swiglu_params,
)

HF_CONFIGS = {"llama": LlamaConfig, "deepseek_v2": DeepseekV2Config, "deepseek_v3": DeepseekV3Config}
# Fields of our rows that are not config.json fields.
NOT_CONFIG = {"name", "family", "source", "published"}


def _stored_numel(config_class, fields):
    """Counts the elements of every tensor a checkpoint would store for a config.

    Args:
        config_class: The `transformers` configuration class.
        fields: The config.json fields.

    Returns:
        The elements of the model's distinct parameters (a tied output head is the
        embedding's own tensor, counted once) plus its persistent buffers (such as
        DeepSeek-V3's per-expert selection bias), built on the meta device.
    """
    config = config_class(**fields)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    stored = model.state_dict().keys()
    buffers = sum(b.numel() for name, b in model.named_buffers() if name in stored)
    return sum(p.numel() for p in model.parameters()) + buffers


def _hf_fields(name, **overrides):
    """The config.json fields of a model in our data files, with some replaced."""
    row = model_config(name)
    return {k: v for k, v in row.items() if k not in NOT_CONFIG} | overrides


# ---------------------------------------------------------------------------
# Against transformers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["llama-3-8b", "llama-3-70b", "deepseek-llm-67b"])
def test_dense_counts_equal_transformers_model(name):
    """A Llama-architecture model: our count equals the full model transformers builds."""
    fields = _hf_fields(name)
    assert count_parameters(fields).total == _stored_numel(LlamaConfig, fields)


def test_llama_3_8b_is_8_03_billion():
    """Llama 3 8B has 8,030,261,248 parameters, every one active."""
    count = model_params("llama-3-8b")
    assert count.total == count.active == 8_030_261_248
    assert not count.is_moe
    assert count.active_matmul == count.total - 128256 * 4096


@pytest.mark.parametrize("name", ["deepseek-v2", "deepseek-v3"])
def test_deepseek_counts_equal_transformers_per_layer(name):
    """Per dense layer and per MoE layer, our count equals transformers' model.

    Built with 2 layers (1 dense, 1 MoE) and 3 layers (1 dense, 2 MoE), the
    difference is one MoE layer and the rest pins the dense layer plus embedding
    and head; both must agree with our count of the same reduced configs, and so
    the full configs' counts follow by linearity.
    """
    row = model_config(name)
    config_class = HF_CONFIGS[row["family"]]
    # Routing-group options are irrelevant to the count and need n_group | experts.
    for layers in (2, 3):
        fields = _hf_fields(name, num_hidden_layers=layers, first_k_dense_replace=1)
        assert count_parameters(fields).total == _stored_numel(config_class, fields), layers


# ---------------------------------------------------------------------------
# Against the published figures
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["deepseek-v2", "deepseek-v3"])
def test_deepseek_totals_and_active_reproduce_the_abstracts(name):
    """236B/21B (DeepSeek-V2) and 671B/37B (DeepSeek-V3), each within 0.5B.

    "Active" is what one token is multiplied by: every weight except the routed
    experts its router did not choose, and except the input embedding table,
    from which it only reads its own row. Counting that table too gives 21.4B and
    37.6B; the second is outside the rounding of "37B".
    """
    count = model_params(name)
    published = model_config(name)["published"]
    assert abs(count.total / 1e9 - published["total_b"]) <= 0.5
    assert abs(count.active_matmul / 1e9 - published["active_b"]) <= 0.5
    assert count.is_moe


def test_deepseek_v3_exact_figures_and_mtp_module():
    """DeepSeek-V3: 671.03B without the MTP module, which adds 11.6B of its own.

    DeepSeek's README_WEIGHTS.md gives the main model 671B and the MTP module
    "11.5B unique parameters, excluding the shared 0.9B Embedding and 0.9B output
    Head"; one MoE block alone is 11.507B, the 2d x d projection and norms add
    0.10B.
    """
    count = model_params("deepseek-v3")
    assert count.total == 671_026_419_200
    assert count.active == 37_552_297_472
    assert count.embedding == 129280 * 7168  # the 0.9B embedding
    assert count.breakdown["lm_head"] == 129280 * 7168  # and the 0.9B head
    assert count.extra["mtp"] == 11_610_068_224
    block = mla_attention_params(7168, 128, 128, 64, 128, 512, 1536) + moe_params(7168, 2048, 256, 1, 8, True).total
    assert block + 2 * 7168 == 11_507_286_272


def test_deepseek_v2_exact_figures():
    """DeepSeek-V2: 235.74B total, 20.85B active matmul parameters, no MTP module."""
    count = model_params("deepseek-v2")
    assert count.total == 235_741_434_880
    assert count.active_matmul == 20_851_512_320
    assert count.extra == {}


def test_breakdown_sums_to_total_and_only_routed_experts_are_inactive():
    """The components add up, and total minus active is the unchosen routed experts."""
    count = model_params("deepseek-v3")
    assert sum(count.breakdown.values()) == count.total
    per_expert = swiglu_params(7168, 2048)
    assert count.total - count.active == 58 * (256 - 8) * per_expert


# ---------------------------------------------------------------------------
# Pieces, FLOPs and errors
# ---------------------------------------------------------------------------


def test_piece_formulas_by_hand():
    """Each piece on a case small enough to count by hand."""
    # q: 8x8, k and v: 8x4 each, o: 8x8 (d=8, 2 heads of 4, 1 KV head).
    assert gqa_attention_params(8, 2, 1, 4) == 64 + 32 + 32 + 64
    # No query compression: q 8x(2*(3+1)); kv down 8x(5+1), norm 5, up 5x(2*(3+2)); o (2*2)x8.
    assert mla_attention_params(8, 2, 3, 1, 2, 5, None) == 64 + 48 + 5 + 50 + 32
    # With it: q down 8x4, norm 4, up 4x8.
    assert mla_attention_params(8, 2, 3, 1, 2, 5, 4) == 32 + 4 + 32 + 48 + 5 + 50 + 32
    moe = moe_params(8, 2, num_routed=4, num_shared=1, top_k=2, router_bias=True)
    assert (moe.routed, moe.routed_active, moe.shared, moe.router) == (4 * 48, 2 * 48, 48, 4 * 8 + 4)
    assert moe.total == 192 + 48 + 36 and moe.active == 96 + 48 + 36


def test_tied_embeddings_are_counted_once():
    """With tie_word_embeddings the output head adds nothing."""
    fields = _hf_fields("llama-3-8b")
    untied = count_parameters(fields)
    tied = count_parameters(fields | {"tie_word_embeddings": True})
    assert untied.total - tied.total == 128256 * 4096
    assert tied.total == _stored_numel(LlamaConfig, fields | {"tie_word_embeddings": True, "num_hidden_layers": 32})


def test_flops_per_token_is_twice_the_active_matmul_parameters():
    """2 N: one multiply and one add per weight a token meets."""
    for name in ("llama-3-8b", "deepseek-v3"):
        count = model_params(name)
        assert flops_per_token(count) == 2 * count.active_matmul


def test_countable_models_lists_every_model_with_the_fields():
    """The dense models with FFN fields and both DeepSeek models can be counted."""
    assert {"llama-3-8b", "llama-3-70b", "deepseek-llm-67b", "deepseek-v2", "deepseek-v3"} <= set(countable_models())
    assert "falcon-7b" not in countable_models()


def test_missing_fields_and_unknown_models_raise():
    """A row without FFN fields, or an unknown name, raises `MlatlasError` naming it."""
    with pytest.raises(MlatlasError, match=r"falcon-7b lacks intermediate_size, vocab_size"):
        model_params("falcon-7b")
    with pytest.raises(MlatlasError, match=r"unknown model 'nope'; known: .*deepseek-v3"):
        model_config("nope")


def test_command_line_prints_the_same_counts_as_json():
    """`mlatlas moe params --json` gives the library's counts, KV cache and published figures."""
    result = subprocess.run(
        [sys.executable, "-m", "mlatlas", "moe", "params", "--model", "deepseek-v3", "--model", "llama-3-8b", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    v3, llama = json.loads(result.stdout)["models"]
    count = model_params("deepseek-v3")
    assert (v3["total"], v3["active"], v3["active_matmul"]) == (count.total, count.active, count.active_matmul)
    assert v3["kv_cache_bytes_per_token"] == 61 * (512 + 64) * 2
    assert (v3["published_total_b"], v3["published_active_b"]) == (671, 37)
    assert llama["kind"] == "dense" and llama["published_total_b"] is None
    assert llama["gflops_per_token"] == 2 * model_params("llama-3-8b").active_matmul / 1e9
