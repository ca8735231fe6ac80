"""Mixture of experts: many feed-forward networks, a few per token.

A mixture-of-experts (MoE) layer replaces a transformer's feed-forward network by
$N$ smaller ones, the **experts**, and a **router** that sends each token to $k$ of
them. Parameters grow with $N$; compute per token grows only with $k$.

Read this module top to bottom:

1. :class:`Expert`, a SwiGLU feed-forward network;
2. :class:`Router`, which scores the experts (softmax or DeepSeek-V3's sigmoid),
   picks the top $k$ and weighs their outputs; its per-expert bias steers the
   selection only;
3. :class:`MoELayer`, fine-grained routed experts plus always-on shared experts
   (DeepSeekMoE), dispatched with one vectorised gather per expert;
4. load balancing: :func:`expert_load`, :func:`load_balancing_loss` (Switch
   Transformer) and :meth:`Router.update_bias` (DeepSeek-V3's
   auxiliary-loss-free method);
5. :func:`balance_demo`, a small training run that shows what each method does to
   the experts' load.

Shapes use ``N`` tokens (batch and sequence flattened), ``E`` routed experts, ``k``
experts per token and ``d`` the model width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mlatlas.errors import MlatlasError

# ---------------------------------------------------------------------------
# 1. An expert
# ---------------------------------------------------------------------------


class Expert(nn.Module):
    """A SwiGLU feed-forward network, $W_2\\,(\\operatorname{SiLU}(W_1 x) \\odot W_3 x)$.

    The feed-forward network of Llama and DeepSeek, here one expert among many.

    Args:
        embed_dim: Model width $d$.
        hidden_dim: The expert's inner width.
    """

    def __init__(self, embed_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.gate = nn.Linear(embed_dim, hidden_dim, bias=False)
        self.up = nn.Linear(embed_dim, hidden_dim, bias=False)
        self.down = nn.Linear(hidden_dim, embed_dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the network to ``x`` of shape ``(..., d)``."""
        return self.down(F.silu(self.gate(x)) * self.up(x))


# ---------------------------------------------------------------------------
# 2. The router
# ---------------------------------------------------------------------------


@dataclass
class Routing:
    """Where a router sent each token, and how much each chosen expert counts.

    Attributes:
        indices: Chosen experts, shape ``(N, k)``.
        gates: Weights of the chosen experts' outputs, shape ``(N, k)``.
        probs: Router probabilities over all experts, shape ``(N, E)``, each row
            summing to one: the softmax, or for sigmoid scoring the affinities
            divided by their sum. The auxiliary loss uses these.
        num_experts: ``E``.
    """

    indices: Tensor
    gates: Tensor
    probs: Tensor
    num_experts: int


class Router(nn.Module):
    """Score every expert for every token, keep the top $k$.

    With $e_i$ a learned vector per expert, the affinity of token $u_t$ for expert
    $i$ is

    - ``"softmax"`` (Switch Transformer, DeepSeek-V2):
      $s_{i,t} = \\operatorname{softmax}_i(u_t^\\top e_i)$;
    - ``"sigmoid"`` (DeepSeek-V3, arXiv:2412.19437 section 2.1.2):
      $s_{i,t} = \\sigma(u_t^\\top e_i)$.

    The top $k$ experts by $s_{i,t} + b_i$ are chosen, where $b_i$ is the
    balancing bias (zero unless :meth:`update_bias` moved it). The bias only
    decides *which* experts are chosen; the gate of a chosen expert is its
    affinity $s_{i,t}$, divided by the sum over the chosen ones when
    ``normalize`` is true (DeepSeek-V3's $g_{i,t} = g'_{i,t} / \\sum_j g'_{j,t}$),
    then multiplied by ``scale``.

    Args:
        embed_dim: Model width $d$.
        num_experts: Routed experts $E$.
        top_k: Experts per token $k$, at most $E$.
        scoring: ``"softmax"`` or ``"sigmoid"``.
        normalize: Renormalise the chosen gates to sum to one. Defaults to
            ``False`` for softmax (as Switch and DeepSeek-V2) and ``True`` for sigmoid
            (as DeepSeek-V3).
        scale: Factor on the gates (DeepSeek-V3's ``routed_scaling_factor``).
    """

    def __init__(
        self,
        embed_dim: int,
        num_experts: int,
        top_k: int,
        scoring: str = "softmax",
        normalize: bool | None = None,
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        if scoring not in ("softmax", "sigmoid"):
            raise MlatlasError(f"scoring must be 'softmax' or 'sigmoid', got {scoring!r}")
        if not 1 <= top_k <= num_experts:
            raise MlatlasError(f"top_k ({top_k}) must be between 1 and num_experts ({num_experts})")
        self.num_experts, self.top_k, self.scoring = num_experts, top_k, scoring
        self.normalize = scoring == "sigmoid" if normalize is None else normalize
        self.scale = scale
        self.weight = nn.Parameter(torch.empty(num_experts, embed_dim))
        nn.init.normal_(self.weight, std=embed_dim**-0.5)
        # A buffer, not a parameter: no gradient moves it, only update_bias().
        self.register_buffer("bias", torch.zeros(num_experts))

    def forward(self, x: Tensor) -> Routing:
        """Route tokens ``x`` of shape ``(N, d)``."""
        logits = x @ self.weight.t()  # (N, E)
        if self.scoring == "softmax":
            scores = logits.softmax(dim=-1)
            probs = scores
        else:
            scores = logits.sigmoid()
            probs = scores / scores.sum(dim=-1, keepdim=True)
        # Selection sees the bias; the gates do not.
        indices = torch.topk(scores + self.bias, self.top_k, dim=-1).indices
        gates = scores.gather(-1, indices)
        if self.normalize:
            gates = gates / gates.sum(dim=-1, keepdim=True)
        return Routing(indices, gates * self.scale, probs, self.num_experts)

    @torch.no_grad()
    def update_bias(self, load: Tensor, gamma: float) -> None:
        """DeepSeek-V3's auxiliary-loss-free balancing step (arXiv:2412.19437, section 2.1.2).

        After each training step, the bias of every overloaded expert (more tokens
        than the mean) goes down by $\\gamma$ and that of every underloaded one goes
        up by $\\gamma$:

        $$b_i \\leftarrow b_i + \\gamma\\,\\operatorname{sign}(\\bar{c} - c_i)$$

        with $c_i$ the tokens expert $i$ received in the step. Being outside the
        loss, it balances the load without adding a gradient that competes with the
        language-modelling objective.

        Args:
            load: Tokens (or fractions of them) each expert received, shape ``(E,)``.
            gamma: The bias update speed $\\gamma$.
        """
        self.bias += gamma * torch.sign(load.float().mean() - load.float())


# ---------------------------------------------------------------------------
# 3. The layer
# ---------------------------------------------------------------------------


class MoELayer(nn.Module):
    """DeepSeekMoE: fine-grained routed experts plus shared experts (arXiv:2401.06066).

    $$h'_t = u_t + \\sum_{i=1}^{N_s} \\operatorname{FFN}^{(s)}_i(u_t)
    + \\sum_{i=1}^{N_r} g_{i,t}\\,\\operatorname{FFN}^{(r)}_i(u_t)$$

    with $g_{i,t}$ zero except for the $K_r$ experts the router chose. (This
    layer returns the two sums; the residual $u_t$ is the caller's.) Fine-grained
    segmentation splits each expert into $m$ narrower ones and routes to $m$ times
    as many, keeping compute fixed while multiplying the combinations a token can
    use; shared experts see every token and hold common knowledge, so the routed
    ones need not each learn it again.

    The $N_s$ shared experts are stored as one SwiGLU network $N_s$ times as wide,
    which computes exactly their sum (a SwiGLU network is a sum over its hidden
    units); DeepSeek's released code does the same.

    Args:
        embed_dim: Model width $d$.
        expert_dim: Inner width of each expert.
        num_experts: Routed experts $N_r$.
        top_k: Routed experts per token $K_r$.
        num_shared: Shared experts $N_s$.
        scoring: The router's ``"softmax"`` or ``"sigmoid"`` (see :class:`Router`).
        normalize: See :class:`Router`.
        scale: See :class:`Router`.
    """

    def __init__(
        self,
        embed_dim: int,
        expert_dim: int,
        num_experts: int,
        top_k: int,
        num_shared: int = 0,
        scoring: str = "softmax",
        normalize: bool | None = None,
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.router = Router(embed_dim, num_experts, top_k, scoring, normalize, scale)
        self.experts = nn.ModuleList(Expert(embed_dim, expert_dim) for _ in range(num_experts))
        self.shared = Expert(embed_dim, expert_dim * num_shared) if num_shared else None

    def forward(self, x: Tensor) -> tuple[Tensor, Routing]:
        """Send each token of ``x`` (shape ``(..., d)``) to its experts and mix their outputs.

        Dispatch loops over experts, not tokens: for each expert one ``where``
        finds every (token, slot) pair routed to it, one batched call runs the
        expert on those tokens, and ``index_add_`` adds the gated outputs back.

        Returns:
            The output, same shape as ``x``, and the :class:`Routing` of the
            flattened tokens (for the auxiliary loss and load statistics).
        """
        tokens = x.reshape(-1, x.size(-1))  # (N, d)
        routing = self.router(tokens)
        out = torch.zeros_like(tokens)
        for e, expert in enumerate(self.experts):
            token_idx, slot = torch.where(routing.indices == e)
            if token_idx.numel():
                weighted = routing.gates[token_idx, slot, None] * expert(tokens[token_idx])
                out = out.index_add(0, token_idx, weighted)
        if self.shared is not None:
            out = out + self.shared(tokens)
        return out.view_as(x), routing


# ---------------------------------------------------------------------------
# 4. Load balancing
# ---------------------------------------------------------------------------


def expert_load(routing: Routing) -> Tensor:
    """Fraction of the routed (token, slot) pairs each expert received, shape ``(E,)``.

    Sums to one; a perfectly balanced router gives every expert $1/E$.
    """
    counts = torch.bincount(routing.indices.flatten(), minlength=routing.num_experts)
    return counts.float() / routing.indices.numel()


def coefficient_of_variation(load: Tensor) -> float:
    """Spread of the load, $\\sigma / \\mu$ over experts: 0 when balanced.

    With $E$ experts it reaches its maximum $\\sqrt{E-1}$ when one expert gets
    everything (population standard deviation).
    """
    load = load.float()
    return (load.std(unbiased=False) / load.mean()).item()


def load_balancing_loss(routing: Routing, alpha: float = 0.01) -> Tensor:
    """The Switch Transformer's auxiliary loss (Fedus et al., 2021, eq. 4).

    $$\\text{loss} = \\alpha \\cdot N \\cdot \\sum_{i=1}^{N} f_i \\cdot P_i$$

    with $N$ here the number of experts $E$, $f_i$ the fraction of tokens
    dispatched to expert $i$ (:func:`expert_load`, which for $k > 1$ counts each
    of a token's $k$ slots, so $\\sum_i f_i = 1$ still) and $P_i$ the mean router
    probability of expert $i$. $f$ is a count and has no gradient; the gradient
    flows through $P$ and pushes probability away from the experts that already
    get many tokens. Uniform routing gives the minimum, $\\alpha$.

    Args:
        routing: The router's output for a batch.
        alpha: The loss coefficient (the paper uses $10^{-2}$).

    Returns:
        A scalar tensor.
    """
    f = expert_load(routing).to(routing.probs.dtype)
    p = routing.probs.mean(dim=0)
    return alpha * routing.num_experts * torch.sum(f * p)


# ---------------------------------------------------------------------------
# 5. A small training run
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceRun:
    """The expert load of a training run, step by step.

    Attributes:
        method: ``"none"``, ``"aux_loss"`` or ``"bias"``.
        load: Fraction of routed slots per expert at each step, shape ``(steps, E)``.
        loss: Task loss (mean squared error) at each step.
    """

    method: str
    load: Tensor
    loss: list[float]

    @property
    def cv(self) -> list[float]:
        """Coefficient of variation of the load at each step."""
        return [coefficient_of_variation(row) for row in self.load]

    def final_cv(self, last: int = 20) -> float:
        """Coefficient of variation of the load averaged over the last ``last`` steps."""
        return coefficient_of_variation(self.load[-last:].mean(dim=0))


METHODS = ("none", "aux_loss", "bias")
"""The balancing methods :func:`balance_demo` compares."""


def balance_demo(
    method: str,
    steps: int = 300,
    num_experts: int = 8,
    top_k: int = 2,
    batch_size: int = 256,
    alpha: float = 0.1,
    gamma: float = 0.01,
    seed: int = 0,
) -> BalanceRun:
    """Train one MoE layer on a skewed input distribution and record the expert load.

    Tokens come from 16 clusters with Zipf-like frequencies (the most common
    cluster is 16 times more frequent than the rarest), and the layer learns a
    different random map per cluster. An untrained router already sends the
    frequent clusters to a few experts; training makes those experts better at
    them, and the imbalance sticks. The run uses Adam and sigmoid routing, as
    DeepSeek-V3 does.

    Args:
        method: ``"none"``, ``"aux_loss"`` (add :func:`load_balancing_loss` with
            ``alpha``) or ``"bias"`` (call :meth:`Router.update_bias` with
            ``gamma`` after every step).
        steps: Training steps.
        num_experts: Routed experts.
        top_k: Experts per token.
        batch_size: Tokens per step.
        alpha: Auxiliary loss coefficient.
        gamma: Bias update speed.
        seed: Seeds the data, the model and the sampling.

    Returns:
        The load and the task loss at every step.
    """
    if method not in METHODS:
        raise MlatlasError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    # The tensors are tiny: one thread is fastest, and keeps a busy machine responsive.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(method, steps, num_experts, top_k, batch_size, alpha, gamma, seed)
    finally:
        torch.set_num_threads(threads)


def _train(
    method: str, steps: int, num_experts: int, top_k: int, batch_size: int, alpha: float, gamma: float, seed: int
) -> BalanceRun:
    """The training loop of :func:`balance_demo`."""
    gen = torch.Generator().manual_seed(seed)
    dim, clusters = 16, 16
    centres = torch.randn(clusters, dim, generator=gen) * 2
    targets = torch.randn(clusters, dim, dim, generator=gen) / dim**0.5
    freq = 1.0 / torch.arange(1, clusters + 1, dtype=torch.float32)
    torch.manual_seed(seed)
    layer = MoELayer(dim, 32, num_experts, top_k, scoring="sigmoid")
    optimizer = torch.optim.Adam(layer.parameters(), lr=3e-3)
    loads, losses = [], []
    for _ in range(steps):
        cluster = torch.multinomial(freq, batch_size, replacement=True, generator=gen)
        x = centres[cluster] + 0.5 * torch.randn(batch_size, dim, generator=gen)
        y = torch.einsum("nij,nj->ni", targets[cluster], x)
        out, routing = layer(x)
        task = F.mse_loss(out, y)
        loss = task + load_balancing_loss(routing, alpha) if method == "aux_loss" else task
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        load = expert_load(routing)
        if method == "bias":
            layer.router.update_bias(load, gamma)
        loads.append(load)
        losses.append(task.item())
    return BalanceRun(method, torch.stack(loads), losses)
