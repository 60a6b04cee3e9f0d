"""Helpers of the multi-user tests: random scenarios and an independent cvxpy reference.

`rayleigh_scenario` draws scenarios as a new user would: K users with i.i.d. Rayleigh
channels whose gains spread +-5 dB around the 80 m path loss, n_rx of 16 or 32, random
DoD and DoA; everything else is the default scenario. `min_power_sdp` is the
power-minimisation SDP written out in cvxpy (full space, explicit real embedding).
"""

from __future__ import annotations

import numpy as np

import beamopt
from beamopt.bistatic.channels import path_loss


def rayleigh_scenario(n_users: int, n_tx: int, rng) -> beamopt.BistaticScenario:
    base = beamopt.BistaticScenario.from_geometry(
        n_tx=n_tx,
        n_rx=int(rng.choice([16, 32])),
        dod_deg=rng.uniform(-60, 60),
        doa_deg=rng.uniform(-60, 60),
        user_angle_deg=np.zeros(n_users),
    )
    gain = path_loss(80.0, 2.8) * 10 ** (rng.uniform(-5, 5, n_users) / 10)
    z = rng.standard_normal((n_users, n_tx)) + 1j * rng.standard_normal((n_users, n_tx))
    return base.replace(channel=np.sqrt(gain / 2)[:, None] * z)


def dense_checks(sc, W, Rs):
    """Dense checks of a design: SINR, power and smallest eigenvalue (relative to P)."""
    sinr = np.atleast_1d(beamopt.communication_sinr(sc, W, Rs))
    W = W.reshape(-1, sc.n_tx, sc.n_tx)
    power = np.trace(W.sum(axis=0) + Rs).real
    low = min(np.linalg.eigvalsh(W).min(), np.linalg.eigvalsh(Rs).min())
    return sinr, power, low / sc.power


def min_power_sdp(sc, gamma):
    """min sum tr W_k / P s.t. SINR_k >= gamma_k.

    Row k as u_k^H W_k u_k / gamma_k - interference >= sigma^2 / (P ||h_k||^2) with unit
    channels u_k: the scaling under which Clarabel reports "optimal" here.
    """
    import cvxpy as cp

    n, K = sc.n_tx, sc.n_users
    Z = [cp.Variable((2 * n, 2 * n), PSD=True) for _ in range(K)]
    cons = [c for z in Z for c in (z[:n, :n] == z[n:, n:], z[:n, n:] == -z[n:, :n])]
    U = sc.channels / np.linalg.norm(sc.channels, axis=1, keepdims=True)

    def quad(z, u):
        v = np.concatenate([u.real, u.imag])
        return v @ z @ v

    for k in range(K):
        q = [quad(z, U[k]) for z in Z]
        if gamma[k] > 0:
            interference = sum(q[j] for j in range(K) if j != k)
            cons.append(q[k] / gamma[k] - interference >= 1 / sc.max_snr[k])
    prob = cp.Problem(cp.Minimize(sum(cp.trace(z) for z in Z) / 2), cons)
    prob.solve(solver="CLARABEL")
    assert prob.status == "optimal"
    return prob.value
