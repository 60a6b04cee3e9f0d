r"""Covariance beampattern matching (Stoica, Li and Xie, "On probing signal design for MIMO radar").

For users who want a transmit covariance $R = \mathbb E[x x^H]$ instead of one beam: the
pattern of $R$ is $P(\theta) = a(\theta)^\top R\, a(\theta)^*$ and the design

$$
\min_{R \succeq 0,\ \alpha} \ \sum_i \big(\alpha\, d(\theta_i) - a(\theta_i)^\top R\,
a(\theta_i)^*\big)^2
\quad \text{s.t.}\quad \operatorname{tr} R = E_{tx}
\ \text{(total)}\ \text{ or }\ R_{kk} = E_{tx}/K\ \text{(per antenna)}
$$

is a convex (semidefinite) program solved with cvxpy. $\alpha$ is a free scale, so the
desired pattern $d$ only needs the right shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._cvxpy_solve import solve_with_fallback
from .._repr import summary_repr
from .._validation import as_array, check_choice, check_positive, readonly
from ..result import SolverResult
from .array_model import steering_matrix

__all__ = ["CovarianceMatchResult", "match_covariance_pattern", "covariance_beampattern"]


@dataclass(frozen=True, kw_only=True)
class CovarianceMatchResult(SolverResult):
    r"""Outcome of [`match_covariance_pattern`][beamopt.beampattern.match_covariance_pattern].

    Attributes
    ----------
    R : ndarray, shape (K, K), complex
        Transmit covariance.
    scale : float
        The optimal scale $\alpha$ of the desired pattern.
    pattern : ndarray, shape (n_grid,)
        $a(\theta_i)^\top R a(\theta_i)^*$ on the design grid.
    """

    R: np.ndarray
    scale: float
    pattern: np.ndarray

    __repr__ = summary_repr


def covariance_beampattern(R, angles, positions) -> np.ndarray:
    r"""Pattern $a(\theta)^\top R\, a(\theta)^*$ of covariance(s) `R` (shape `(..., K, K)`)."""
    R = as_array(R, "R", dtype=complex)
    A = steering_matrix(np.atleast_1d(as_array(angles, "angles", dtype=float)), positions)
    # sum_k A_kn (R A^*)_kn: one matrix product (BLAS) instead of a three-operand einsum loop
    return np.einsum("kn,...kn->...n", A, R @ A.conj()).real


def match_covariance_pattern(
    desired,
    grid,
    positions,
    *,
    energy: float = 1.0,
    constraint: str = "per_antenna",
    solver: str | None = None,
) -> CovarianceMatchResult:
    r"""Transmit covariance whose pattern best matches `desired` in least squares.

    Parameters
    ----------
    desired : array_like, shape (n_grid,)
        Desired pattern $d(\theta_i) \ge 0$ (any scale).
    grid : array_like, shape (n_grid,)
        Grid angles in radians.
    positions : array_like, shape (K,)
        Element positions in wavelengths.
    energy : float
        Energy budget $E_{tx} > 0$.
    constraint : {"per_antenna", "total"}
        $R_{kk} = E_{tx}/K$ for every antenna, or $\operatorname{tr} R = E_{tx}$.
    solver : str, optional
        cvxpy solver name; Clarabel then SCS when omitted.

    Returns
    -------
    CovarianceMatchResult
    """
    import cvxpy as cp

    grid = as_array(grid, "grid", dtype=float, ndim=1)
    d = as_array(desired, "desired", dtype=float, ndim=1)
    if d.shape != grid.shape:
        raise ValueError(f"desired must have shape {grid.shape} like grid; got {d.shape}")
    energy = check_positive(energy, "energy")
    check_choice(constraint, "constraint", ("per_antenna", "total"))
    A = steering_matrix(grid, positions)
    K = A.shape[0]
    R = cp.Variable((K, K), hermitian=True)
    alpha = cp.Variable()
    # a^T R a^* = sum_kl A_k R_kl conj(A_l), real for Hermitian R
    pat = cp.real(cp.sum(cp.multiply(A.T @ R, A.T.conj()), axis=1))
    cons = [R >> 0]
    if constraint == "total":
        cons.append(cp.real(cp.trace(R)) == energy)
    else:
        cons.append(cp.real(cp.diag(R)) == energy / K)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(alpha * d - pat)), cons)
    info = solve_with_fallback(prob, solver)
    Rv = 0.5 * (R.value + R.value.conj().T)
    return CovarianceMatchResult(
        objective=float(prob.value),
        status=info.status,
        method=f"covariance_match_{constraint}",
        iterations=info.iterations,
        solve_time=info.solve_time,
        message=info.message,
        R=readonly(Rv),
        scale=float(alpha.value),
        pattern=readonly(covariance_beampattern(Rv, grid, positions)),
    )
