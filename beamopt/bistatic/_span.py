r"""The multi-user superposition problem in the span basis, in normalised units.

Every quantity the superposition design depends on is a quadratic form in the target
direction $a$ or a user channel $h_k$, so with an orthonormal basis $Q$ (shape
`(n_tx, d)`) of $\mathcal S = \mathrm{span}\{a, h_1, \dots, h_K\}$ the design
$W_k = P\, Q X_k Q^H$, $R_s = P\, Q Y Q^H$ loses nothing (projecting onto
$\mathcal S$ keeps every quadratic form and lowers the trace) and $d \le K + 1$.
[`SpanProblem`][beamopt.bistatic._span.SpanProblem] holds the data in that basis:

$$
\hat a = Q^H a/\sqrt{N_t}, \qquad u_k = Q^H h_k/\|h_k\|, \qquad
\Gamma_k = P\|h_k\|^2/\sigma_c^2, \qquad \beta_k = \gamma_k/\Gamma_k,
$$

so that user $k$'s SINR constraint is the linear row

$$
\rho_k(X, Y) = \frac{u_k^H X_k u_k}{\beta_k}
    - \Gamma_k\Big(\sum_{j\ne k} u_k^H X_j u_k + u_k^H Y u_k\Big) \ge 1
$$

and the power budget is $\sum_k \mathrm{tr}\,X_k + \mathrm{tr}\,Y \le 1$. The
solvers (`beamopt.bistatic._support_ipm`, the cvxpy subproblem) work on $d \times d$
matrices only: $N_t$ enters once, when the basis is built and when the final design
is lifted back.

[`repair`][beamopt.bistatic._span.repair] turns a PSD design that misses a row by
solver round-off into a feasible one;
[`SpanProblem.dual_bound`][beamopt.bistatic._span.SpanProblem.dual_bound] turns any
multipliers into a rigorous upper bound on the support function.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import _frontier as fr

__all__ = [
    "SpanProblem",
    "span_problem",
    "repair",
    "psd_part",
    "row_slack",
    "blend",
    "feasible_dense",
]


@dataclass(frozen=True)
class SpanProblem:
    """Problem data in the span basis (see the module docstring); targets `gamma` (K,)."""

    Q: np.ndarray  # (n_tx, d) orthonormal basis
    a: np.ndarray  # (d,) normalised steering vector
    U: np.ndarray  # (K, d) unit channels
    max_snr: np.ndarray  # (K,) Gamma_k
    gamma: np.ndarray  # (K,) SINR targets
    kappa: float  # g0 P N_t
    n_rx: int

    @property
    def n_users(self) -> int:
        return self.U.shape[0]

    @property
    def dim(self) -> int:
        return self.U.shape[1]

    @property
    def beta(self) -> np.ndarray:
        return self.gamma / self.max_snr

    @property
    def active(self) -> np.ndarray:
        """Users with a positive target (the others have no SINR row)."""
        return np.flatnonzero(self.gamma > 0)

    def with_targets(self, gamma) -> SpanProblem:
        """The same scenario with other SINR targets (no basis recomputed)."""
        return replace(self, gamma=np.asarray(gamma, dtype=float).copy())

    # ------------------------------------------------------------ quadratic forms
    def gains(self, X, Y):
        r"""Normalised gains $w = \hat a^H \sum_k X_k \hat a$, $s = \hat a^H Y \hat a$."""
        a = self.a
        w = float(np.einsum("i,kij,j->", a.conj(), X, a).real)
        s = float(np.einsum("i,ij,j->", a.conj(), Y, a).real)
        return w, s

    def information(self, X, Y) -> float:
        r"""Normalised DoA information $\Phi(w, s)$ of a design."""
        return float(fr.information_shape(*self.gains(X, Y), self.kappa, self.n_rx))

    def forms(self, X, Y):
        """`q[j, k] = u_k^H X_j u_k` and `r[k] = u_k^H Y u_k`."""
        U = self.U
        q = np.einsum("ki,jil,kl->jk", U.conj(), X, U).real
        r = np.einsum("ki,il,kl->k", U.conj(), Y, U).real
        return q, r

    def sinr(self, X, Y) -> np.ndarray:
        """SINR of every user, shape (K,)."""
        q, r = self.forms(X, Y)
        own = np.diagonal(q)
        return self.max_snr * own / (self.max_snr * (q.sum(axis=0) - own + r) + 1.0)

    # ------------------------------------------------------------------ duality
    def dual_bound(self, mu, nu: float, c: float) -> float:
        r"""Upper bound on the support value $h(\nu, c)$ for multipliers $\mu \ge 0$.

        With $\mu_k$ on the rows $\rho_k \ge 1$ and the power budget kept as a
        constraint, the Lagrangian is maximised over $\{\sum_k \mathrm{tr}\,X_k +
        \mathrm{tr}\,Y \le 1\}$ in closed form (weak duality):

        $$
        h(\nu, c) \le \max\{0, \lambda_{\max}(M_1), \dots, \lambda_{\max}(M_K),
            \lambda_{\max}(M_R)\} - \sum_k \mu_k,
        $$

        $M_j = \nu \hat a\hat a^H + \tfrac{\mu_j}{\beta_j} u_j u_j^H
        - \sum_{k\ne j}\mu_k\Gamma_k u_k u_k^H$, $M_R = c\, \hat a\hat a^H
        - \sum_k \mu_k\Gamma_k u_k u_k^H$. `mu` has one entry per active user. The
        bound holds for any $\mu \ge 0$ (so for an inexact solver answer too) and for
        the full $N_t$-dimensional problem: every matrix vanishes outside the span.
        """
        mu = np.maximum(np.asarray(mu, dtype=float), 0.0)
        top = np.linalg.eigvalsh(self.dual_matrices(mu, nu, c))[:, -1]
        return max(float(top.max()), 0.0) - float(mu.sum())

    def dual_matrices(self, mu, nu: float, c: float) -> np.ndarray:
        """The matrices $M_1, \\dots, M_K, M_R$ of `dual_bound`, shape (K + 1, d, d)."""
        act = self.active
        V = self.U[act]
        P = V[:, :, None] * V[:, None, :].conj()  # u_k u_k^H, (m, d, d)
        coef = self.coefficients()  # (K + 1, m): the multiplier weights in each block
        aa = np.outer(self.a, self.a.conj())
        C = np.concatenate([np.repeat((nu * aa)[None], self.n_users, 0), (c * aa)[None]])
        return C - np.einsum("jk,kab->jab", coef * mu, P)

    def coefficients(self) -> np.ndarray:
        r"""Weight of $\mu_k u_k u_k^H$ in the dual slack of each block, shape (K + 1, m).

        $\Gamma_k$ (interference) except $-1/\beta_k$ in user $k$'s own block; the slack
        of block $j$ is $\lambda I - M_j = \lambda I - C_j + \sum_k \mu_k\,
        \mathrm{coef}_{jk} u_k u_k^H$.
        """
        act = self.active
        coef = np.tile(self.max_snr[act], (self.n_users + 1, 1))
        coef[act, np.arange(act.size)] = -1.0 / self.beta[act]
        return coef


def span_problem(scenario, gamma, reduce: bool = True) -> SpanProblem:
    """Build the span-basis data of a scenario (the only O(n_tx) step)."""
    from ._sdp import span_basis

    Q = span_basis(scenario, reduce)
    H = scenario.channels
    U = (H / np.linalg.norm(H, axis=-1, keepdims=True)) @ Q.conj()
    return SpanProblem(
        Q=Q,
        a=Q.conj().T @ scenario.a / np.sqrt(scenario.n_tx),
        U=U,
        max_snr=np.asarray(scenario.max_snr, dtype=float),
        gamma=np.asarray(gamma, dtype=float).copy(),
        kappa=scenario.g0 * scenario.power * scenario.n_tx,
        n_rx=scenario.n_rx,
    )


def psd_part(M):
    """Hermitian part with negative eigenvalues (solver round-off) removed."""
    M = 0.5 * (M + M.conj().swapaxes(-1, -2))
    lam, V = np.linalg.eigh(M)
    return (V * np.maximum(lam, 0.0)[..., None, :]) @ V.conj().swapaxes(-1, -2)


def repair(p: SpanProblem, X, Y, anchor=None):
    """Undo solver round-off so that a PSD design meets every row and the budget.

    Scale to unit trace at most. Then move power from Y into every X_j at equal trace
    until every row holds; with almost no Y, rescale the X_j by power control; at full
    power, take the smallest blend with a strictly feasible `anchor` (the least-power
    design scaled to the budget). At high targets the sensing signal's leakage toward
    a user is multiplied by gamma, so a tiny solver error would otherwise show as an
    SINR shortfall. Returns (X, Y), or None when no step restores feasibility (which a
    solver answer within tolerance never needs).
    """
    t = max(1.0, float(np.trace(X.sum(axis=0) + Y).real))
    X, Y = X / t, Y / t
    act = p.active
    if act.size == 0:
        return X, Y
    q, r = p.forms(X, Y)
    own = np.diagonal(q)
    g = p.gamma[act]
    # slack of row k after moving eps * tr W from Y into W (all W_j scaled by 1 + eps):
    # rises by eps * (own/gamma - interference + r tr W / tr R)
    A = own[act] / g - (q.sum(axis=0) - own)[act]
    need = r[act] + 1.0 / p.max_snr[act] - A  # > 0 where a row falls short
    if np.all(need <= 0):
        return X, Y
    tw, tr = float(np.trace(X.sum(axis=0)).real), float(np.trace(Y).real)
    if tr > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            eps = np.where(need > 0, need / (A + r[act] * tw / tr), 0.0)
        eps = float(np.max(eps)) * (1 + 1e-9) + 1e-15
        delta = eps * tw / tr
        if np.isfinite(eps) and eps >= 0 and delta <= 1:
            return (1 + eps) * X, (1 - delta) * Y
    fixed = _power_control(p, X, Y, q, r)
    if fixed is None and anchor is not None:
        fixed = blend(p, X, Y, anchor)
    return fixed


def _power_control(p: SpanProblem, X, Y, q, r):
    """Rescale each X_k so that every target holds with equality, if the budget allows.

    For fixed shapes the SINRs are linear in the scalings t: solve
    `t_k q_kk / gamma_k - sum_{j != k} t_j q_jk = r_k + 1/Gamma_k` (users with a
    target; the others keep t = 1).
    """
    act = p.active
    fixed = np.setdiff1d(np.arange(p.n_users), act)
    M = -q[np.ix_(act, act)].T
    M[np.diag_indices(act.size)] = q[act, act] / p.gamma[act]
    b = r[act] + 1.0 / p.max_snr[act] + q[np.ix_(fixed, act)].sum(axis=0)
    try:
        t_act = np.linalg.solve(M, b) * (1 + 1e-9)
    except np.linalg.LinAlgError:
        return None
    t = np.ones(p.n_users)
    t[act] = t_act
    traces = np.trace(X, axis1=-2, axis2=-1).real
    if np.any(t_act <= 0) or t @ traces + np.trace(Y).real > 1 + 1e-12:
        return None
    return t[:, None, None] * X, Y


def row_slack(p: SpanProblem, X, Y) -> np.ndarray:
    r"""Affine slacks $u_k^H X_k u_k - \gamma_k(\text{interference}_k + u_k^H Y u_k) - \beta_k$."""
    q, r = p.forms(X, Y)
    own = np.diagonal(q)
    return own - p.gamma * (q.sum(axis=0) - own + r) - p.beta


def blend(p: SpanProblem, X, Y, anchor):
    """Smallest blend `(1 - t) (X, Y) + t anchor` that meets every row and the budget.

    Every constraint is affine, so the blend is explicit; None if the anchor is not
    strictly feasible where the design falls short.
    """
    Xa, Ya = anchor
    tr = float(np.trace(X.sum(axis=0) + Y).real)
    if tr > 1:
        X, Y = X / tr, Y / tr
    g0, g1 = row_slack(p, X, Y), row_slack(p, Xa, Ya)
    short = (g0 < 0) & (p.gamma > 0)
    if not np.any(short):
        return X, Y
    if np.any(g1[short] <= 0):
        return None
    t = float(np.max(-g0[short] / (g1[short] - g0[short])))
    t = min(1.0, t * (1 + 1e-9) + 1e-12)
    return (1 - t) * X + t * Xa, (1 - t) * Y + t * Ya


def feasible_dense(scenario, gamma, W, Rs):
    """A dense solver answer (W stack, Rs, in watts) made PSD and exactly feasible.

    Returned unchanged when it already meets every target and the budget and is PSD in
    the span basis; otherwise
    projected onto the span basis (which keeps every metric), cleaned of negative
    eigenvalues, [`repair`][beamopt.bistatic._span.repair]ed with the least-power design as
    anchor and lifted back. Used after a cvxpy SDP, whose answer misses targets by its
    feasibility tolerance (about 1e-7 near the limit of the targets).
    """
    from ._power_min import min_power
    from .comm import sinr_unchecked

    P = scenario.power
    sinr = sinr_unchecked(scenario.channels, W, Rs, scenario.comm_noise_power)
    power = float(np.trace(W.sum(axis=0) + Rs).real)
    p = span_problem(scenario, gamma)
    Q = p.Q
    X = np.einsum("ia,kij,jb->kab", Q.conj(), W, Q) / P
    Y = Q.conj().T @ Rs @ Q / P
    low = min(np.linalg.eigvalsh(X).min(), np.linalg.eigvalsh(Y).min())
    if np.all(sinr >= gamma) and power <= P and low >= 0:
        return W, Rs
    X, Y = psd_part(X), psd_part(Y)
    least = min_power(p)
    anchor = None
    if least.X is not None and least.power > 0:
        anchor = (least.X / least.power, np.zeros_like(Y))
    fixed = repair(p, X, Y, anchor)
    if fixed is None:
        return W, Rs
    X, Y = fixed
    return P * np.einsum("ia,kab,jb->kij", Q, X, Q.conj()), P * (Q @ Y @ Q.conj().T)
