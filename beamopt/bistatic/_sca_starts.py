r"""Feasible starting designs for [`beamopt.sca_superposition`][].

SCA only climbs from its start, and the superposition problem has (at sensing SNRs of a
few dB) two basins: the Gaussian-only beam and a design that splits the power between a
beam toward each user and a sensing beam. The starts here cover both:

* `"gaussian"`: the optimal Gaussian-only design (Proposition 1 of the CRB-rate paper, or
  the multi-user SDP), $R_s = 0$; an SCA fixed point whenever it is a local optimum.
* `"beams"`: fixed unit beams $v_k$ (matched to $h_k$; zero-forcing in the span when the
  matched beams cannot meet the targets) and a sensing beam toward $a$, with the powers
  from the linear program

  $$
  \max_{p, q \ge 0}\; q \quad\text{s.t.}\quad
  p_k |h_k^H v_k|^2 \ge \gamma_k\Big(\sum_{j\ne k} p_j |h_k^H v_j|^2
      + q\, |h_k^H v_r|^2 + \sigma_c^2\Big),\;
  \sum_k p_k + q \le P,
  $$

  i.e. the least power that meets the targets, the rest to sensing.
* random: the same program with each beam perturbed by a random direction inside
  $\mathrm{span}\{a, h_1, \dots, h_K\}$ (seeded).

Every constraint is affine in $(W, R_s)$, so a design that misses the targets is pulled
into the feasible set by the smallest blend with a strictly feasible anchor
([`blend_feasible`][beamopt.bistatic._sca_starts.blend_feasible]); this is how a
boundary warm-starts each target from the previous one.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "beam_powers",
    "beams_start",
    "random_start",
    "blend_feasible",
    "sinr_slack",
    "warm_start",
]


def beam_powers(scenario, gamma, V, v_r):
    """Powers (p, q) of the LP above for unit beams `V` (K, n) and `v_r`; None if infeasible."""
    from scipy.optimize import linprog

    K = scenario.n_users
    H = scenario.channels
    G = np.abs(H.conj() @ V.T) ** 2  # G[k, j] = |h_k^H v_j|^2
    r = np.abs(H.conj() @ v_r) ** 2
    s2c, P = scenario.comm_noise_power, scenario.power
    # scale rows by 1 / (P ||h_k||^2) so that the LP is well conditioned in watts-free units
    norm = P * np.sum(np.abs(H) ** 2, axis=-1)
    A = np.zeros((K + 1, K + 1))
    b = np.zeros(K + 1)
    for k in range(K):
        A[k, :K] = gamma[k] * G[k] / norm[k]
        A[k, k] = -G[k, k] / norm[k]
        A[k, K] = gamma[k] * r[k] / norm[k]
        b[k] = -gamma[k] * s2c / norm[k] * (1 + 1e-9)
    A[K] = 1.0
    b[K] = 1.0
    A[:K, :] *= P  # variables are fractions of P
    cost = np.zeros(K + 1)
    cost[K] = -1.0
    res = linprog(cost, A_ub=A, b_ub=b, bounds=[(0, None)] * (K + 1), method="highs")
    if res.status != 0:
        return None
    x = np.maximum(res.x, 0.0)
    x /= max(1.0, x.sum())
    return P * x[:K], P * x[K]


def _design(V, v_r, p, q):
    W = p[:, None, None] * V[:, :, None] * V[:, None, :].conj()
    return W, q * np.outer(v_r, v_r.conj())


def _zero_forcing(scenario, Q):
    """Unit zero-forcing beams inside the span (pseudo-inverse of the channels)."""
    Hq = scenario.channels.conj() @ Q  # rows h_k^H Q
    B = np.linalg.pinv(Hq)  # (d, K): Hq @ B = I
    V = (Q @ B).T
    return V / np.linalg.norm(V, axis=-1, keepdims=True)


def beams_start(scenario, gamma, Q):
    """The user-beams-plus-sensing-beam start; (W stack, Rs) or None if neither beam set fits."""
    a_hat = scenario.a / np.linalg.norm(scenario.a)
    mrt = scenario.channels / np.linalg.norm(scenario.channels, axis=-1, keepdims=True)
    for V in (mrt, _zero_forcing(scenario, Q)) if scenario.n_users > 1 else (mrt,):
        powers = beam_powers(scenario, gamma, V, a_hat)
        if powers is not None:
            return _design(V, a_hat, *powers)
    return None


def random_start(scenario, gamma, Q, rng, tries: int = 10):
    """A random feasible start: beams perturbed in the span, powers from the LP.

    The perturbation strength is drawn in `[0, 2)` and halved until the LP is feasible.
    """
    d = Q.shape[1]
    K = scenario.n_users
    a_hat = scenario.a / np.linalg.norm(scenario.a)
    mrt = scenario.channels / np.linalg.norm(scenario.channels, axis=-1, keepdims=True)
    bases = [mrt] if K == 1 else [mrt, _zero_forcing(scenario, Q)]
    Z = Q @ (rng.standard_normal((d, K + 1)) + 1j * rng.standard_normal((d, K + 1)))
    Z /= np.linalg.norm(Z, axis=0)
    t = 2.0 * rng.uniform(size=K + 1)
    phases = np.exp(2j * np.pi * rng.uniform(size=K + 1))
    for _ in range(tries):
        for base in bases:
            V = base + (t[:K] * phases[:K])[:, None] * Z[:, :K].T
            V /= np.linalg.norm(V, axis=-1, keepdims=True)
            v_r = a_hat + t[K] * phases[K] * Z[:, K]
            v_r /= np.linalg.norm(v_r)
            powers = beam_powers(scenario, gamma, V, v_r)
            if powers is not None:
                return _design(V, v_r, *powers)
        t = 0.5 * t
    return None


def sinr_slack(scenario, gamma, W, Rs):
    r"""Affine SINR slacks $h_k^H W_k h_k - \gamma_k(\text{interference}_k + \sigma_c^2)$."""
    H = scenario.channels
    q = np.einsum("ki,jil,kl->jk", H.conj(), W, H).real  # q[j, k] = h_k^H W_j h_k
    r = np.einsum("ki,il,kl->k", H.conj(), Rs, H).real
    own = np.diagonal(q)
    return own - gamma * (q.sum(axis=0) - own + r + scenario.comm_noise_power)


def blend_feasible(scenario, gamma, W, Rs, anchor):
    """Smallest blend `(1 - lam) (W, Rs) + lam anchor` that meets the targets and the budget.

    `W` has shape (K, n, n). Returns None if the anchor itself is not strictly feasible
    where the design falls short.
    """
    Wa, Ra = anchor
    P = scenario.power
    t = np.trace(W.sum(axis=0) + Rs).real
    if t > P:
        W, Rs = W * (P / t), Rs * (P / t)
    g0 = sinr_slack(scenario, gamma, W, Rs)
    g1 = sinr_slack(scenario, gamma, Wa, Ra)
    short = g0 < 0
    if not np.any(short):
        return W, Rs
    if np.any(g1[short] <= 0):
        return None
    lam = float(np.max(-g0[short] / (g1[short] - g0[short])))
    lam = min(1.0, lam * (1 + 1e-9) + 1e-12)
    return (1 - lam) * W + lam * Wa, (1 - lam) * Rs + lam * Ra


def warm_start(scenario, gamma, W, Rs):
    """A previous design (e.g. the last point of a boundary) made feasible for `gamma`.

    One user: the smallest blend with the all-power-to-the-user design, strictly
    feasible below the largest target. Several users: the design as is if it already
    meets the targets, else None.
    """
    gamma = np.broadcast_to(np.asarray(gamma, dtype=float), (scenario.n_users,))
    W = np.asarray(W, dtype=complex).reshape(scenario.n_users, scenario.n_tx, scenario.n_tx)
    Rs = np.asarray(Rs, dtype=complex)
    if scenario.n_users == 1:
        u = scenario.channel / np.linalg.norm(scenario.channel)
        anchor = (scenario.power * np.outer(u, u.conj())[None], np.zeros_like(Rs))
    else:
        anchor = (W, Rs)
    out = blend_feasible(scenario, gamma, W, Rs, anchor)
    if out is None:
        return None
    W, Rs = out
    return (W if scenario.n_users > 1 else W[0]), Rs
