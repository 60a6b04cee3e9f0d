r"""The learned BCRB as a design objective: the transmit covariance minimising tr BCRB.

For $y_k = H(\theta)x_k + \mathcal{CN}(0, \sigma^2 I)$ with $\frac1K\sum_k x_k x_k^H = R$, the
data
FIM is linear in $R$, $[J_d(R)]_{ij} = \frac{2K}{\sigma^2}\,\mathbb E_\theta\Re\operatorname{tr}
(R\,\partial_i H^H\partial_j H)$, so
$$
\min_{R\succeq 0,\ \operatorname{tr}R\le P}\ \operatorname{tr}\big((J_p + J_d(R))^{-1}\big)
= \min\ \operatorname{tr}U\ \text{ s.t. }\begin{bmatrix}U & I\\ I & J_p +
J_d(R)\end{bmatrix}\succeq 0
$$
is a semidefinite program; $J_p$ is any prior FIM (learned or exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._cvxpy_solve import solve_with_fallback
from .._repr import summary_repr
from .._validation import as_array, check_int, check_positive, readonly
from ..errors import SolverError

__all__ = ["BCRBDesign", "data_fim_operator", "fim_of_covariance", "minimize_bcrb_trace"]


@dataclass(frozen=True)
class BCRBDesign:
    r"""Result of [`minimize_bcrb_trace`][beamopt.metrics.design.minimize_bcrb_trace].

    Attributes
    ----------
    covariance : ndarray, shape (N, N), complex
    bcrb_trace : float
        $\operatorname{tr}((J_p + J_d(R))^{-1})$ at the optimum, with the `prior_fim` given.
    status, solver : str
    """

    covariance: np.ndarray
    bcrb_trace: float
    status: str
    solver: str

    __repr__ = summary_repr


def data_fim_operator(derivatives, noise_var, n_snapshots: int = 1) -> np.ndarray:
    r"""$D_{ij} = \frac{2K}{\sigma^2}\frac1M\sum_m \partial_i H_m^H \partial_j H_m$.

    Then $J_d(R)_{ij} = \Re\operatorname{tr}(R D_{ij})$.

    Parameters
    ----------
    derivatives : array_like, shape (M, d, n_rx, N), complex
        $\partial H/\partial\theta_i$ at prior draws $\theta_m$.

    Returns
    -------
    ndarray, shape (d, d, N, N)
    """
    dH = as_array(derivatives, "derivatives", dtype=complex, ndim=4)
    s2 = check_positive(noise_var, "noise_var")
    K = check_int(n_snapshots, "n_snapshots")
    return 2.0 * K / s2 * np.einsum("mirn,mjrk->ijnk", dH.conj(), dH) / dH.shape[0]


def fim_of_covariance(D: np.ndarray, R: np.ndarray) -> np.ndarray:
    """$J_d(R)$ for a fixed covariance (numpy)."""
    return np.real(np.einsum("ijnk,kn->ij", D, R))


def minimize_bcrb_trace(
    prior_fim, data_operator, power, *, rank: int | None = 8, solver=None
) -> BCRBDesign:
    r"""Transmit covariance minimising $\operatorname{tr}((J_p + J_d(R))^{-1})$ s.t. tr $R \le P$.

    Parameters
    ----------
    prior_fim : array_like, shape (d, d)
        $J_p$ (e.g. `fisher_from_scores(learned_scores).matrix`).
    data_operator : ndarray, shape (d, d, N, N)
        From [`data_fim_operator`][beamopt.metrics.design.data_fim_operator].
    power : float
        Budget $P > 0$.
    rank : int or None
        Optimise $R = Q S Q^H$ over the `rank` leading eigenvectors $Q$ of
        $\sum_i D_{ii}$ (the directions the data FIM sees); None optimises the full $N\times N$
        covariance (slow for large $N$). Directions outside $Q$ carry no information when $Q$
        spans the range of every $D_{ij}$.
    solver : str, optional
        cvxpy solver name (default Clarabel, then SCS).
    """
    import cvxpy as cp

    Jp = as_array(prior_fim, "prior_fim", dtype=float, ndim=2)
    D = as_array(data_operator, "data_operator", dtype=complex, ndim=4)
    d, N = D.shape[0], D.shape[2]
    if Jp.shape != (d, d) or D.shape != (d, d, N, N):
        raise ValueError(f"prior_fim must be ({d}, {d}) matching data_operator {D.shape}")
    P = check_positive(power, "power")
    Q = np.eye(N)
    if rank is not None:
        rank = check_int(rank, "rank")
        lam, V = np.linalg.eigh(sum(D[i, i] for i in range(d)))
        Q = V[:, ::-1][:, : min(rank, N)]
    Dq = np.einsum("na,ijnk,kb->ijab", Q.conj(), D, Q)
    # normalise so the SDP is well scaled
    unit = float(np.max(np.abs(Dq))) * P
    n_var = Q.shape[1]
    R = cp.Variable((n_var, n_var), hermitian=True)
    U = cp.Variable((d, d), symmetric=True)
    J = cp.bmat(
        [[cp.real(cp.sum(cp.multiply(R, Dq[i, j].T))) / unit for j in range(d)] for i in range(d)]
    )
    J = J + Jp / unit
    Js = 0.5 * (J + J.T)
    lmi = cp.bmat([[U, np.eye(d)], [np.eye(d), Js]])
    prob = cp.Problem(
        cp.Minimize(cp.trace(U)), [R >> 0, cp.real(cp.trace(R)) <= P, 0.5 * (lmi + lmi.T) >> 0]
    )
    info = solve_with_fallback(prob, solver)
    if R.value is None:
        raise SolverError(f"BCRB design failed: {info.message}")
    S = 0.5 * (R.value + R.value.conj().T)
    # an inaccurate interior-point answer may be slightly indefinite or over budget: project
    lam, V = np.linalg.eigh(S)
    lam = np.clip(lam, 0.0, None)
    lam *= min(1.0, P / max(lam.sum(), 1e-300))
    Rv = Q @ ((V * lam) @ V.conj().T) @ Q.conj().T
    tr = float(np.trace(np.linalg.inv(Jp + fim_of_covariance(D, Rv))))
    return BCRBDesign(readonly(Rv), tr, info.status, info.solver)
