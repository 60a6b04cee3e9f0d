r"""The SCA subproblem of [`beamopt.sca_superposition`][beamopt.bistatic.sca.sca_superposition] and
its solution clean-up.

The subproblem is the SDP $\max\, \hat a^H \tilde R \hat a + \nu\, \hat a^H \tilde W \hat a$
over the normalised covariances ($\tilde W = W/P$), optionally restricted to
$\mathrm{span}\{a, h_1, \dots, h_K\}$, with the tangent slope $\nu$ a cvxpy
parameter so that the problem is compiled once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["build", "clean", "repair"]


def build(scenario, gamma, Q):
    """The SCA subproblem in normalised units, with the tangent slope as a parameter.

    Variables are `W' = Q^H W Q / P` in the basis `Q` (see
    `beamopt.bistatic._sdp.covariance_program` for the row scaling and margin).
    """
    import cvxpy as cp

    from ._sdp import covariance_program

    prog = covariance_program(scenario, gamma, sensing=True, reduce=Q.shape[1] < scenario.n_tx)
    nu = cp.Parameter(nonneg=True)
    problem = cp.Problem(cp.Maximize(prog.gain("R") + nu * prog.gain("W")), prog.constraints)
    return problem, prog.Ws, prog.R, nu


def clean(M):
    """Hermitian part with negative eigenvalues (solver round-off) removed."""
    M = 0.5 * (M + M.conj().swapaxes(-1, -2))
    lam, V = np.linalg.eigh(M)
    return (V * np.maximum(lam, 0.0)[..., None, :]) @ V.conj().swapaxes(-1, -2)


def repair(scenario, gamma, Wn, Rn):
    """Undo solver round-off so that the returned design is feasible.

    Scale to unit trace at most. With one user, blend with the all-power-to-the-user
    design (strictly feasible below the largest target; every constraint is linear,
    so the smallest feasible blend is explicit). With several users, shrink Rs until
    every SINR holds. At high targets the sensing signal's leakage toward a user is
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
    room = own / np.maximum(gamma, 1e-300) - (q.sum(axis=0) - own) - 1.0 / scenario.max_snr
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where((gamma > 0) & (r > 0), room / r, np.inf)
    if np.any(room < 0):  # a user's own beam falls short; shrinking Rs cannot fix it
        return Wn, Rn
    return Wn, Rn * float(min(np.min(c), 1.0))
