r"""Least power that meets the SINR targets (uplink-downlink duality), in the span basis.

With effective channels $g_k = \sqrt{\Gamma_k}\, u_k$ (unit noise, power in units of
$P$, see `beamopt.bistatic._span`) the Gaussian-only power minimisation

$$
p_{\min}(\gamma) = \min \sum_k \mathrm{tr}\,X_k \quad\text{s.t.}\quad
\frac{g_k^H X_k g_k}{\sum_{j\ne k} g_k^H X_j g_k + 1} \ge \gamma_k
$$

is solved by its virtual uplink: the uplink powers are the least fixed point of the
standard interference function

$$
\lambda_k = \Big((1 + \gamma_k^{-1})\, g_k^H \big(I + \textstyle\sum_j \lambda_j g_j g_j^H
\big)^{-1} g_k\Big)^{-1},
$$

$p_{\min} = \sum_k \lambda_k$, the optimal beams are the MMSE filters
$v_k \propto (I + \sum_j \lambda_j g_j g_j^H)^{-1} g_k$ and the downlink powers solve a
$K \times K$ linear system (Rashid-Farrokhi, Tassiulas and Liu; Wiesel, Eldar and
Shamai, *Linear precoding via conic optimization for fixed MIMO receivers*). The
iteration from $\lambda = 0$ increases monotonically to the fixed point (Yates'
standard interference functions), so as soon as $\sum_k \lambda_k$ exceeds the budget
the targets are **certified infeasible**, for any design with or without a sensing
signal (which only adds interference and uses power). The targets are feasible
exactly when $p_{\min} \le 1$.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._span import SpanProblem

__all__ = ["PowerMin", "min_power", "max_common_scale", "is_feasible"]

_MAX_ITER = 200
_RTOL = 1e-13


@dataclass(frozen=True)
class PowerMin:
    """Outcome of the uplink fixed point (normalised units, span basis)."""

    power: float  # power of the least-power design X, or a lower bound on p_min if infeasible
    feasible: bool  # p_min <= budget (certified either way)
    X: np.ndarray | None  # (K, d, d) rank-one least-power design (None if infeasible)
    iterations: int
    lower: float = 0.0  # certified lower bound on p_min (a point below its own image)


def _interference(G, lam, act, inv_g, eye):
    """The interference function I(lam) and F = Sigma^{-1} G^T (columns Sigma^{-1} g_k)."""
    Sigma = eye + (G.T * lam) @ G.conj()  # I + sum_j lam_j g_j g_j^H
    F = np.linalg.solve(Sigma, G.T)
    quad = np.einsum("kd,dk->k", G.conj(), F).real
    with np.errstate(divide="ignore"):
        return np.where(act, 1.0 / (inv_g * quad), 0.0), F


def _uplink(p: SpanProblem, gamma, budget):
    r"""Fixed point of the interference function by Newton's method.

    $F(\lambda) = \lambda - I(\lambda)$ is convex ($I$ is concave: a minimum over
    receive filters of affine functions), so after the first step the Newton iterates
    decrease monotonically to the fixed point, each an upper bound on it; a point
    with $\lambda \le I(\lambda)$ is a lower bound (Yates). Returns the uplink powers,
    the filters and whether the budget is met; infeasibility is reported only with a
    certified lower bound above the budget.
    """
    act = gamma > 0
    G = np.sqrt(p.max_snr)[:, None] * p.U  # rows g_k
    inv_g = np.where(act, 1.0 + 1.0 / np.where(act, gamma, 1.0), 0.0)
    eye = np.eye(p.dim)
    idx = np.flatnonzero(act)
    lam = np.zeros(p.n_users)
    it = 0
    while it < _MAX_ITER:
        it += 1
        val, F = _interference(G, lam, act, inv_g, eye)
        if np.all(np.abs(val - lam) <= _RTOL * np.maximum(val, 1e-300)):
            lam = val
            break
        # Jacobian of I on the active users: dI_k/dlam_j = (1 + 1/gamma_k) I_k^2 |g_k^H F_j|^2
        C = np.abs(G[idx].conj() @ F[:, idx]) ** 2
        J = (inv_g[idx] * val[idx] ** 2)[:, None] * C
        try:
            step = np.linalg.solve(np.eye(idx.size) - J, val[idx] - lam[idx])
        except np.linalg.LinAlgError:
            step = None
        new = lam.copy()
        if step is None or not np.all(np.isfinite(step)):
            new = val  # plain fixed-point step (monotone from below)
        else:
            new[idx] = lam[idx] + step
        if np.any(new[idx] <= 0):
            new = val
        lam = new
    val, F = _interference(G, lam, act, inv_g, eye)
    if val.sum() > budget * (1 + 1e-9):
        low = lam * (1 - 1e-9)  # certify: a point below its own image lies below the fixed point
        if np.all(_interference(G, low, act, inv_g, eye)[0] >= low):
            return low, F, it, False
    return lam, F, it, True


def min_power(p: SpanProblem, gamma=None, budget: float = 1.0) -> PowerMin:
    """Least-power Gaussian-only design for the targets (`p.gamma` by default)."""
    gamma = p.gamma if gamma is None else np.asarray(gamma, dtype=float)
    lam, F, it, ok = _uplink(p, gamma, budget)
    if not ok:
        return PowerMin(float(lam.sum()), False, None, it, float(lam.sum()))
    act = np.flatnonzero(gamma > 0)
    K, d = p.n_users, p.dim
    X = np.zeros((K, d, d), dtype=complex)
    if act.size == 0:
        return PowerMin(0.0, True, X, it)
    V = F[:, act].T
    V /= np.linalg.norm(V, axis=-1, keepdims=True)  # unit MMSE beams of the active users
    G = np.sqrt(p.max_snr[act])[:, None] * p.U[act]
    A = np.abs(G.conj() @ V.T) ** 2  # A[k, j] = |g_k^H v_j|^2
    M = -A
    M[np.diag_indices(act.size)] = np.diagonal(A) / gamma[act]
    # a hair above the exact powers, so that round-off leaves every target met
    pw = np.linalg.solve(M, np.ones(act.size)) * (1 + 1e-10)
    X[act] = pw[:, None, None] * V[:, :, None] * V[:, None, :].conj()
    total = float(pw.sum())
    return PowerMin(total, total <= budget, X, it, _lower(p, gamma, lam))


def _lower(p, gamma, lam) -> float:
    """A certified lower bound on p_min: sum of a point that lies below its own image."""
    act = gamma > 0
    G = np.sqrt(p.max_snr)[:, None] * p.U
    inv_g = np.where(act, 1.0 + 1.0 / np.where(act, gamma, 1.0), 0.0)
    for shrink in (1e-12, 1e-9, 1e-6, 1e-3):
        low = lam * (1 - shrink)
        if np.all(_interference(G, low, act, inv_g, np.eye(p.dim))[0] >= low):
            return float(low.sum())
    return 0.0


def is_feasible(p: SpanProblem, gamma=None) -> bool:
    """Whether the targets can be met within the budget (certified by the fixed point)."""
    return min_power(p, gamma).feasible


def max_common_scale(p: SpanProblem, gamma=None, rtol: float = 1e-10) -> float:
    r"""Largest $\tau$ with $p_{\min}(\tau\gamma) \le 1$.

    Bisection: $p_{\min}$ grows with $\tau$.
    """
    gamma = p.gamma if gamma is None else np.asarray(gamma, dtype=float)
    act = gamma > 0
    if not np.any(act):
        return np.inf
    hi = float(np.min(p.max_snr[act] / gamma[act]))  # each user alone, all power
    lo = 0.0
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if min_power(p, mid * gamma).feasible:
            lo = mid
        else:
            hi = mid
    return lo
