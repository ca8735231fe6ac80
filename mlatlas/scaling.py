"""Scaling laws: how a language model's loss falls with parameters and training tokens.

Read this module top to bottom:

1. :class:`ScalingLaw`, the parametric loss of Hoffmann et al. (2022),
   $L(N, D) = E + A/N^\\alpha + B/D^\\beta$, and :func:`published_laws`, the fits
   that papers report, each with its source (``mlatlas/data/scaling_fits.yaml``);
2. :func:`compute_optimal`, the split of a compute budget $C \\approx 6ND$ between
   parameters and tokens that minimises that loss, in closed form;
3. :func:`compute_for_loss`, the inverse: the smallest budget that reaches a target
   loss, solved numerically;
4. :func:`fit_law`, which recovers $(E, A, B, \\alpha, \\beta)$ from measured runs the
   way the paper did: a Huber loss on log-losses, minimised with L-BFGS from a grid of
   starting points;
5. :class:`KaplanLaw`, the earlier law of Kaplan et al. (2020), whose different form
   and parameter count led to a different answer;
6. :func:`load_study`, the results of the small scaling study that
   ``benchmarks/scaling_study.py`` runs on a CPU.

Throughout, ``N`` is a parameter count, ``D`` a number of training tokens, ``C`` a
number of training FLOPs and losses are in nats per token.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from scipy.optimize import brentq

from mlatlas.data import load_rows
from mlatlas.errors import MlatlasError

FLOPS_PER_PARAM_TOKEN = 6
"""Training FLOPs per parameter per token: 2 for the forward pass, 4 for the backward
pass (Kaplan et al. 2020, section 2.1), so $C \\approx 6ND$."""


def _positive(name: str, value: Any) -> None:
    """Raise :class:`MlatlasError` unless ``value`` (a number or an array) is finite and > 0."""
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)) or not np.all(array > 0):
        raise MlatlasError(f"{name} must be a positive finite number, got {value!r}")


# ---------------------------------------------------------------------------
# 1. The parametric law and its published fits
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingLaw:
    """The loss of a model with ``N`` parameters trained on ``D`` tokens.

    $$L(N, D) = E + \\frac{A}{N^\\alpha} + \\frac{B}{D^\\beta}$$

    $E$ is the loss of an ideal model on this data, the entropy of the text itself,
    which no amount of scale removes. $A/N^\\alpha$ is what a model of finite size
    loses against that ideal, and $B/D^\\beta$ what a finite number of training
    tokens (seen once) loses against training to convergence (Hoffmann et al. 2022,
    section 3.3 and appendix D.2).

    Attributes:
        name: Short name, for example ``"epoch"``.
        E: Irreducible loss, nats per token.
        A: Scale of the parameter term.
        B: Scale of the data term.
        alpha: Exponent of the parameter term.
        beta: Exponent of the data term.
        label: One line saying whose fit this is.
        source: The paper, section, table or equation the constants come from.

    Example:
        >>> law = ScalingLaw("demo", E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
        >>> round(law.loss(70e9, 1.4e12), 3)
        1.937
    """

    name: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    label: str = ""
    source: str = ""

    def loss(self, params: Any, tokens: Any) -> Any:
        """Predicted loss for ``params`` parameters and ``tokens`` tokens (numbers or arrays)."""
        _positive("params", params)
        _positive("tokens", tokens)
        n, d = np.asarray(params, dtype=float), np.asarray(tokens, dtype=float)
        out = self.E + self.A / n**self.alpha + self.B / d**self.beta
        return float(out) if out.ndim == 0 else out

    @property
    def a(self) -> float:
        """Exponent of the optimal parameter count in compute, $N_\\text{opt} \\propto C^a$,
        $a = \\beta/(\\alpha+\\beta)$."""
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        """Exponent of the optimal token count in compute, $D_\\text{opt} \\propto C^b$,
        $b = \\alpha/(\\alpha+\\beta) = 1 - a$."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        """The constant $G = (\\alpha A / \\beta B)^{1/(\\alpha+\\beta)}$ of the optimal split."""
        return (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))


def published_laws() -> dict[str, ScalingLaw]:
    """The parametric fits in ``mlatlas/data/scaling_fits.yaml``, by name.

    Returns:
        ``chinchilla`` (Hoffmann et al.'s approach 3 as printed), ``chinchilla-tex``
        (the same fit unrounded) and ``epoch`` (Besiroglu et al.'s refit).
    """
    return {
        row["name"]: ScalingLaw(
            name=row["name"],
            E=float(row["E"]),
            A=float(row["A"]),
            B=float(row["B"]),
            alpha=float(row["alpha"]),
            beta=float(row["beta"]),
            label=row["label"],
            source=" ".join(row["source"].split()),
        )
        for row in load_rows("scaling_fits")
        if row["form"] == "parametric"
    }


def published_law(name: str) -> ScalingLaw:
    """Look up one published fit by name.

    Raises:
        MlatlasError: If the name is unknown; the message lists the known ones.
    """
    laws = published_laws()
    if name not in laws:
        raise MlatlasError(f"unknown fit {name!r}; known: {', '.join(laws)}")
    return laws[name]


# ---------------------------------------------------------------------------
# 2. Splitting a compute budget
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """A compute budget, split between parameters and tokens, and the loss it buys.

    Attributes:
        law: Name of the fit used.
        compute: Training FLOPs $C = 6ND$.
        params: Parameters $N$.
        tokens: Training tokens $D$.
        loss: Predicted loss $L(N, D)$.
    """

    law: str
    compute: float
    params: float
    tokens: float
    loss: float

    @property
    def tokens_per_param(self) -> float:
        """Training tokens per parameter, $D/N$."""
        return self.tokens / self.params


def compute_optimal(law: ScalingLaw, compute: float) -> Allocation:
    """The parameter count and token count that minimise the loss for a FLOP budget.

    With $D = C/6N$ the loss is a function of $N$ alone; setting its derivative to zero
    balances the two terms, $\\alpha A/N^\\alpha = \\beta B/D^\\beta$, and gives
    (Hoffmann et al. 2022, equation 4)

    $$N_\\text{opt} = G \\left(\\frac{C}{6}\\right)^{a},\\quad
    D_\\text{opt} = \\frac{C/6}{N_\\text{opt}} = G^{-1} \\left(\\frac{C}{6}\\right)^{b},\\quad
    G = \\left(\\frac{\\alpha A}{\\beta B}\\right)^{\\frac{1}{\\alpha+\\beta}}$$

    with $a = \\beta/(\\alpha+\\beta)$ and $b = \\alpha/(\\alpha+\\beta)$. $E$ does not
    move the optimum, only the loss reached there.

    Args:
        law: The fit to use.
        compute: Training FLOPs.

    Returns:
        The optimal :class:`Allocation`.

    Example:
        >>> law = published_law("epoch")
        >>> best = compute_optimal(law, 6 * 70e9 * 1.4e12)  # Chinchilla's own budget
        >>> f"{best.params:.2g} parameters, {best.tokens_per_param:.1f} tokens per parameter"
        '7.3e+10 parameters, 18.4 tokens per parameter'
    """
    _positive("compute", compute)
    budget = compute / FLOPS_PER_PARAM_TOKEN  # = N * D
    params = law.G * budget**law.a
    if params == 0:  # a compute so small that float64 rounds the optimum to nothing
        raise MlatlasError(f"compute of {compute:g} FLOPs is too small to allocate: the optimal size rounds to 0")
    tokens = budget / params
    return Allocation(law.name, float(compute), float(params), float(tokens), law.loss(params, tokens))


# ---------------------------------------------------------------------------
# 3. The budget for a target loss
# ---------------------------------------------------------------------------


def compute_for_loss(law: ScalingLaw, target: float) -> Allocation:
    """The smallest FLOP budget whose optimal split reaches a target loss.

    The loss along the optimal split falls monotonically with compute towards $E$, so
    the budget is the root of $L(N_\\text{opt}(C), D_\\text{opt}(C)) = L_\\text{target}$,
    found by Brent's method on $\\ln C$. No budget reaches $E$ or below it.

    Args:
        law: The fit to use.
        target: The loss to reach, nats per token; must exceed ``law.E``.

    Returns:
        The optimal :class:`Allocation` at that budget.

    Raises:
        MlatlasError: If ``target`` is not above ``law.E``, or needs more than 1e300
            FLOPs.

    Example:
        >>> law = published_law("epoch")
        >>> f"{compute_for_loss(law, 2.0).compute:.3g} FLOPs"
        '2.47e+23 FLOPs'
    """
    _positive("target loss", target)
    if target <= law.E:
        raise MlatlasError(
            f"target loss {target} is not above the irreducible loss E = {law.E} of fit "
            f"{law.name!r}; no compute budget reaches it"
        )

    def excess(log_compute: float) -> float:
        return compute_optimal(law, math.exp(log_compute)).loss - target

    low, high = math.log(1e-30), math.log(1e300)
    if excess(high) > 0:
        raise MlatlasError(f"target loss {target} needs more than 1e300 FLOPs under fit {law.name!r}")
    if excess(low) < 0:
        raise MlatlasError(f"target loss {target} is reached below 1e-30 FLOPs: it is no target")
    log_compute = brentq(excess, low, high, xtol=1e-12, rtol=1e-14)
    return compute_optimal(law, math.exp(log_compute))


# ---------------------------------------------------------------------------
# 4. Fitting the law to measured runs
# ---------------------------------------------------------------------------

PAPER_GRID: dict[str, tuple[float, ...]] = {
    "a": (0, 5, 10, 15, 20, 25),
    "b": (0, 5, 10, 15, 20, 25),
    "e": (-1, -0.5, 0, 0.5, 1),
    "alpha": (0, 0.5, 1, 1.5, 2),
    "beta": (0, 0.5, 1, 1.5, 2),
}
"""The 4,500 starting points of Hoffmann et al. 2022, appendix D.2, for
$(a, b, e) = (\\ln A, \\ln B, \\ln E)$, $\\alpha$ and $\\beta$."""


def huber_objective(
    theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, delta: float
) -> tuple[Any, np.ndarray]:
    """The fitting objective and its gradient (Hoffmann et al. 2022, appendix D.2).

    $$\\sum_i \\operatorname{Huber}_\\delta\\Big(\\operatorname{LSE}\\big(a - \\alpha \\log N_i,\\;
    b - \\beta \\log D_i,\\; e\\big) - \\log L_i\\Big)$$

    $\\operatorname{LSE}$ (log-sum-exp) of the three terms is the logarithm of the
    predicted loss with $A, B, E = e^a, e^b, e^e$, so the residuals are relative errors
    and the fit is free of constraints. The Huber loss is quadratic for residuals
    below $\\delta$ and linear above, so a few bad runs do not drag the fit. The
    residuals are summed: averaging them shrinks the objective and its gradient so
    much that the optimiser stops before it converges, which Besiroglu et al. (2024)
    identify as the reason the original estimates were off.

    Args:
        theta: ``(a, b, e, alpha, beta)``, or an array of shape ``(S, 5)`` holding
            ``S`` such points, evaluated side by side.
        log_n: Natural logarithms of the parameter counts, shape ``(M,)``.
        log_d: Natural logarithms of the token counts, shape ``(M,)``.
        log_loss: Natural logarithms of the measured losses, shape ``(M,)``.
        delta: The Huber threshold.

    Returns:
        The objective (a float, or shape ``(S,)``) and its gradient with respect to
        ``theta`` (shape ``(5,)`` or ``(S, 5)``).
    """
    theta = np.asarray(theta, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):  # a start running off to infinity gives inf, not a warning
        return _huber_objective(theta, log_n, log_d, log_loss, delta)


def _huber_objective(
    theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_loss: np.ndarray, delta: float
) -> tuple[Any, np.ndarray]:
    a, b, e, alpha, beta = (theta[..., k, None] for k in range(5))
    terms = np.stack(np.broadcast_arrays(a - alpha * log_n, b - beta * log_d, e + 0 * log_n))
    top = terms.max(axis=0)
    weights = np.exp(terms - top)
    total = weights.sum(axis=0)
    residual = top + np.log(total) - log_loss
    weights /= total  # d LSE / d term: each term's share of the predicted loss
    small = np.abs(residual) <= delta
    value = np.where(small, 0.5 * residual**2, delta * (np.abs(residual) - 0.5 * delta)).sum(axis=-1)
    slope = np.clip(residual, -delta, delta)  # d Huber / d residual
    grad = np.stack(
        [
            (slope * weights[0]).sum(axis=-1),
            (slope * weights[1]).sum(axis=-1),
            (slope * weights[2]).sum(axis=-1),
            -(slope * weights[0] * log_n).sum(axis=-1),
            -(slope * weights[1] * log_d).sum(axis=-1),
        ],
        axis=-1,
    )
    return (float(value) if value.ndim == 0 else value), grad


def lbfgs(
    fun: Any, x0: np.ndarray, *, memory: int = 10, max_iter: int = 1000, gtol: float = 1e-10, ftol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``S`` independent problems side by side with L-BFGS.

    Each row of ``x0`` is one starting point; each row runs its own L-BFGS (the
    two-loop recursion of Nocedal and Wright 2006, algorithm 7.4, with the last
    ``memory`` steps) and its own backtracking line search, but every evaluation of
    ``fun`` covers all rows at once, so 4,500 starts cost about as much as a few dozen
    one at a time. A row stops when its largest gradient component falls below
    ``gtol``, when an iteration improves it by less than ``ftol`` relative, or when no
    step along its direction decreases it.

    Args:
        fun: Maps an ``(S, K)`` array to values ``(S,)`` and gradients ``(S, K)``.
        x0: Starting points, shape ``(S, K)``.
        memory: Number of past steps kept per row.
        max_iter: Iterations at most.
        gtol: Gradient threshold.
        ftol: Relative improvement threshold.

    Returns:
        The final points ``(S, K)`` and their values ``(S,)``.
    """
    x = np.array(x0, dtype=float)
    f, g = fun(x)
    steps: list[np.ndarray] = []  # s_k = x_{k+1} - x_k, newest last
    changes: list[np.ndarray] = []  # y_k = g_{k+1} - g_k
    inverse_curvature: list[np.ndarray] = []  # rho_k = 1 / (y_k . s_k), 0 where unusable
    scale = 1.0 / np.maximum(np.linalg.norm(g, axis=1), 1e-300)  # first step: length 1 along -g
    active = np.abs(g).max(axis=1) > gtol
    for _ in range(max_iter):
        rows = np.flatnonzero(active)  # finished rows cost nothing more
        if not len(rows):
            break
        # Two-loop recursion: direction = -H g, H the inverse-Hessian estimate.
        q = g[rows].copy()
        coefficients = []
        for s, y, rho in zip(reversed(steps), reversed(changes), reversed(inverse_curvature), strict=True):
            c = rho[rows] * np.einsum("ij,ij->i", s[rows], q)
            q -= c[:, None] * y[rows]
            coefficients.append(c)
        r = scale[rows, None] * q
        for s, y, rho, c in zip(steps, changes, inverse_curvature, reversed(coefficients), strict=True):
            r += s[rows] * (c - rho[rows] * np.einsum("ij,ij->i", y[rows], r))[:, None]
        direction = -r
        uphill = np.einsum("ij,ij->i", g[rows], direction) >= 0  # a stale estimate: use steepest descent
        direction[uphill] = -scale[rows[uphill], None] * g[rows[uphill]]
        slope = np.einsum("ij,ij->i", g[rows], direction)
        # Backtracking line search (Armijo): halve the step until the value drops enough.
        t = np.ones(len(rows))
        new_x, new_f, new_g = x.copy(), f.copy(), g.copy()
        pending = np.ones(len(rows), dtype=bool)
        for _ in range(60):
            if not pending.any():
                break
            trial = x[rows[pending]] + t[pending, None] * direction[pending]
            trial_f, trial_g = fun(trial)
            ok = np.isfinite(trial_f) & (trial_f <= f[rows[pending]] + 1e-4 * t[pending] * slope[pending])
            done = np.flatnonzero(pending)[ok]
            new_x[rows[done]], new_f[rows[done]], new_g[rows[done]] = trial[ok], trial_f[ok], trial_g[ok]
            pending[done] = False
            t[pending] *= 0.5
        s, y = new_x - x, new_g - g  # zero for the finished rows
        sy = np.einsum("ij,ij->i", s, y)
        usable = sy > 1e-300
        steps.append(s)
        changes.append(y)
        inverse_curvature.append(np.where(usable, 1.0 / np.where(usable, sy, 1.0), 0.0))
        if len(steps) > memory:  # forget the oldest step
            del steps[0], changes[0], inverse_curvature[0]
        scale = np.where(usable, sy / np.maximum(np.einsum("ij,ij->i", y, y), 1e-300), scale)
        improvement = f - new_f
        x, f, g = new_x, new_f, new_g
        active[rows[pending]] = False  # no step along the direction decreased the value
        active &= (np.abs(g).max(axis=1) > gtol) & (improvement > ftol * np.abs(f))
    return x, f


@dataclass(frozen=True)
class FittedLaw:
    """The outcome of :func:`fit_law`.

    Attributes:
        law: The best fit found.
        objective: Its summed Huber loss.
        starts: How many starting points L-BFGS was run from.
    """

    law: ScalingLaw
    objective: float
    starts: int


def fit_law(
    params: Any,
    tokens: Any,
    losses: Any,
    *,
    delta: float = 1e-3,
    grid: dict[str, tuple[float, ...]] | None = None,
    name: str = "fitted",
    source: str = "fitted with mlatlas.scaling.fit_law",
) -> FittedLaw:
    """Fit $E, A, B, \\alpha, \\beta$ to measured runs as Hoffmann et al. did.

    Minimises :func:`huber_objective` with L-BFGS (:func:`lbfgs`) from every point of
    ``grid`` and keeps the best local minimum (Hoffmann et al. 2022, appendix D.2;
    Besiroglu et al. 2024 repeat it with the same $\\delta$ and grid).

    Args:
        params: Parameter count of each run.
        tokens: Training tokens of each run.
        losses: Final loss of each run, nats per token.
        delta: Huber threshold; the paper's $10^{-3}$ by default.
        grid: Starting values for ``a``, ``b``, ``e``, ``alpha`` and ``beta``; every
            combination is tried. Defaults to :data:`PAPER_GRID` (4,500 starts).
        name: Name of the returned law.
        source: Source line of the returned law.

    Returns:
        The best :class:`FittedLaw`.

    Raises:
        MlatlasError: If the inputs are not positive, differ in length, or are fewer
            than five runs (five constants need at least five measurements).
    """
    n, d, loss = (np.asarray(x, dtype=float).ravel() for x in (params, tokens, losses))
    if not len(n) == len(d) == len(loss):
        raise MlatlasError(f"params, tokens and losses differ in length: {len(n)}, {len(d)}, {len(loss)}")
    if len(n) < 5:
        raise MlatlasError(f"fitting five constants needs at least five runs, got {len(n)}")
    for label, values in (("params", n), ("tokens", d), ("losses", loss), ("delta", delta)):
        _positive(label, values)
    grid = PAPER_GRID if grid is None else grid
    starts = np.array(list(itertools.product(*(grid[k] for k in ("a", "b", "e", "alpha", "beta")))), dtype=float)
    data = (np.log(n), np.log(d), np.log(loss), delta)
    ends, values = lbfgs(lambda theta: huber_objective(theta, *data), starts)
    # A start can run off to infinity along a valley of the objective (A and alpha
    # growing together, say); only end points whose A, B and E are numbers compete.
    finite = np.isfinite(ends).all(axis=1) & (np.abs(ends[:, :3]) < 700).all(axis=1) & np.isfinite(values)
    if not finite.any():
        raise MlatlasError("the fit diverged from every starting point: the runs do not pin the law down")
    best = int(np.flatnonzero(finite)[np.argmin(values[finite])])
    a, b, e, alpha, beta = ends[best]
    law = ScalingLaw(name, math.exp(e), math.exp(a), math.exp(b), float(alpha), float(beta), name, source)
    return FittedLaw(law, float(values[best]), len(starts))


# ---------------------------------------------------------------------------
# 5. Kaplan et al.'s law, for contrast
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KaplanLaw:
    """Kaplan et al.'s joint law for a model trained with early stopping.

    $$L(N, D) = \\left[\\left(\\frac{N_c}{N}\\right)^{\\alpha_N/\\alpha_D} +
    \\frac{D_c}{D}\\right]^{\\alpha_D}$$

    It differs from :class:`ScalingLaw` in three ways: ``N`` counts only
    non-embedding parameters, there is no irreducible term (the loss tends to zero
    with scale), and the two resources combine inside one power rather than as a sum
    (Kaplan et al. 2020, equation 1.5 and section 4).

    Attributes:
        alpha_N: Exponent of $L(N)$ at unlimited data.
        alpha_D: Exponent of $L(D)$ at unlimited model size.
        N_c: Scale of the parameter term, non-embedding parameters.
        D_c: Scale of the data term, tokens.
        source: The paper and table the constants come from.
    """

    alpha_N: float
    alpha_D: float
    N_c: float
    D_c: float
    source: str = ""

    def loss(self, non_embedding_params: Any, tokens: Any) -> Any:
        """Predicted loss for a model with that many non-embedding parameters and tokens."""
        _positive("non_embedding_params", non_embedding_params)
        _positive("tokens", tokens)
        n, d = np.asarray(non_embedding_params, dtype=float), np.asarray(tokens, dtype=float)
        out = ((self.N_c / n) ** (self.alpha_N / self.alpha_D) + self.D_c / d) ** self.alpha_D
        return float(out) if out.ndim == 0 else out


def kaplan_law() -> KaplanLaw:
    """Kaplan et al.'s fitted constants from ``mlatlas/data/scaling_fits.yaml``."""
    (row,) = (r for r in load_rows("scaling_fits") if r["form"] == "kaplan")
    return KaplanLaw(
        float(row["alpha_N"]), float(row["alpha_D"]), float(row["N_c"]), float(row["D_c"]),
        " ".join(row["source"].split()),
    )


# ---------------------------------------------------------------------------
# 6. The CPU scaling study
# ---------------------------------------------------------------------------


def load_study() -> dict[str, Any]:
    """The committed results of ``benchmarks/scaling_study.py``.

    Returns:
        The contents of ``mlatlas/data/scaling_study.json``: ``provenance`` (date,
        machine, versions, command, corpus), ``runs`` (each model's parameters, tokens,
        held-out loss and seconds) and ``fit`` (the law fitted to them).

    Raises:
        MlatlasError: If the study has not been run and committed.
    """
    path = resources.files("mlatlas.data") / "scaling_study.json"
    if not path.is_file():
        raise MlatlasError("mlatlas/data/scaling_study.json is missing: run benchmarks/scaling_study.py")
    return json.loads(path.read_text(encoding="utf-8"))
