r"""Semidefinite programs for CRB-minimising covariance design (cvxpy).

All programs are solved in normalised units ($\tilde W = W/P$,
unit-norm channels and steering vector) so that powers in watts and noise
near $10^{-11}$ W never reach the solver, and inside
$\mathcal S = \mathrm{span}\{a, h_1, \dots, h_K\}$: with an orthonormal basis
$Q$ of $\mathcal S$, replacing $W$ by $QQ^H W QQ^H$ keeps every
quadratic form $a^H W a$, $h_k^H W h_k$ and cannot raise the trace, so
restricting to $W = Q X Q^H$ is exact and shrinks the matrices from
$N_t$ to at most $K + 1$.

Gaussian / known-realisation signalling with `K` users (any rank allowed,
so the SDP is exact, not a relaxation):

$$
\max_{W_k \succeq 0}\; a^H \Big(\sum_k W_k\Big) a \quad\text{s.t.}\quad
h_k^H W_k h_k \ge \gamma_k\Big(\sum_{j\ne k} h_k^H W_j h_k + h_k^H R_s h_k
+ \sigma_c^2\Big),\; \mathrm{tr}\Big(\sum_k W_k + R_s\Big) \le P.
$$

Hermitian PSD matrices are parametrised by real PSD matrices of twice the size
(`HermitianPSD`): Clarabel solves these to full accuracy where cvxpy's
complex Hermitian variables often end "optimal_inaccurate".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._cvxpy_solve import SolveInfo, solve_with_fallback

__all__ = [
    "HermitianPSD",
    "CovarianceProgram",
    "span_basis",
    "covariance_program",
    "gaussian_sdp",
    "sensing_sdp",
    "max_common_snr_scale",
    "SolveInfo",
]

#: Relative margin on each SINR row so that solver round-off (~1e-9) leaves the
#: design feasible; it changes the CRB by far less than any solver tolerance.
SINR_MARGIN = 1e-8


class HermitianPSD:
    r"""A Hermitian PSD `n x n` matrix $W = A + jB$ as a real PSD `2n x 2n` one.

    Any real PSD $X$ maps to the Hermitian PSD
    $W = \tfrac12(X_{11}+X_{22}) + \tfrac{j}{2}(X_{21}-X_{12})$, and the
    quadratic forms and trace below are exactly those of $W$
    ($u^H W u = \tfrac12(z_1^T X z_1 + z_2^T X z_2)$ with
    $z_1 = [\Re u; \Im u]$, $z_2 = [-\Im u; \Re u]$), so optimising
    over $X$ is optimising over $W$ without imposing the block
    structure as equality constraints.
    """

    def __init__(self, n: int):
        import cvxpy as cp

        self.n = n
        self.X = cp.Variable((2 * n, 2 * n), PSD=True)

    @staticmethod
    def _gram(u: np.ndarray) -> np.ndarray:
        z1 = np.concatenate([u.real, u.imag])
        z2 = np.concatenate([-u.imag, u.real])
        return 0.5 * (np.outer(z1, z1) + np.outer(z2, z2))

    def quad(self, u: np.ndarray):
        """Affine expression for $u^H W u$."""
        import cvxpy as cp

        return cp.sum(cp.multiply(self._gram(u), self.X))

    def trace(self):
        r"""Affine expression for $\mathrm{tr}\,W$."""
        import cvxpy as cp

        return 0.5 * cp.trace(self.X)

    @property
    def value(self) -> np.ndarray:
        """The Hermitian matrix at the solver's solution, shape (n, n), complex."""
        X, n = self.X.value, self.n
        A = 0.5 * (X[:n, :n] + X[n:, n:])
        B = 0.5 * (X[n:, :n] - X[:n, n:])
        W = A + 1j * B
        return 0.5 * (W + W.conj().T)


def span_basis(scenario, reduce: bool = True) -> np.ndarray:
    r"""Orthonormal basis, shape (n_tx, d), of $\mathrm{span}\{a, h_1, \dots, h_K\}$.

    With `reduce=False` the identity (the full space).
    """
    if not reduce:
        return np.eye(scenario.n_tx, dtype=complex)
    M = np.column_stack([scenario.a, *scenario.channels])
    U, sv, _ = np.linalg.svd(M, full_matrices=False)
    return U[:, sv > sv[0] * 1e-10]


@dataclass
class CovarianceProgram:
    """Variables and constraints shared by every covariance SDP (normalised, in a basis)."""

    Q: np.ndarray
    Ws: list
    R: HermitianPSD | None
    a: np.ndarray
    constraints: list

    def gain(self, which: str = "W"):
        r"""Affine beam gain toward the target (normalised steering vector $\hat a$).

        `"W"`: $\hat a^H (\sum_k W_k) \hat a$; `"R"`: $\hat a^H R \hat a$.
        """
        if which == "R":
            return self.R.quad(self.a)
        return sum(W.quad(self.a) for W in self.Ws)

    def total_trace(self):
        extra = [self.R.trace()] if self.R is not None else []
        return sum([W.trace() for W in self.Ws] + extra)

    def lift(self, M: np.ndarray, power: float) -> np.ndarray:
        """Map a solution in the basis back to `n_tx x n_tx` covariances in watts."""
        return power * (self.Q @ M @ self.Q.conj().T)


def covariance_program(
    scenario, gamma, *, sensing: bool = False, power_constraint: bool = True, reduce=True,
    inv_scale=None,
) -> CovarianceProgram:  # fmt: skip
    r"""Build the normalised variables, power and SINR constraints.

    Each SINR row is written with right-hand side one,
    $q_{kk}/\beta_k - \Gamma_k\,(\text{interference}_k) \ge 1 + \epsilon$,
    with $\beta_k = \gamma_k/\Gamma_k$, $\Gamma_k = P\|h_k\|^2/\sigma_c^2$ and
    $q_{jk} = u_k^H \tilde W_j u_k$ for unit-norm $u_k$: the solver's
    feasibility tolerance is then a relative SINR error, covered by the margin
    $\epsilon$. Users with $\gamma_k = 0$ get no row.

    Parameters
    ----------
    sensing : bool
        Include the deterministic sensing covariance $R_s$ (interference at users).
    power_constraint : bool
        Include $\mathrm{tr}(\sum_k \tilde W_k + \tilde R_s) \le 1$.
    inv_scale : cvxpy.Parameter, optional
        Multiplies every $1/\beta_k$: targets $\gamma_k/\text{inv\_scale}$,
        so a bisection over a common scaling compiles the problem once.
    """
    Q = span_basis(scenario, reduce)
    K, d = scenario.n_users, Q.shape[1]
    a = Q.conj().T @ scenario.a / np.sqrt(scenario.n_tx)
    U = scenario.channels / np.linalg.norm(scenario.channels, axis=-1, keepdims=True)
    U = U @ Q.conj()  # rows u_k' with u_k'^H X u_k' = u_k^H (Q X Q^H) u_k
    gamma = np.asarray(gamma, dtype=float)
    beta = gamma / scenario.max_snr
    Ws = [HermitianPSD(d) for _ in range(K)]
    R = HermitianPSD(d) if sensing else None
    prog = CovarianceProgram(Q=Q, Ws=Ws, R=R, a=a, constraints=[])
    if power_constraint:
        prog.constraints.append(prog.total_trace() <= 1.0)
    for k in np.flatnonzero(gamma > 0):
        q = [W.quad(U[k]) for W in Ws]
        interference = sum(q[j] for j in range(K) if j != k)
        if R is not None:
            interference = interference + R.quad(U[k])
        own = q[k] / beta[k] if inv_scale is None else inv_scale * q[k] / beta[k]
        prog.constraints.append(own - scenario.max_snr[k] * interference >= 1.0 + SINR_MARGIN)
    return prog


def gaussian_sdp(scenario, gamma, *, solver=None, solver_options=None, reduce=True):
    """Solve the Gaussian-only multi-user SDP.

    Returns
    -------
    W : ndarray, shape (n_users, n_tx, n_tx) or None if infeasible
    info : SolveInfo
    """
    import cvxpy as cp

    prog = covariance_program(scenario, gamma, reduce=reduce)
    problem = cp.Problem(cp.Maximize(prog.gain()), prog.constraints)
    info = solve_with_fallback(problem, solver, solver_options)
    if info.infeasible:
        return None, info
    return np.stack([prog.lift(W.value, scenario.power) for W in prog.Ws]), info


def sensing_sdp(scenario, *, solver=None, solver_options=None):
    r"""Sensing-only SDP for the deterministic sensing covariance.

    By the CRB-rate paper's Proposition 2 the Gaussian part is zero at the optimum, so
    only $R_s$ is optimised: $\max a^H R_s a$ s.t.
    $\mathrm{tr} R_s \le P$. Solved in the full space on purpose: it is the
    independent check of the MRT closed form.
    """
    import cvxpy as cp

    a = scenario.a / np.sqrt(scenario.n_tx)
    R = HermitianPSD(scenario.n_tx)
    prob = cp.Problem(cp.Maximize(R.quad(a)), [R.trace() <= 1.0])
    info = solve_with_fallback(prob, solver, solver_options)
    return scenario.power * R.value, info


def max_common_snr_scale(scenario, gamma, *, solver=None, solver_options=None, rtol=1e-6):
    r"""Largest $\tau$ such that the targets $\tau\gamma_k$ are jointly feasible.

    Bisection on $\tau$ with a power-minimisation SDP at each step (the
    max-min SINR problem is quasi-convex); $1/\tau$ is a cvxpy parameter, so the
    program is compiled once. Used to report the largest achievable targets when a
    multi-user request is infeasible.
    """
    import cvxpy as cp

    gamma = np.asarray(gamma, dtype=float)
    active = gamma > 0
    inv_tau = cp.Parameter(nonneg=True)
    prog = covariance_program(scenario, gamma, power_constraint=False, inv_scale=inv_tau)
    problem = cp.Problem(cp.Minimize(prog.total_trace()), prog.constraints)
    lo, hi = 0.0, float(np.min(scenario.max_snr[active] / gamma[active]))
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        inv_tau.value = 1.0 / mid
        info = solve_with_fallback(problem, solver, solver_options)
        if not info.infeasible and problem.value <= 1.0:
            lo = mid
        else:
            hi = mid
    return lo
