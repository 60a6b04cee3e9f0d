r"""The SCA subproblem of [`beamopt.sca_superposition`][] and its solution clean-up.

The subproblem is the support SDP of the normalised gain region in the direction
$(\nu, c)$,

$$
h(\nu, c) = \max_{\tilde W_k, \tilde R \succeq 0}\; c\, \hat a^H \tilde R \hat a
    + \nu\, \hat a^H \Big(\sum_k \tilde W_k\Big) \hat a
$$

under the normalised power and SINR constraints, optionally restricted to
$\mathrm{span}\{a, h_1, \dots, h_K\}$, with $\nu$ and $c$ cvxpy parameters so that the
problem is compiled once. SCA uses $c = 1$; $(\nu, c) = (1, 0)$ gives the largest
information gain. [`Subproblem.dual_bound`][beamopt.bistatic._sca_subproblem.Subproblem.dual_bound]
turns the solver's multipliers into a rigorous upper bound on $h$.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Subproblem", "build", "clean", "repair"]


@dataclass
class Subproblem:
    """A compiled support SDP with its data in the basis `Q`."""

    problem: object
    Ws: list
    R: object
    nu: object  # cvxpy Parameter: weight of the information gain
    c: object  # cvxpy Parameter: weight of the sensing gain
    rows: list  # SINR constraints, one per user with a positive target
    active: np.ndarray  # users that have a row
    Q: np.ndarray
    a: np.ndarray  # normalised steering vector in the basis, shape (d,)
    U: np.ndarray  # unit channels in the basis, shape (K, d)
    beta: np.ndarray  # gamma_k / Gamma_k
    max_snr: np.ndarray  # Gamma_k

    def dual_bound(self, nu: float, c: float) -> float:
        r"""Upper bound on $h(\nu, c)$ from the solver's SINR multipliers (weak duality).

        With $\mu_k \ge 0$ on the rows $q_{kk}/\beta_k - \Gamma_k(\sum_{j\ne k} q_{jk}
        + r_k) \ge 1$ and the power budget kept as a constraint, the Lagrangian is
        maximised over $\{\sum_k \mathrm{tr}\,\tilde W_k + \mathrm{tr}\,\tilde R \le 1\}$
        in closed form:

        $$
        h(\nu, c) \le \max\{0, \lambda_{\max}(M_1), \dots, \lambda_{\max}(M_K),
            \lambda_{\max}(M_R)\} - \sum_k \mu_k,
        $$

        $M_j = \nu \hat a\hat a^H + \tfrac{\mu_j}{\beta_j} u_j u_j^H
        - \sum_{k\ne j}\mu_k\Gamma_k u_k u_k^H$, $M_R = c\, \hat a\hat a^H
        - \sum_k \mu_k\Gamma_k u_k u_k^H$. The bound holds for any $\mu \ge 0$ (so
        for an inexact solver answer too) and for the full $n_{tx}$-dimensional
        problem: every matrix vanishes outside the span.
        """
        K = self.U.shape[0]
        mu = np.zeros(K)
        for k, row in zip(self.active, self.rows):
            val = row.dual_value
            mu[k] = max(float(np.ravel(val)[0]), 0.0) if val is not None else 0.0
        aa = np.outer(self.a, self.a.conj())
        P = self.U[:, :, None] * self.U[:, None, :].conj()  # u_k u_k^H
        pen = np.einsum("k,kij->ij", mu * self.max_snr, P)  # sum_k mu_k Gamma_k u_k u_k^H
        with np.errstate(divide="ignore", invalid="ignore"):
            own = np.where(mu > 0, mu / self.beta + mu * self.max_snr, 0.0)
        mats = [nu * aa + own[j] * P[j] - pen for j in range(K)] + [c * aa - pen]
        top = max(float(np.linalg.eigvalsh(M)[-1]) for M in mats)
        return max(top, 0.0) - float(mu.sum())


def build(scenario, gamma, Q) -> Subproblem:
    """The support SDP in normalised units, with the weights as parameters.

    Variables are `W' = Q^H W Q / P` in the basis `Q` (see
    [`beamopt.bistatic._sdp.covariance_program`][] for the row scaling and margin).
    """
    import cvxpy as cp

    from ._sdp import covariance_program

    prog = covariance_program(scenario, gamma, sensing=True, reduce=Q.shape[1] < scenario.n_tx)
    nu, c = cp.Parameter(nonneg=True), cp.Parameter(nonneg=True, value=1.0)
    problem = cp.Problem(cp.Maximize(c * prog.gain("R") + nu * prog.gain("W")), prog.constraints)
    U = scenario.channels / np.linalg.norm(scenario.channels, axis=-1, keepdims=True)
    gamma = np.asarray(gamma, dtype=float)
    return Subproblem(
        problem=problem,
        Ws=prog.Ws,
        R=prog.R,
        nu=nu,
        c=c,
        rows=prog.constraints[1:],
        active=np.flatnonzero(gamma > 0),
        Q=Q,
        a=prog.a,
        U=U @ Q.conj(),
        beta=gamma / scenario.max_snr,
        max_snr=np.asarray(scenario.max_snr, dtype=float),
    )


def clean(M):
    """Hermitian part with negative eigenvalues (solver round-off) removed."""
    M = 0.5 * (M + M.conj().swapaxes(-1, -2))
    lam, V = np.linalg.eigh(M)
    return (V * np.maximum(lam, 0.0)[..., None, :]) @ V.conj().swapaxes(-1, -2)


def repair(scenario, gamma, Wn, Rn):
    """Undo solver round-off so that the returned design is feasible.

    Scale to unit trace at most. With one user, blend with the all-power-to-the-user
    design (strictly feasible below the largest target; every constraint is linear,
    so the smallest feasible blend is explicit). With several users, scale every W_k up
    and Rs down at equal trace until every SINR holds (or, with almost no Rs, rescale the
    W_k by power control). At high targets the sensing signal's leakage toward a user is
    multiplied by gamma, so a tiny solver error would otherwise show as an SINR shortfall.
    """
    t = max(1.0, np.trace(Wn.sum(axis=0) + Rn).real)
    Wn, Rn = Wn / t, Rn / t
    U = scenario.channels / np.linalg.norm(scenario.channels, axis=-1, keepdims=True)
    beta = gamma / scenario.max_snr
    q = np.einsum("ki,jil,kl->jk", U.conj(), Wn, U).real  # q[j, k] = u_k^H W_j u_k
    r = np.einsum("ki,il,kl->k", U.conj(), Rn, U).real
    own = np.diagonal(q)
    if scenario.n_users == 1:
        slack = own[0] - gamma[0] * r[0] - beta[0]  # the anchor's slack is 1 - beta
        if slack < 0 and beta[0] < 1:
            lam = min(1.0, -slack / (1.0 - beta[0] - slack))
            anchor = np.outer(U[0], U[0].conj())[None]
            return (1 - lam) * Wn + lam * anchor, (1 - lam) * Rn
        return Wn, Rn
    # Several users: move power from Rs into every W_j (trace kept). Each row's slack
    # rises by eps * (own/gamma - interference + r tr W / tr R): shrinking Rs alone
    # would lose much more when Rs nearly nulls the users (r tiny, ~1e-10).
    act = gamma > 0
    if not np.any(act):
        return Wn, Rn
    A = own[act] / gamma[act] - (q.sum(axis=0) - own)[act]
    need = r[act] + 1.0 / scenario.max_snr[act] - A  # > 0 where a row falls short
    if np.all(need <= 0):
        return Wn, Rn
    tw, tr = np.trace(Wn.sum(axis=0)).real, np.trace(Rn).real
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = np.where(need > 0, need / (A + r[act] * tw / tr), 0.0)
        eps = float(np.max(eps)) * (1 + 1e-9) + 1e-15
        delta = eps * tw / tr
    if np.isfinite(eps) and eps >= 0 and delta <= 1:
        return (1 + eps) * Wn, (1 - delta) * Rn
    return _power_control(scenario, gamma, Wn, Rn, q, r)


def _power_control(scenario, gamma, Wn, Rn, q, r):
    """Rescale each W_k so that every target holds with equality, if the budget allows.

    For fixed shapes the SINRs are linear in the scalings t: solve
    `t_k q_kk / gamma_k - sum_{j != k} t_j q_jk = r_k + 1/Gamma_k` (users with a
    target; the others keep t = 1). Used when Rs holds too little power to pay for
    the correction (a design with almost no sensing signal).
    """
    act = np.flatnonzero(gamma > 0)
    K = scenario.n_users
    fixed = np.setdiff1d(np.arange(K), act)
    M = -q[np.ix_(act, act)].T
    M[np.diag_indices(act.size)] = q[act, act] / gamma[act]
    b = r[act] + 1.0 / scenario.max_snr[act] + q[np.ix_(fixed, act)].sum(axis=0)
    try:
        t_act = np.linalg.solve(M, b) * (1 + 1e-9)
    except np.linalg.LinAlgError:
        return Wn, Rn
    t = np.ones(K)
    t[act] = t_act
    traces = np.trace(Wn, axis1=-2, axis2=-1).real
    if np.any(t_act <= 0) or t @ traces + np.trace(Rn).real > 1 + 1e-12:
        return Wn, Rn
    return t[:, None, None] * Wn, Rn
