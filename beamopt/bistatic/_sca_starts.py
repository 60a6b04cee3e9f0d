r"""Feasible starting designs for [`beamopt.sca_superposition`][].

SCA only climbs from its start, and the superposition problem has (at sensing SNRs of a
few dB) two basins: the Gaussian-only beam and a design that splits the power between a
beam toward each user and a sensing beam. The starts here cover both:

* `"gaussian"`: the optimal Gaussian-only design (Proposition 1 of the CRB-rate paper, or
  the multi-user SDP), $R_s = 0$; an SCA fixed point whenever it is a local optimum.
* `"beams"`: fixed unit beams $v_k$ (matched to $h_k$; zero-forcing in the span, then the
  least-power MMSE beams of `beamopt.bistatic._power_min`, when the matched beams cannot
  meet the targets) and a sensing beam toward $a$, with the powers from the linear program

  $$
  \max_{p, q \ge 0}\; q \quad\text{s.t.}\quad
  p_k |h_k^H v_k|^2 \ge \gamma_k\Big(\sum_{j\ne k} p_j |h_k^H v_j|^2
      + q\, |h_k^H v_r|^2 + \sigma_c^2\Big),\;
  \sum_k p_k + q \le P,
  $$

  i.e. the least power that meets the targets, the rest to sensing (solved in closed
  form, [`beam_powers`][beamopt.bistatic._sca_starts.beam_powers]). With the MMSE
  beams the program is feasible whenever the targets are. Everything is computed in the
  span basis of `beamopt.bistatic._span`, in normalised units.
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
    "mmse_beams",
    "blend_feasible",
    "sinr_slack",
    "warm_start",
]


def beam_powers(p, V, v_r):
    r"""Power fractions (x, q) of the program above for unit beams `V` (K, d) and `v_r` (d,)
    in the span basis; None if the beams cannot meet the targets within the budget.

    In normalised units user $k$'s row reads $G_{kk} x_k - \gamma_k \sum_{j\ne k} G_{kj} x_j
    \ge \beta_k + \gamma_k r_k q$ with $G_{kj} = |u_k^H v_j|^2$, $r_k = |u_k^H v_r|^2$:
    $M x \ge \beta + \gamma r q$ with $M = \mathrm{diag}(G_{kk}) - \mathrm{diag}(\gamma)
    G_{\text{off}}$ over the users with a target. The rows are solvable iff $M$ is a
    nonsingular M-matrix ($\rho(\mathrm{diag}(G_{kk})^{-1}\mathrm{diag}(\gamma)G_{\text{off}})
    < 1$, the classical power-control condition); then $M^{-1} \ge 0$, every feasible $x$
    is at least $M^{-1}(\beta + \gamma r q)$, and the linear program has the closed-form
    optimum $q^* = (1 - \mathbf 1^T M^{-1}\beta)/(1 + \mathbf 1^T M^{-1}\gamma r)$ (users
    without a target get no power).
    """
    act = p.active
    K = p.n_users
    x = np.zeros(K)
    if act.size == 0:
        return x, 1.0
    G = np.abs(p.U[act].conj() @ V[act].T) ** 2  # G[k, j] = |u_k^H v_j|^2 over active users
    r = np.abs(p.U[act].conj() @ v_r) ** 2
    g = p.gamma[act]
    own = np.diagonal(G).copy()
    if np.any(own <= 0):
        return None
    off = g[:, None] * (G - np.diag(own))
    if act.size > 1 and np.max(np.abs(np.linalg.eigvals(off / own[:, None]))) >= 1 - 1e-12:
        return None
    M = np.diag(own) - off
    base = np.linalg.solve(M, p.beta[act] * (1 + 1e-9))
    slope = np.linalg.solve(M, g * r)
    q = (1.0 - base.sum()) / (1.0 + slope.sum())
    if q < 0:
        return None
    x[act] = np.maximum(base + slope * q, 0.0)
    return x, q


def _design(V, v_r, x, q):
    X = x[:, None, None] * V[:, :, None] * V[:, None, :].conj()
    return X, q * np.outer(v_r, v_r.conj())


def _zero_forcing(p):
    """Unit zero-forcing beams in the span basis (pseudo-inverse of the channels)."""
    V = np.linalg.pinv(p.U.conj()).T  # rows v_k with u_j^H v_k = 0 for j != k
    return V / np.linalg.norm(V, axis=-1, keepdims=True)


def _beam_sets(p, mmse=None):
    mrt = p.U
    sets = [mrt] if p.n_users == 1 else [mrt, _zero_forcing(p)]
    if mmse is not None:
        sets.append(mmse)
    return sets


def mmse_beams(X):
    """Unit beams of a rank-one design (the least-power MMSE beams), shape (K, d)."""
    _, E = np.linalg.eigh(X)
    V = E[..., -1]
    return V / np.maximum(np.linalg.norm(V, axis=-1, keepdims=True), 1e-300)


def beams_start(p, mmse=None):
    """The user-beams-plus-sensing-beam start in the span basis; (X, Y) or None.

    Tries matched-filter, zero-forcing and (if given) the least-power MMSE beams.
    """
    a_hat = p.a / np.linalg.norm(p.a)
    for V in _beam_sets(p, mmse):
        powers = beam_powers(p, V, a_hat)
        if powers is not None:
            return _design(V, a_hat, *powers)
    return None


def random_start(p, rng, mmse=None, tries: int = 10):
    """A random feasible start: beams perturbed in the span, powers from the LP.

    The perturbation strength is drawn in `[0, 2)` and halved until the LP is feasible.
    """
    d, K = p.dim, p.n_users
    a_hat = p.a / np.linalg.norm(p.a)
    Z = rng.standard_normal((d, K + 1)) + 1j * rng.standard_normal((d, K + 1))
    Z /= np.linalg.norm(Z, axis=0)
    t = 2.0 * rng.uniform(size=K + 1)
    phases = np.exp(2j * np.pi * rng.uniform(size=K + 1))
    for _ in range(tries):
        for base in _beam_sets(p, mmse):
            V = base + (t[:K] * phases[:K])[:, None] * Z[:, :K].T
            V /= np.linalg.norm(V, axis=-1, keepdims=True)
            v_r = a_hat + t[K] * phases[K] * Z[:, K]
            v_r /= np.linalg.norm(v_r)
            powers = beam_powers(p, V, v_r)
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
