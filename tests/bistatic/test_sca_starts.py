"""Starting designs of the SCA (beamopt.bistatic._sca_starts).

Reference for the closed-form beam powers: the same linear program solved by scipy's
HiGHS (`scipy.optimize.linprog`).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from beamopt.bistatic._sca_starts import beam_powers, beams_start, random_start
from beamopt.bistatic._span import row_slack, span_problem

from ._multiuser import rayleigh_scenario


def _lp(p, V, v_r):
    """max q s.t. G_kk x_k - gamma_k (sum_j!=k G_kj x_j + r_k q) >= beta_k, sum x + q <= 1."""
    K = p.n_users
    G = np.abs(p.U.conj() @ V.T) ** 2
    r = np.abs(p.U.conj() @ v_r) ** 2
    A = np.zeros((K + 1, K + 1))
    for k in range(K):
        A[k, :K] = p.gamma[k] * G[k]
        A[k, k] = -G[k, k]
        A[k, K] = p.gamma[k] * r[k]
    A[K] = 1.0
    b = np.r_[-p.beta, 1.0]
    res = linprog(np.r_[np.zeros(K), -1.0], A_ub=A, b_ub=b, bounds=[(0, None)] * (K + 1),
                  method="highs")  # fmt: skip
    return None if res.status != 0 else res.x[K]


def test_closed_form_powers_solve_the_linear_program():
    feasible = 0
    for seed in range(24):
        rng = np.random.default_rng(seed)
        K = int(rng.integers(2, 7))
        sc = rayleigh_scenario(K, 10, rng)
        p = span_problem(sc, 10 ** rng.uniform(-4.5, -2.5, K) * sc.max_snr)
        Z = rng.standard_normal(p.U.shape) + 1j * rng.standard_normal(p.U.shape)
        V = p.U + rng.uniform(0, 0.2) * Z
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        v_r = p.a / np.linalg.norm(p.a)
        ours, ref = beam_powers(p, V, v_r), _lp(p, V, v_r)
        assert (ours is None) == (ref is None)
        if ref is None:
            continue
        feasible += 1
        x, q = ours
        assert q == pytest.approx(ref, rel=1e-7, abs=1e-12)
        X = x[:, None, None] * V[:, :, None] * V[:, None, :].conj()
        assert np.all(row_slack(p, X, q * np.outer(v_r, v_r.conj())) >= 0)
        assert x.sum() + q <= 1 + 1e-12
    assert 4 <= feasible <= 20  # both outcomes are exercised


def test_structured_and_random_starts_are_feasible():
    rng = np.random.default_rng(9)
    sc = rayleigh_scenario(8, 16, rng)
    p = span_problem(sc, 0.04 * sc.max_snr)
    for start in (beams_start(p), random_start(p, rng), random_start(p, rng)):
        assert start is not None
        X, Y = start
        assert np.all(row_slack(p, X, Y) >= 0)
        assert np.trace(X.sum(axis=0) + Y).real <= 1 + 1e-12
