"""The dedicated interior-point solver of the support SDP (beamopt.bistatic._support_ipm).

Reference: the support SDP written out here in cvxpy in the full n_tx-dimensional space
with complex Hermitian variables (no span basis, no normalisation, none of the package's
SDP helpers), solved by Clarabel; and the package's own parametrised cvxpy problem.
"""

from __future__ import annotations

import numpy as np
import pytest

from beamopt.bistatic._sca_subproblem import CvxpySupport
from beamopt.bistatic._span import span_problem
from beamopt.bistatic._support_ipm import SupportSolver

from ._multiuser import rayleigh_scenario

cp = pytest.importorskip("cvxpy")


def _hermitian(n):
    """W = A + jB as the real PSD matrix [[A, -B], [B, A]] (explicit block constraints)."""
    Z = cp.Variable((2 * n, 2 * n), PSD=True)
    cons = [Z[:n, :n] == Z[n:, n:], Z[:n, n:] == -Z[n:, :n]]
    return Z, cons


def _quad(Z, u):
    """u^H W u = v^T Z v with v = [Re u; Im u]."""
    v = np.concatenate([u.real, u.imag])
    return v @ Z @ v


def _reference(sc, gamma, nu, c, sensing=True):
    """max (nu a^H sum W_k a + c a^H Rs a) / N_t s.t. SINR_k >= gamma_k, tr <= 1.

    Covariances in units of P and each SINR row divided by P ||h_k||^2 / sigma^2 (watts
    and 1e-11 W noise would leave the conic solver inaccurate); full n_tx-dimensional space.
    """
    n, K = sc.n_tx, sc.n_users
    blocks = [_hermitian(n) for _ in range(K + 1)]
    W, R = [b[0] for b in blocks[:K]], blocks[K][0]
    cons = [c_ for _, cs in blocks for c_ in cs]
    H = sc.channels / np.linalg.norm(sc.channels, axis=1, keepdims=True)
    noise = 1.0 / sc.max_snr
    cons.append(sum(cp.trace(Z) for Z in [*W, R]) / 2 <= 1.0)
    if not sensing:
        cons.append(R == 0)
    for k in range(K):
        q = [_quad(Z, H[k]) for Z in W]
        interference = sum(q[j] for j in range(K) if j != k) + _quad(R, H[k]) + noise[k]
        cons.append(q[k] >= gamma[k] * interference)
    objective = (nu * sum(_quad(Z, sc.a) for Z in W) + c * _quad(R, sc.a)) / n
    prob = cp.Problem(cp.Maximize(objective), cons)
    prob.solve(solver="CLARABEL")
    assert prob.status == "optimal"
    return prob.value


@pytest.mark.parametrize(("seed", "K", "share"), [(0, 2, 0.1), (1, 3, 0.05), (2, 4, 0.03)])
def test_support_value_matches_a_full_space_cvxpy_sdp(seed, K, share):
    rng = np.random.default_rng(seed)
    sc = rayleigh_scenario(K, 6, rng)
    gamma = share * sc.max_snr
    p = span_problem(sc, gamma)
    S = SupportSolver(p)
    for nu, c in [(0.0, 1.0), (0.4, 1.0), (0.95, 1.0), (1.0, 0.0)]:
        ref = _reference(sc, gamma, nu, c)
        sol = S.solve(nu, c)
        w, s = p.gains(sol.X, sol.Y)
        value = nu * w + c * s
        # Clarabel meets its constraints to ~1e-8, which moves its value by up to ~1e-7
        assert value == pytest.approx(ref, rel=1e-6)
        assert sol.dual == pytest.approx(ref, rel=1e-6)
        assert abs(sol.dual - value) <= 1e-9 * sol.dual  # its own gap (rows met to 1e-10)
        for M in (*sol.X, sol.Y):  # interior points: PSD up to the round-off of eigvalsh
            assert np.allclose(M, M.conj().T) and np.linalg.eigvalsh(M).min() >= -1e-14
        assert np.all(p.sinr(sol.X, sol.Y) >= gamma * (1 - 1e-8))
        assert np.trace(sol.X.sum(axis=0) + sol.Y).real == pytest.approx(1.0, abs=1e-9)


def test_gaussian_only_support_matches_the_reference_without_sensing():
    sc = rayleigh_scenario(3, 6, np.random.default_rng(3))
    gamma = 0.08 * sc.max_snr
    p = span_problem(sc, gamma)
    sol = SupportSolver(p, sensing=False).solve(1.0, 0.0)
    ref = _reference(sc, gamma, 1.0, 0.0, sensing=False)
    assert np.all(sol.Y == 0)
    assert p.gains(sol.X, sol.Y)[0] == pytest.approx(ref, rel=1e-6)
    assert sol.dual == pytest.approx(ref, rel=1e-6)


def test_batched_solves_equal_single_solves_and_the_cvxpy_backend():
    sc = rayleigh_scenario(5, 12, np.random.default_rng(4))
    gamma = 0.04 * sc.max_snr
    p = span_problem(sc, gamma)
    S = SupportSolver(p)
    nus = np.array([0.0, 0.5, 0.99])
    many = S.solve_many(nus, 1.0)
    backend = CvxpySupport(p)
    for nu, sol in zip(nus, many):
        one = S.solve(nu, 1.0)
        assert sol.dual == pytest.approx(one.dual, rel=1e-9)
        _, _, bound = backend.solve(p, nu, 1.0)
        # two solvers, two rigorous bounds on the same support value
        assert sol.dual == pytest.approx(bound, rel=1e-6)
        assert sol.iterations <= 40


def test_zero_targets_give_the_sensing_beam():
    """No SINR row: all power to Rs along the target (the support of s alone is 1)."""
    sc = rayleigh_scenario(2, 6, np.random.default_rng(5))
    p = span_problem(sc, np.zeros(2))
    sol = SupportSolver(p).solve(0.0, 1.0)
    assert p.gains(sol.X, sol.Y)[1] == pytest.approx(1.0, rel=1e-8)
    assert sol.dual == pytest.approx(1.0, rel=1e-8)
