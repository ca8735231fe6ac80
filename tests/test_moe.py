"""Tests for `mlatlas.moe`, against transformers' DeepSeek-V3 MoE, hand-computed cases and a dense mixture.

The independent references are `transformers`' `DeepseekV3MoE` (sigmoid router with
selection bias, routed and shared experts), a per-token loop written here, the
Switch Transformer's loss formula evaluated by hand, and the plain average of every
expert's output. Computations run in float64 unless a test trains.
"""

import pytest
import torch
from transformers import DeepseekV3Config
from transformers.models.deepseek_v3.modeling_deepseek_v3 import DeepseekV3MoE

from mlatlas.errors import MlatlasError
from mlatlas.moe import (
    Expert,
    MoELayer,
    Router,
    Routing,
    balance_demo,
    coefficient_of_variation,
    expert_load,
    load_balancing_loss,
)
from mlatlas.params import moe_params

DTYPE = torch.float64
TOL = {"atol": 1e-6, "rtol": 1e-6}


@pytest.fixture(autouse=True)
def _seed():
    """Makes every test draw the same random tensors and weights."""
    torch.manual_seed(0)


# ---------------------------------------------------------------------------
# The layer
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scoring", ["softmax", "sigmoid"])
def test_all_experts_with_uniform_gates_is_the_dense_mixture(scoring):
    """k = E and a zero router (every affinity equal) give the average of all experts' outputs.

    Softmax of equal logits is 1/E each; sigmoid affinities of 1/2 normalised over
    the E chosen experts are 1/E each too.
    """
    layer = MoELayer(16, 12, num_experts=6, top_k=6, scoring=scoring).to(DTYPE)
    with torch.no_grad():
        layer.router.weight.zero_()
    x = torch.randn(3, 5, 16, dtype=DTYPE)
    out, routing = layer(x)
    dense = torch.stack([expert(x) for expert in layer.experts]).mean(dim=0)
    torch.testing.assert_close(out, dense, **TOL)
    torch.testing.assert_close(routing.gates, torch.full((15, 6), 1 / 6, dtype=DTYPE), **TOL)


def test_dispatch_equals_a_per_token_loop():
    """The per-expert vectorised dispatch equals routing each token by hand, shared experts included."""
    layer = MoELayer(16, 8, num_experts=8, top_k=2, num_shared=2, scoring="sigmoid").to(DTYPE)
    x = torch.randn(2, 9, 16, dtype=DTYPE)
    out, routing = layer(x)
    tokens = x.reshape(-1, 16)
    expected = torch.stack(
        [
            layer.shared(t) + sum(g * layer.experts[int(i)](t) for i, g in zip(idx, gates, strict=True))
            for t, idx, gates in zip(tokens, routing.indices, routing.gates, strict=True)
        ]
    )
    torch.testing.assert_close(out.reshape(-1, 16), expected, **TOL)


def test_shared_experts_equal_the_sum_of_narrower_experts():
    """One SwiGLU of width N_s x d_e computes the sum of N_s experts of width d_e."""
    wide = Expert(16, 2 * 8).to(DTYPE)
    a, b = Expert(16, 8).to(DTYPE), Expert(16, 8).to(DTYPE)
    with torch.no_grad():
        for name in ("gate", "up"):
            getattr(a, name).weight.copy_(getattr(wide, name).weight[:8])
            getattr(b, name).weight.copy_(getattr(wide, name).weight[8:])
        a.down.weight.copy_(wide.down.weight[:, :8])
        b.down.weight.copy_(wide.down.weight[:, 8:])
    x = torch.randn(4, 16, dtype=DTYPE)
    torch.testing.assert_close(wide(x), a(x) + b(x), **TOL)


def test_gradients_reach_router_routed_and_shared_experts():
    """Through the gates the router learns; the chosen and the shared experts get gradients too."""
    layer = MoELayer(16, 8, num_experts=4, top_k=2, num_shared=1)
    x = torch.randn(32, 16)
    out, routing = layer(x)
    (out.pow(2).mean() + load_balancing_loss(routing)).backward()
    assert layer.router.weight.grad is not None and layer.router.weight.grad.abs().sum() > 0
    assert layer.shared.down.weight.grad.abs().sum() > 0
    for e in routing.indices.unique().tolist():
        assert layer.experts[e].gate.weight.grad.abs().sum() > 0
    assert layer.router.bias.grad is None  # a buffer, moved only by update_bias


def test_matches_transformers_deepseek_v3_moe():
    """Sigmoid routing with a selection bias, normalised and scaled gates, 1 shared expert: as transformers.

    The bias is set so that it changes which experts are chosen; since it must not
    change the gates, both implementations have to agree on that too.
    """
    config = DeepseekV3Config(
        hidden_size=16, moe_intermediate_size=8, n_routed_experts=8, num_experts_per_tok=2, n_shared_experts=1,
        n_group=1, topk_group=1, norm_topk_prob=True, routed_scaling_factor=2.5, num_hidden_layers=1,
    )  # fmt: skip
    module = DeepseekV3MoE(config).to(DTYPE).eval()
    layer = MoELayer(16, 8, 8, 2, num_shared=1, scoring="sigmoid", scale=2.5).to(DTYPE)
    bias = torch.linspace(-0.3, 0.3, 8, dtype=DTYPE)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.3)
        module.gate.e_score_correction_bias.copy_(bias)
        layer.router.bias.copy_(bias)
        layer.router.weight.copy_(module.gate.weight)
        for e, expert in enumerate(layer.experts):
            gate, up = module.experts.gate_up_proj[e].chunk(2, dim=0)
            expert.gate.weight.copy_(gate)
            expert.up.weight.copy_(up)
            expert.down.weight.copy_(module.experts.down_proj[e])
        layer.shared.gate.weight.copy_(module.shared_experts.gate_proj.weight)
        layer.shared.up.weight.copy_(module.shared_experts.up_proj.weight)
        layer.shared.down.weight.copy_(module.shared_experts.down_proj.weight)
    x = torch.randn(2, 10, 16, dtype=DTYPE)
    with torch.no_grad():
        expected = module(x)
        out, routing = layer(x)
        unbiased = Router(16, 8, 2, "sigmoid", scale=2.5).to(DTYPE)
        unbiased.weight.copy_(layer.router.weight)
        assert not torch.equal(unbiased(x.reshape(-1, 16)).indices.sort().values, routing.indices.sort().values)
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(routing.gates.sum(-1), torch.full((20,), 2.5, dtype=DTYPE), **TOL)


def test_parameter_count_matches_the_params_formula():
    """`mlatlas.params.moe_params` counts this layer's weights (router vector per expert, no bias)."""
    layer = MoELayer(16, 8, num_experts=6, top_k=2, num_shared=2)
    assert sum(p.numel() for p in layer.parameters()) == moe_params(16, 8, 6, 2, 2).total


# ---------------------------------------------------------------------------
# The router and the bias
# ---------------------------------------------------------------------------


def test_bias_changes_the_choice_but_not_the_gates():
    """A large bias on expert 3 makes every token choose it, with its own affinity as gate."""
    router = Router(8, 4, top_k=1, scoring="sigmoid", normalize=False).to(DTYPE)
    x = torch.randn(10, 8, dtype=DTYPE)
    affinities = (x @ router.weight.T).sigmoid()
    router.bias[3] = 10.0
    routing = router(x)
    assert torch.all(routing.indices == 3)
    torch.testing.assert_close(routing.gates[:, 0], affinities[:, 3], **TOL)


def test_sigmoid_gates_are_normalised_over_the_chosen_experts():
    """DeepSeek-V3: g = s / sum of the chosen s, so the k gates sum to one."""
    routing = Router(8, 6, top_k=3, scoring="sigmoid").to(DTYPE)(torch.randn(5, 8, dtype=DTYPE))
    torch.testing.assert_close(routing.gates.sum(-1), torch.ones(5, dtype=DTYPE), **TOL)
    torch.testing.assert_close(routing.probs.sum(-1), torch.ones(5, dtype=DTYPE), **TOL)


def test_update_bias_moves_overloaded_down_and_underloaded_up():
    """b_i += gamma * sign(mean load - load_i); an expert at the mean keeps its bias."""
    router = Router(8, 4, top_k=1)
    router.update_bias(torch.tensor([5.0, 1.0, 3.0, 3.0]), gamma=0.1)
    torch.testing.assert_close(router.bias, torch.tensor([-0.1, 0.1, 0.0, 0.0]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"top_k": 5}, r"top_k \(5\) must be between 1 and num_experts \(4\)"),
        ({"top_k": 0}, r"top_k \(0\) must be between 1"),
        ({"scoring": "relu"}, r"scoring must be 'softmax' or 'sigmoid', got 'relu'"),
    ],
    ids=["k-too-large", "k-zero", "unknown-scoring"],
)
def test_bad_router_settings_raise(kwargs, message):
    """Impossible k and unknown scoring raise `MlatlasError` naming them."""
    arguments = {"embed_dim": 8, "num_experts": 4, "top_k": 2} | kwargs
    with pytest.raises(MlatlasError, match=message):
        Router(**arguments)


# ---------------------------------------------------------------------------
# Load and the auxiliary loss
# ---------------------------------------------------------------------------


def _routing(probs, indices):
    """A `Routing` from given probabilities and choices (gates are not used by the loss)."""
    probs, indices = torch.tensor(probs, dtype=DTYPE), torch.tensor(indices)
    return Routing(indices, torch.ones(indices.shape, dtype=DTYPE), probs, probs.size(1))


def test_aux_loss_by_hand():
    """Four tokens, two experts, top-1: f = (3/4, 1/4), P = (0.625, 0.375).

    loss = alpha * N * sum f_i P_i = 0.01 * 2 * (0.75 * 0.625 + 0.25 * 0.375) = 0.01125.
    """
    routing = _routing([[0.75, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.25]], [[0], [0], [1], [0]])
    torch.testing.assert_close(expert_load(routing), torch.tensor([0.75, 0.25]))
    loss = load_balancing_loss(routing, alpha=0.01)
    assert loss.item() == pytest.approx(0.01 * 2 * (0.75 * 0.625 + 0.25 * 0.375)) == pytest.approx(0.01125)


def test_aux_loss_is_alpha_when_balanced_and_counts_every_slot_for_top_k():
    """Uniform probabilities and load give exactly alpha; with k = 2 each token counts twice."""
    routing = _routing([[0.25] * 4] * 2, [[0, 1], [2, 3]])
    torch.testing.assert_close(expert_load(routing), torch.full((4,), 0.25))
    assert load_balancing_loss(routing, alpha=0.1).item() == pytest.approx(0.1)


def test_coefficient_of_variation():
    """0 when balanced, sqrt(E - 1) when one expert takes everything."""
    assert coefficient_of_variation(torch.full((8,), 0.125)) == 0
    assert coefficient_of_variation(torch.tensor([1.0, 0, 0, 0])) == pytest.approx(3**0.5)


# ---------------------------------------------------------------------------
# Balancing on a skewed distribution
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_both_balancing_methods_lower_the_load_spread(seed):
    """On Zipf-distributed inputs, the aux loss and the bias both lower the load's CV.

    Same data, same initial weights; only the balancing differs. The bias method
    ends near perfectly balanced, the aux loss (alpha = 0.1) clearly below no
    balancing.
    """
    none = balance_demo("none", steps=200, seed=seed).final_cv()
    aux = balance_demo("aux_loss", steps=200, alpha=0.1, seed=seed).final_cv()
    bias = balance_demo("bias", steps=200, seed=seed).final_cv()
    assert none > 0.25
    assert aux < 0.8 * none
    assert bias < 0.3 * none


def test_balance_demo_records_every_step_and_refuses_unknown_methods():
    """One load row per step, each summing to one; an unknown method raises."""
    run = balance_demo("none", steps=5, num_experts=4, top_k=1)
    assert run.load.shape == (5, 4)
    torch.testing.assert_close(run.load.sum(-1), torch.ones(5))
    assert len(run.loss) == len(run.cv) == 5
    with pytest.raises(MlatlasError, match="method must be one of none, aux_loss, bias, got 'dropout'"):
        balance_demo("dropout")
