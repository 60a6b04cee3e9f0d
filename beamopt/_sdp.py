r"""Semidefinite programs for CRB-minimising covariance design (cvxpy).

All programs are solved in normalised units (:math:`\tilde W = W/P`,
unit-norm channels and steering vector) so that powers in watts and noise
near :math:`10^{-11}` W never reach the solver.

Gaussian / known-realisation signalling with ``K`` users (any rank allowed,
so the SDP is exact, not a relaxation):

.. math::

    \max_{W_k \succeq 0}\; a^H \Big(\sum_k W_k\Big) a \quad\text{s.t.}\quad
    h_k^H W_k h_k \ge \gamma_k\Big(\sum_{j\ne k} h_k^H W_j h_k + \sigma_c^2\Big),\;
    \mathrm{tr}\sum_k W_k \le P.

Hermitian PSD matrices are parametrised by real PSD matrices of twice the size
(:class:`HermitianPSD`): Clarabel solves these to full accuracy where cvxpy's
complex Hermitian variables often end "optimal_inaccurate".
"""

from __future__ import annotations

import numpy as np

from ._cvxpy_solve import SolveInfo, solve_with_fallback

__all__ = ["HermitianPSD", "gaussian_sdp", "sensing_sdp", "max_common_snr_scale", "SolveInfo"]


class HermitianPSD:
    r"""A Hermitian PSD ``n x n`` matrix :math:`W = A + jB` as a real PSD ``2n x 2n`` one.

    Any real PSD :math:`X` maps to the Hermitian PSD
    :math:`W = \tfrac12(X_{11}+X_{22}) + \tfrac{j}{2}(X_{21}-X_{12})`, and the
    quadratic forms and trace below are exactly those of :math:`W`
    (:math:`u^H W u = \tfrac12(z_1^T X z_1 + z_2^T X z_2)` with
    :math:`z_1 = [\Re u; \Im u]`, :math:`z_2 = [-\Im u; \Re u]`), so optimising
    over :math:`X` is optimising over :math:`W` without imposing the block
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
        """Affine expression for :math:`u^H W u`."""
        import cvxpy as cp

        return cp.sum(cp.multiply(self._gram(u), self.X))

    def trace(self):
        r"""Affine expression for :math:`\mathrm{tr}\,W`."""
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


def _normalised(scenario):
    H = scenario.channels
    norms = np.linalg.norm(H, axis=-1)
    return scenario.a / np.sqrt(scenario.n_tx), H / norms[:, None], scenario.max_snr


def _sinr_constraints(Ws, U, gamma, max_snr):
    cons = []
    for k, u in enumerate(U):
        q = [W.quad(u) for W in Ws]
        interference = sum(q[j] for j in range(len(Ws)) if j != k)
        cons.append(q[k] - gamma[k] * interference >= gamma[k] / max_snr[k])
    return cons


def gaussian_sdp(scenario, gamma, *, solver=None, solver_options=None):
    """Solve the Gaussian-only multi-user SDP.

    Returns
    -------
    W : ndarray, shape (n_users, n_tx, n_tx) or None if infeasible
    info : SolveInfo
    """
    import cvxpy as cp

    a, U, max_snr = _normalised(scenario)
    Ws = [HermitianPSD(scenario.n_tx) for _ in range(scenario.n_users)]
    cons = [sum(W.trace() for W in Ws) <= 1.0, *_sinr_constraints(Ws, U, gamma, max_snr)]
    prob = cp.Problem(cp.Maximize(sum(W.quad(a) for W in Ws)), cons)
    info = solve_with_fallback(prob, solver, solver_options)
    if info.infeasible:
        return None, info
    return scenario.power * np.stack([W.value for W in Ws]), info


def sensing_sdp(scenario, *, solver=None, solver_options=None):
    r"""Sensing-only SDP for the deterministic sensing covariance.

    By the seed's Proposition 2 the Gaussian part is zero at the optimum, so
    only :math:`R_s` is optimised: :math:`\max a^H R_s a` s.t.
    :math:`\mathrm{tr} R_s \le P`.
    """
    import cvxpy as cp

    a, _, _ = _normalised(scenario)
    R = HermitianPSD(scenario.n_tx)
    prob = cp.Problem(cp.Maximize(R.quad(a)), [R.trace() <= 1.0])
    info = solve_with_fallback(prob, solver, solver_options)
    return scenario.power * R.value, info


def _min_power(scenario, gamma, solver, solver_options):
    import cvxpy as cp

    _, U, max_snr = _normalised(scenario)
    Ws = [HermitianPSD(scenario.n_tx) for _ in range(scenario.n_users)]
    prob = cp.Problem(
        cp.Minimize(sum(W.trace() for W in Ws)), _sinr_constraints(Ws, U, gamma, max_snr)
    )
    info = solve_with_fallback(prob, solver, solver_options)
    return np.inf if info.infeasible else float(prob.value)


def max_common_snr_scale(scenario, gamma, *, solver=None, solver_options=None, rtol=1e-6):
    r"""Largest :math:`\tau` such that the targets :math:`\tau\gamma_k` are jointly feasible.

    Bisection on :math:`\tau` with a power-minimisation SDP at each step
    (the max-min SINR problem is quasi-convex). Used to report the largest
    achievable targets when a multi-user request is infeasible.
    """
    gamma = np.asarray(gamma, dtype=float)
    active = gamma > 0
    lo, hi = 0.0, float(np.min(scenario.max_snr[active] / gamma[active]))
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if _min_power(scenario, mid * gamma, solver, solver_options) <= 1.0:
            lo = mid
        else:
            hi = mid
    return lo
