r"""The support SDP as one parametrised cvxpy problem (the `solver=` back-end of SCA).

The support SDP of the normalised gain region in the direction $(\nu, c)$,

$$
h(\nu, c) = \max_{X_k, Y \succeq 0}\; c\, \hat a^H Y \hat a
    + \nu\, \hat a^H \Big(\sum_k X_k\Big) \hat a
\quad\text{s.t.}\quad
u_k^H X_k u_k - \gamma_k\Big(\sum_{j\ne k} u_k^H X_j u_k + u_k^H Y u_k\Big)
    \ge \beta_k (1 + \epsilon),\;
\sum_k \mathrm{tr}\,X_k + \mathrm{tr}\,Y \le 1,
$$

in the span basis of `beamopt.bistatic._span`, is built once per scenario with cvxpy
parameters for the direction $(\nu, c)$ **and** the targets $(\gamma_k, \beta_k)$: every
term is a parameter times an affine expression, so the problem is DPP and cvxpy
compiles it once; SCA iterations, bound probes and the targets of a whole boundary
re-solve it with new parameter values. A user with $\gamma_k = 0$ gets the void row
$u_k^H X_k u_k \ge 0$. The row multipliers $\mu'_k$ map to those of the canonical rows
$\rho_k \ge 1$ as $\mu_k = \beta_k\mu'_k$, which is what
[`SpanProblem.dual_bound`][beamopt.bistatic._span.SpanProblem.dual_bound] takes.

The default back-end is the dedicated interior-point method of
`beamopt.bistatic._support_ipm`; this one serves `solver="CLARABEL"` / `"SCS"` and is the
independent reference in the tests.
"""

from __future__ import annotations

import numpy as np

from .._cvxpy_solve import solve_with_fallback
from ._sdp import SINR_MARGIN, HermitianPSD
from ._span import SpanProblem, psd_part

__all__ = ["CvxpySupport"]


class CvxpySupport:
    """The compiled support SDP of one scenario; `solve(p, nu, c)` for any targets."""

    def __init__(self, base: SpanProblem, solver=None, solver_options=None):
        import cvxpy as cp

        K, d = base.n_users, base.dim
        self.solver, self.options = solver, solver_options
        self.Xs = [HermitianPSD(d) for _ in range(K)]
        self.R = HermitianPSD(d)
        self.nu = cp.Parameter(nonneg=True, value=1.0)
        self.c = cp.Parameter(nonneg=True, value=1.0)
        self.gamma = cp.Parameter(K, nonneg=True, value=np.zeros(K))
        self.beta = cp.Parameter(K, nonneg=True, value=np.zeros(K))
        gain_w = sum(X.quad(base.a) for X in self.Xs)
        cons = [sum(X.trace() for X in self.Xs) + self.R.trace() <= 1.0]
        for k in range(K):
            q = [X.quad(base.U[k]) for X in self.Xs]
            interference = sum(q[j] for j in range(K) if j != k) + self.R.quad(base.U[k])
            cons.append(q[k] - self.gamma[k] * interference >= (1 + SINR_MARGIN) * self.beta[k])
        self.rows = cons[1:]
        objective = cp.Maximize(self.c * self.R.quad(base.a) + self.nu * gain_w)
        self.problem = cp.Problem(objective, cons)

    def solve(self, p: SpanProblem, nu: float, c: float):
        """(X, Y, dual bound) for the targets of `p`, or None if the solver says infeasible."""
        self.nu.value, self.c.value = float(nu), float(c)
        self.gamma.value, self.beta.value = p.gamma, p.beta
        info = solve_with_fallback(self.problem, self.solver, self.options)
        if info.infeasible:
            return None
        X = psd_part(np.stack([V.value for V in self.Xs]))
        Y = psd_part(self.R.value)
        act = p.active
        mu = np.array([max(float(np.ravel(self.rows[k].dual_value)[0]), 0.0) for k in act])
        return X, Y, p.dual_bound(mu * p.beta[act], nu, c)
