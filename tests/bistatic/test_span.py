"""The span-basis problem data (beamopt.bistatic._span): metrics, duality bound, repair.

References: the dense metrics of the package's public functions on the lifted design
(communication_sinr, a^H W a), the definition of the support value for explicit feasible
designs (weak duality must hold for any multipliers), and the constraints themselves.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import beamopt
from beamopt.bistatic._power_min import min_power
from beamopt.bistatic._span import blend, feasible_dense, psd_part, repair, row_slack, span_problem

from ._multiuser import dense_checks, rayleigh_scenario


def _problem(seed, K=3, n_tx=10, share=0.05):
    rng = np.random.default_rng(seed)
    sc = rayleigh_scenario(K, n_tx, rng)
    return sc, span_problem(sc, share * sc.max_snr)


def _random_blocks(p, rng):
    K, d = p.n_users, p.dim
    G = rng.standard_normal((K + 1, d, d)) + 1j * rng.standard_normal((K + 1, d, d))
    M = G @ np.conj(np.swapaxes(G, -1, -2))
    M /= np.trace(M, axis1=-2, axis2=-1).real.sum()
    return M[:K], M[K]


def _anchor(p):
    least = min_power(p)
    return least.X / least.power, np.zeros((p.dim, p.dim), complex)


def _lift(sc, p, X, Y):
    Q, P = p.Q, sc.power
    return P * np.einsum("ia,kab,jb->kij", Q, X, Q.conj()), P * Q @ Y @ Q.conj().T


def test_span_metrics_equal_the_dense_ones():
    sc, p = _problem(0)
    X, Y = _random_blocks(p, np.random.default_rng(1))
    W, Rs = _lift(sc, p, X, Y)
    np.testing.assert_allclose(p.sinr(X, Y), beamopt.communication_sinr(sc, W, Rs), rtol=1e-10)
    w, s = p.gains(X, Y)
    a = sc.a
    assert w == pytest.approx(np.vdot(a, W.sum(axis=0) @ a).real / (sc.power * sc.n_tx))
    assert s == pytest.approx(np.vdot(a, Rs @ a).real / (sc.power * sc.n_tx))
    assert p.dim == sc.n_users + 1 and np.allclose(p.Q.conj().T @ p.Q, np.eye(p.dim))


@given(
    seed=st.integers(0, 10_000),
    log_mu=st.lists(st.floats(-6, 1), min_size=3, max_size=3),
    nu=st.floats(0, 1),
    c=st.sampled_from([0.0, 1.0]),
)
def test_dual_bound_is_above_every_feasible_design(seed, log_mu, nu, c):
    """Weak duality: for any mu >= 0 the bound exceeds nu w + c s of any feasible design."""
    _sc, p = _problem(seed % 7)
    rng = np.random.default_rng(seed)
    fixed = blend(p, *_random_blocks(p, rng), _anchor(p))
    assert fixed is not None
    X, Y = fixed
    assert np.all(row_slack(p, X, Y) >= -1e-12)
    w, s = p.gains(X, Y)
    bound = p.dual_bound(10.0 ** np.asarray(log_mu), nu, c)
    assert nu * w + c * s <= bound + 1e-12


def test_repair_restores_feasibility_with_a_small_change():
    _sc, p = _problem(2)
    X, Y = blend(p, *_random_blocks(p, np.random.default_rng(3)), _anchor(p))
    # a solver-like error: user powers a little low, the total a little high
    Xb, Yb = X * (1 - 1e-7), Y * (1 + 1e-6)
    assert np.any(row_slack(p, Xb, Yb) < 0)
    Xr, Yr = repair(p, Xb, Yb, _anchor(p))
    assert np.all(p.sinr(Xr, Yr) >= p.gamma)
    assert np.trace(Xr.sum(axis=0) + Yr).real <= 1 + 1e-12
    assert np.linalg.norm(Xr - X) <= 1e-5 * np.linalg.norm(X)


def test_blend_is_the_smallest_feasible_blend():
    _sc, p = _problem(4)
    X, Y = _random_blocks(p, np.random.default_rng(5))
    anchor = _anchor(p)
    assert np.any(row_slack(p, X, Y) < 0)
    Xb, Yb = blend(p, X, Y, anchor)
    slack = row_slack(p, Xb, Yb)
    # feasible, with the tightest row met with equality up to the blend's safety margin
    assert np.all(slack >= 0) and np.min(slack) <= 1e-6 * np.max(row_slack(p, *anchor))


def test_feasible_dense_fixes_a_solver_answer():
    sc, p = _problem(6)
    X, Y = blend(p, *_random_blocks(p, np.random.default_rng(7)), _anchor(p))
    W, Rs = _lift(sc, p, X * (1 - 1e-3), Y)
    W[0] -= 1e-9 * sc.power * np.eye(sc.n_tx)  # a slightly indefinite answer
    gamma = p.gamma
    W2, Rs2 = feasible_dense(sc, gamma, W, Rs)
    sinr, power, low = dense_checks(sc, W2, Rs2)
    assert np.all(sinr >= gamma) and power <= sc.power * (1 + 1e-12) and low >= -1e-12


def test_psd_part_clips_negative_eigenvalues():
    M = np.diag([1.0, -1e-9, 0.5]).astype(complex)
    np.testing.assert_allclose(np.linalg.eigvalsh(psd_part(M)), [0.0, 0.5, 1.0], atol=1e-15)
