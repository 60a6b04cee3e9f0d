r"""The (learned) BCRB as a design objective: the transmit covariance minimising tr BCRB.

For $y_k = H(\theta)x_k + z_k$ with $\frac1K\sum_k x_k x_k^H = R$ and i.i.d. circular noise
$z_k$ of Fisher information matrix $\Gamma$ ($\Gamma = I/\sigma^2$ per complex entry for
$\mathcal{CN}(0, \sigma^2 I)$), the data FIM is linear in $R$,
$[J_d(R)]_{ij} = \Re\operatorname{tr}(R\,D_{ij})$ with
$D_{ij} = 2K\,\mathbb E_\theta[\partial_i H^H\,\Gamma\,\partial_j H]$, so
$$
\min_{R\succeq 0,\ \operatorname{tr}R\le P}\ f(R) = \operatorname{tr}\big((J_p + J_d(R))^{-1}\big)
= \min\ \operatorname{tr}U\ \text{ s.t. }\begin{bmatrix}U & I\\ I & J_p +
J_d(R)\end{bmatrix}\succeq 0
$$
is a semidefinite program; $J_p$ is any prior FIM (learned or exact), and $\Gamma$ may be
learned too (the score of noise samples: a learned data FIM).

Solution. The SDP is solved in a subspace $R = Q S Q^H$ and checked against the full space
by the first-order optimality certificate of the convex problem: with the gradient
$G = \nabla_R f = -\sum_{ij} [J^{-2}]_{ij} D_{ij}$,
$$
f(R) - f^\star \le \operatorname{gap}(R) = \operatorname{tr}(G R) - P\,\lambda_{\min}(G),
$$
and while the gap exceeds `tol` $\times f(R)$ the leading eigenvectors of $-G$ outside the
subspace are added (column generation). The subspace starts from the leading eigenvectors
of $\sum_i D_{ii}$; directions outside the range of every $D_{ij}$ carry no information, so
the certified answer is that of the unrestricted $N\times N$ problem. The SDP is scaled by
the isotropic design's information $J_0 = J_p + J_d(P I/N)$ (a congruence) and $P$, so its
entries are $O(1)$ whatever the units.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._cvxpy_solve import solve_with_fallback
from .._validation import as_array, check_int, check_positive, readonly
from ..errors import SolverError

__all__ = [
    "BCRBDesign",
    "data_fim_operator",
    "fim_of_covariance",
    "bcrb_gradient",
    "minimize_bcrb_trace",
]


@dataclass(frozen=True, repr=False)
class BCRBDesign:
    r"""Result of [`minimize_bcrb_trace`][beamopt.metrics.design.minimize_bcrb_trace].

    Attributes
    ----------
    covariance : ndarray, shape (N, N), complex
    bcrb_trace : float
        $\operatorname{tr}((J_p + J_d(R))^{-1})$ at the optimum, with the `prior_fim` given.
    status, solver : str
        The status of the last SDP ("optimal" or "optimal_inaccurate") and its back-end.
    gap : float
        Certified bound on `bcrb_trace` minus the unrestricted optimum (first-order
        optimality gap over all $R \succeq 0$, $\operatorname{tr} R \le P$).
    rank : int
        Dimension of the subspace the covariance was optimised in.
    rounds : int
        SDPs solved (subspace enlargements + 1).
    """

    covariance: np.ndarray
    bcrb_trace: float
    status: str
    solver: str
    gap: float = float("nan")
    rank: int = 0
    rounds: int = 1

    @property
    def relative_gap(self) -> float:
        return self.gap / self.bcrb_trace

    def __repr__(self) -> str:
        N = self.covariance.shape[0]
        return (
            f"BCRBDesign(bcrb_trace={self.bcrb_trace:.5g}, gap={self.gap:.2g} "
            f"({self.relative_gap:.1e} relative), status={self.status!r}, solver="
            f"{self.solver!r}, rank {self.rank} of {N}, rounds={self.rounds})"
        )


def data_fim_operator(derivatives, noise_var=None, n_snapshots: int = 1, *, noise_fim=None):
    r"""$D_{ij} = 2K\,\frac1M\sum_m \partial_i H_m^H\,\Gamma\,\partial_j H_m$.

    Then $J_d(R)_{ij} = \Re\operatorname{tr}(R D_{ij})$.

    Parameters
    ----------
    derivatives : array_like, shape (M, d, n_rx, N), complex
        $\partial H/\partial\theta_i$ at prior draws $\theta_m$.
    noise_var : float, optional
        $\sigma^2$ of white $\mathcal{CN}(0, \sigma^2 I)$ noise ($\Gamma = I/\sigma^2$).
    n_snapshots : int
    noise_fim : array_like, shape (n_rx, n_rx) or (2 n_rx, 2 n_rx), optional
        Instead of `noise_var`: the noise's Fisher information. Complex
        $\Gamma = \mathbb E[\nabla_{z^*}\log p\,(\nabla_{z^*}\log p)^H]$ (Hermitian,
        $I/\sigma^2$ for $\mathcal{CN}(0, \sigma^2 I)$), or the real $2n_{rx}\times 2n_{rx}$
        FIM of $[\Re z; \Im z]$ (e.g. `fisher_from_scores(learned_noise_scores).matrix`,
        $2I/\sigma^2$ for $\mathcal{CN}(0, \sigma^2 I)$), whose circular part
        $\Gamma = \tfrac14(A + C) + \tfrac{j}{4}(B - B^\top)$ of
        $\begin{bmatrix}A & B^\top\\ B & C\end{bmatrix}$ is used (exact for circular noise).

    Returns
    -------
    ndarray, shape (d, d, N, N)
    """
    dH = as_array(derivatives, "derivatives", dtype=complex, ndim=4)
    K = check_int(n_snapshots, "n_snapshots")
    n_rx = dH.shape[2]
    if (noise_var is None) == (noise_fim is None):
        raise ValueError("give exactly one of noise_var and noise_fim")
    if noise_fim is None:
        s2 = check_positive(noise_var, "noise_var")
        return 2.0 * K / s2 * np.einsum("mirn,mjrk->ijnk", dH.conj(), dH) / dH.shape[0]
    G = as_array(noise_fim, "noise_fim", ndim=2)
    if G.shape == (2 * n_rx, 2 * n_rx):
        G = np.real(G)
        A, B, C = G[:n_rx, :n_rx], G[n_rx:, :n_rx], G[n_rx:, n_rx:]
        # 2 Re{m^H Gamma m} = [a; b]^T F [a; b] for m = a + jb and circular F: A = C = 2 Re Gamma,
        # B = 2 Im Gamma (antisymmetric)
        G = 0.25 * (A + C) + 0.25j * (B - B.T)
    elif G.shape != (n_rx, n_rx):
        raise ValueError(
            f"noise_fim must have shape ({n_rx}, {n_rx}) or ({2 * n_rx}, {2 * n_rx}); got {G.shape}"
        )
    G = 0.5 * (G + G.conj().T)
    if np.linalg.eigvalsh(G)[0] < -1e-10 * max(np.abs(G).max(), 1e-300):
        raise ValueError("noise_fim must be positive semidefinite")
    return 2.0 * K * np.einsum("mirn,rs,mjsk->ijnk", dH.conj(), G, dH) / dH.shape[0]


def fim_of_covariance(D: np.ndarray, R: np.ndarray) -> np.ndarray:
    """$J_d(R)$ for a fixed covariance (numpy)."""
    return np.real(np.einsum("ijnk,kn->ij", D, R))


def bcrb_gradient(prior_fim, data_operator, covariance) -> np.ndarray:
    r"""$\nabla_R \operatorname{tr}((J_p + J_d(R))^{-1}) = -\sum_{ij}[J^{-2}]_{ij} D_{ij}$
    (Hermitian, shape (N, N)): $df = \Re\operatorname{tr}(G\,dR)$."""
    D = np.asarray(data_operator)
    J = np.asarray(prior_fim, dtype=float) + fim_of_covariance(D, covariance)
    Ji = np.linalg.inv(J)
    W = Ji @ Ji
    # J_ij = Re tr(D_ij R), so df = -sum_ij W_ij Re tr(D_ij dR) = Re tr(G dR)
    G = -np.einsum("ij,ijnk->nk", W, D)
    return 0.5 * (G + G.conj().T)


def _solve_subspace(Jp, D, Q, P, L, solver):
    """The scaled SDP over R = Q S Q^H; returns (R, status, solver)."""
    import cvxpy as cp

    d = Jp.shape[0]
    Linv = np.linalg.inv(L)
    # J~ = L^{-1} J L^{-T}: O(1) entries; tr J^{-1} = tr(W J~^{-1}) with W = (L L^T)^{-1}
    Dq = np.einsum("na,ijnk,kb->ijab", Q.conj(), D, Q) * P
    Dt = np.einsum("pi,ijab,qj->pqab", Linv, Dq, Linv)
    Jt_p = Linv @ Jp @ Linv.T
    W = Linv @ Linv.T
    W = 0.5 * (W + W.T) / np.trace(W)
    r = Q.shape[1]
    S = cp.Variable((r, r), hermitian=True)
    U = cp.Variable((d, d), symmetric=True)
    J = cp.bmat([[cp.real(cp.sum(cp.multiply(S, Dt[i, j].T))) for j in range(d)] for i in range(d)])
    J = J + Jt_p
    Js = 0.5 * (J + J.T)
    lmi = cp.bmat([[U, np.eye(d)], [np.eye(d), Js]])
    prob = cp.Problem(
        cp.Minimize(cp.trace(W @ U)),
        [S >> 0, cp.real(cp.trace(S)) <= 1.0, 0.5 * (lmi + lmi.T) >> 0],
    )
    info = solve_with_fallback(prob, solver)
    if S.value is None:
        raise SolverError(f"BCRB design failed: {info.message}")
    Sv = 0.5 * (S.value + S.value.conj().T)
    # an interior-point answer may be slightly indefinite or over budget: project
    lam, V = np.linalg.eigh(Sv)
    lam = np.clip(lam, 0.0, None)
    lam *= min(1.0, 1.0 / max(lam.sum(), 1e-300))
    return P * (Q @ ((V * lam) @ V.conj().T) @ Q.conj().T), info.status, info.solver


def minimize_bcrb_trace(
    prior_fim,
    data_operator,
    power,
    *,
    rank: int | str | None = "auto",
    tol: float = 1e-4,
    max_rounds: int = 12,
    solver=None,
) -> BCRBDesign:
    r"""Transmit covariance minimising $\operatorname{tr}((J_p + J_d(R))^{-1})$ s.t. tr $R \le P$.

    Parameters
    ----------
    prior_fim : array_like, shape (d, d)
        $J_p$ (e.g. `score_fim(learned_prior, samples).matrix`).
    data_operator : ndarray, shape (d, d, N, N)
        From [`data_fim_operator`][beamopt.metrics.design.data_fim_operator].
    power : float
        Budget $P > 0$.
    rank : "auto", int or None
        Starting subspace: "auto" ($\max(2d, 4)$ leading eigenvectors of $\sum_i D_{ii}$), an
        int, or None for the full $N\times N$ covariance (one SDP, slow for large $N$).
        The subspace grows until the certified gap is below `tol`, so the answer does not
        depend on it (only the time does).
    tol : float
        Relative optimality gap $\operatorname{gap}/f$ to certify (default $10^{-4}$).
    max_rounds : int
        SDPs at most; a warning is issued when the gap is still above `tol`.
    solver : str, optional
        cvxpy solver name (default Clarabel, then SCS).

    Returns
    -------
    BCRBDesign
        A warning (RuntimeWarning) is issued when the last SDP is only
        "optimal_inaccurate" or the gap stays above `tol`.
    """
    Jp = as_array(prior_fim, "prior_fim", dtype=float, ndim=2)
    D = as_array(data_operator, "data_operator", dtype=complex, ndim=4)
    d, N = D.shape[0], D.shape[2]
    if Jp.shape != (d, d) or D.shape != (d, d, N, N):
        raise ValueError(f"prior_fim must be ({d}, {d}) matching data_operator {D.shape}")
    Jp = 0.5 * (Jp + Jp.T)
    P = check_positive(power, "power")
    tol = check_positive(tol, "tol")
    max_rounds = check_int(max_rounds, "max_rounds")
    _, V = np.linalg.eigh(sum(D[i, i] for i in range(d)))
    V = V[:, ::-1]
    if rank is None:
        Q = np.eye(N, dtype=complex)
    else:
        if rank == "auto":
            r0 = max(2 * d, 4)
        elif isinstance(rank, str):
            raise ValueError(f"rank must be 'auto', an int >= 1 or None; got {rank!r}")
        else:
            r0 = check_int(rank, "rank")
        Q = V[:, : min(r0, N)]
    J0 = Jp + fim_of_covariance(D, np.eye(N) * P / N)
    if np.linalg.eigvalsh(J0)[0] <= 0:
        raise ValueError("prior_fim + J_d(P I / N) must be positive definite")
    L = np.linalg.cholesky(0.5 * (J0 + J0.T))
    rounds = 0
    while True:
        rounds += 1
        R, status, used = _solve_subspace(Jp, D, Q, P, L, solver)
        f = float(np.trace(np.linalg.inv(Jp + fim_of_covariance(D, R))))
        G = bcrb_gradient(Jp, D, R)
        g_eig, g_vec = np.linalg.eigh(G)
        gap = max(float(np.real(np.trace(G @ R))) - P * float(g_eig[0]), 0.0)
        if gap <= tol * f or Q.shape[1] >= N or rounds >= max_rounds:
            break
        # column generation: the most improving directions of -G outside the subspace
        cand = g_vec[:, : max(2 * d, 2)]
        cand = cand - Q @ (Q.conj().T @ cand)
        basis, sv, _ = np.linalg.svd(cand, full_matrices=False)
        new = basis[:, sv > 1e-8 * max(sv.max(), 1e-300)]
        if new.shape[1] == 0:
            break
        Q, _ = np.linalg.qr(np.concatenate([Q, new], axis=1))
    if status != "optimal":
        warnings.warn(
            f"minimize_bcrb_trace: the SDP ended {status!r} (solver {used}); the certified "
            f"gap is {gap:.3g} ({gap / f:.2e} of the objective)",
            RuntimeWarning,
            stacklevel=2,
        )
    if gap > tol * f:
        warnings.warn(
            f"minimize_bcrb_trace: optimality gap {gap / f:.2e} of the objective after "
            f"{rounds} rounds (tol {tol:g}); raise max_rounds or pass rank=None",
            RuntimeWarning,
            stacklevel=2,
        )
    return BCRBDesign(readonly(R), f, status, used, gap, int(Q.shape[1]), rounds)
