"""Semidefinite programs for CRB-minimising covariance design (cvxpy).

All programs are solved in normalised units (:math:`\\tilde W = W/P`,
unit-norm channels and steering vector) so that powers in watts and noise
near :math:`10^{-11}` W never reach the solver.

Gaussian / known-realisation signalling with ``K`` users (any rank allowed,
so the SDP is exact, not a relaxation):

.. math::

    \\max_{W_k \\succeq 0}\\; a^H \\Big(\\sum_k W_k\\Big) a \\quad\\text{s.t.}\\quad
    h_k^H W_k h_k \\ge \\gamma_k\\Big(\\sum_{j\\ne k} h_k^H W_j h_k + \\sigma_c^2\\Big),\\;
    \\mathrm{tr}\\sum_k W_k \\le P.
"""

from __future__ import annotations

import numpy as np

from ._cvxpy_solve import SolveInfo, solve_with_fallback

__all__ = ["gaussian_sdp", "sensing_sdp", "max_common_snr_scale"]


def _normalised(scenario):
    H = scenario.channels
    norms = np.linalg.norm(H, axis=-1)
    return scenario.a / np.sqrt(scenario.n_tx), H / norms[:, None], scenario.max_snr


def _sinr_constraints(Ws, U, gamma, max_snr):
    import cvxpy as cp

    cons = []
    for k, u in enumerate(U):
        q = [cp.real(u.conj() @ Wj @ u) for Wj in Ws]
        interference = sum(q[j] for j in range(len(Ws)) if j != k)
        cons.append(q[k] - gamma[k] * interference >= gamma[k] / max_snr[k])
    return cons


def _variables(n_users, n_tx):
    import cvxpy as cp

    Ws = [cp.Variable((n_tx, n_tx), hermitian=True) for _ in range(n_users)]
    return Ws, [W >> 0 for W in Ws]


def _unscale(M, power):
    M = np.asarray(M)
    return power * 0.5 * (M + M.conj().swapaxes(-1, -2))


def gaussian_sdp(scenario, gamma, *, solver=None, solver_options=None):
    """Solve the Gaussian-only multi-user SDP.

    Returns
    -------
    W : ndarray, shape (n_users, n_tx, n_tx) or None if infeasible
    info : SolveInfo
    """
    import cvxpy as cp

    a, U, max_snr = _normalised(scenario)
    Ws, cons = _variables(scenario.n_users, scenario.n_tx)
    W_sum = sum(Ws[1:], Ws[0])
    cons += [cp.real(cp.trace(W_sum)) <= 1.0]
    cons += _sinr_constraints(Ws, U, gamma, max_snr)
    prob = cp.Problem(cp.Maximize(cp.real(a.conj() @ W_sum @ a)), cons)
    info = solve_with_fallback(prob, solver, solver_options)
    if info.infeasible:
        return None, info
    return _unscale(np.stack([W.value for W in Ws]), scenario.power), info


def sensing_sdp(scenario, *, solver=None, solver_options=None):
    """Sensing-only SDP for the deterministic sensing covariance.

    By the seed's Proposition 2 the Gaussian part is zero at the optimum, so
    only :math:`R_s` is optimised: :math:`\\max a^H R_s a` s.t.
    :math:`\\mathrm{tr} R_s \\le P`.
    """
    import cvxpy as cp

    a, _, _ = _normalised(scenario)
    R = cp.Variable((scenario.n_tx, scenario.n_tx), hermitian=True)
    prob = cp.Problem(cp.Maximize(cp.real(a.conj() @ R @ a)), [R >> 0, cp.real(cp.trace(R)) <= 1.0])
    info = solve_with_fallback(prob, solver, solver_options)
    return _unscale(R.value, scenario.power), info


def _min_power(scenario, gamma, solver, solver_options):
    import cvxpy as cp

    _, U, max_snr = _normalised(scenario)
    Ws, cons = _variables(scenario.n_users, scenario.n_tx)
    cons += _sinr_constraints(Ws, U, gamma, max_snr)
    prob = cp.Problem(cp.Minimize(cp.real(cp.trace(sum(Ws[1:], Ws[0])))), cons)
    info = solve_with_fallback(prob, solver, solver_options)
    return np.inf if info.infeasible else float(prob.value)


def max_common_snr_scale(scenario, gamma, *, solver=None, solver_options=None, rtol=1e-6):
    """Largest :math:`\\tau` such that the targets :math:`\\tau\\gamma_k` are jointly feasible.

    Bisection on :math:`\\tau` with a power-minimisation SDP at each step
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


__all__ += ["SolveInfo"]
