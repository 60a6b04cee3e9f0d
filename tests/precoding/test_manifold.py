"""Manifold (complex Grassmann) precoder: warm start, optimality, derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

import beamopt
from beamopt.precoding.manifold import ExpectedSpectralEfficiency


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def _samples(seed, shape, spread=1.0):
    """Posterior-like draws: a common mean plus independent spread."""
    rng = np.random.default_rng(seed)
    mean = _crandn(rng, shape[-2:])
    return mean + spread * _crandn(rng, shape)


def _mc_se(H, F, snr):
    """Independent sample-average SE via the receive-side determinant."""
    n_streams = F.shape[-1]
    M = np.eye(H.shape[-2]) + snr / n_streams * H @ F @ F.conj().T @ np.swapaxes(H.conj(), -1, -2)
    return float(np.mean(np.log2(np.linalg.det(M).real)))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("optimizer", ["trust_regions", "conjugate_gradient"])
def test_never_below_the_expected_gramian_warm_start(seed, optimizer):
    H = _samples(seed, (32, 2, 6), spread=1.5)
    snr = 10.0
    warm = beamopt.expected_gramian_precoder(H, 2)
    res = beamopt.manifold_precoder(H, 2, snr, optimizer=optimizer, max_iterations=300)
    warm_se = _mc_se(H, warm.F, snr)
    assert res.history[0] == pytest.approx(warm_se, rel=1e-12)
    assert res.extras["warm_start_objective"] == pytest.approx(warm_se, rel=1e-12)
    assert res.objective >= warm_se - 1e-12
    assert np.all(np.diff(res.history) >= -1e-12)
    assert res.objective == pytest.approx(_mc_se(H, res.F, snr), rel=1e-12)
    np.testing.assert_allclose(res.F.conj().T @ res.F, np.eye(2), atol=1e-10)
    assert res.status == "converged" and res.method == f"manifold_{optimizer}"


def test_matches_brute_force_on_a_line_in_c2():
    # n_tx = 2, n_streams = 1: every subspace is spanned by [cos t, e^{i p} sin t].
    H = _samples(3, (8, 2, 2), spread=1.2)
    snr = 4.0

    def neg_se(params):
        t, p = params
        f = np.array([[np.cos(t)], [np.exp(1j * p) * np.sin(t)]])
        return -_mc_se(H, f, snr)

    tt, pp = np.meshgrid(np.linspace(0, np.pi / 2, 181), np.linspace(0, 2 * np.pi, 361))
    values = np.array([neg_se(x) for x in zip(tt.ravel(), pp.ravel())])
    x0 = np.array([tt.ravel()[values.argmin()], pp.ravel()[values.argmin()]])
    best = -minimize(neg_se, x0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-13}).fun
    res = beamopt.manifold_precoder(H, 1, snr)
    assert res.objective == pytest.approx(best, abs=1e-8)


def test_matches_random_restart_optimum_in_c3():
    H = _samples(4, (6, 2, 3), spread=1.0)
    snr = 8.0
    rng = np.random.default_rng(5)

    def neg_se(z):
        Z = (z[:6] + 1j * z[6:]).reshape(3, 2)
        return -_mc_se(H, np.linalg.qr(Z)[0], snr)

    restarts = [minimize(neg_se, rng.standard_normal(12), method="BFGS") for _ in range(8)]
    best = max(-r.fun for r in restarts)
    res = beamopt.manifold_precoder(H, 2, snr)
    assert res.objective == pytest.approx(best, abs=1e-6)


@pytest.mark.parametrize(("backend", "shape"), [("numpy", (5, 3, 4)), ("numpy", (3, 5, 2, 4))])
def test_riemannian_gradient_matches_finite_differences(backend, shape):
    rng = np.random.default_rng(6)
    H = _samples(7, shape)
    H = np.swapaxes(H, 0, 1) if len(shape) == 4 else H  # samples first
    problem = beamopt.manifold_problem(H, 2, 6.0, backend=backend)
    M = problem.manifold
    point_shape = (4, 2) if len(shape) == 3 else (shape[0], 4, 2)
    F = np.linalg.qr(_crandn(rng, point_shape))[0]
    xi = M.projection(F, _crandn(rng, point_shape))
    grad = problem.riemannian_gradient(F)
    analytic = M.inner_product(F, grad, xi)
    t = 1e-6
    fd = (problem.cost(M.retraction(F, t * xi)) - problem.cost(M.retraction(F, -t * xi))) / (2 * t)
    assert analytic == pytest.approx(fd, rel=1e-6, abs=1e-9)
    # The Riemannian gradient is tangent: F^H grad = 0.
    np.testing.assert_allclose(np.swapaxes(F.conj(), -1, -2) @ grad, 0.0, atol=1e-12)


def test_euclidean_gradient_and_hessian_match_finite_differences():
    rng = np.random.default_rng(8)
    obj = ExpectedSpectralEfficiency(_samples(9, (2, 6, 3, 5)), 2, 7.0)
    F = _crandn(rng, (2, 5, 2))
    V = _crandn(rng, (2, 5, 2))
    t = 1e-6
    fd_value = (obj.value(F + t * V) - obj.value(F - t * V)) / (2 * t)
    assert np.real(np.vdot(obj.gradient(F), V)) == pytest.approx(fd_value, rel=1e-7)
    fd_grad = (obj.gradient(F + t * V) - obj.gradient(F - t * V)) / (2 * t)
    np.testing.assert_allclose(obj.hessian(F, V), fd_grad, rtol=1e-6, atol=1e-8)


@pytest.mark.torch
def test_torch_backend_agrees_with_analytic_derivatives():
    pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    H = np.swapaxes(_samples(11, (2, 4, 2, 4)), 0, 1)  # samples first
    numpy_problem = beamopt.manifold_problem(H, 2, 5.0)
    torch_problem = beamopt.manifold_problem(H, 2, 5.0, backend="torch")
    F = np.linalg.qr(_crandn(rng, (2, 4, 2)))[0]
    xi = numpy_problem.manifold.projection(F, _crandn(rng, (2, 4, 2)))
    assert torch_problem.cost(F) == pytest.approx(numpy_problem.cost(F), rel=1e-12)
    np.testing.assert_allclose(
        torch_problem.riemannian_gradient(F), numpy_problem.riemannian_gradient(F), atol=1e-12
    )
    np.testing.assert_allclose(
        torch_problem.riemannian_hessian(F, xi),
        numpy_problem.riemannian_hessian(F, xi),
        atol=1e-10,
    )
    res_np = beamopt.manifold_precoder(H, 2, 5.0)
    res_t = beamopt.manifold_precoder(H, 2, 5.0, backend="torch")
    assert res_t.objective == pytest.approx(res_np.objective, abs=1e-9)


def test_subcarriers_are_optimised_independently():
    H = _samples(12, (3, 10, 2, 4), spread=1.5)
    joint = beamopt.manifold_precoder(np.swapaxes(H, 0, 1), 2, 10.0, min_gradient_norm=1e-9)
    assert joint.F.shape == (3, 4, 2)
    single = [beamopt.manifold_precoder(H[k], 2, 10.0, min_gradient_norm=1e-9) for k in range(3)]
    assert joint.objective == pytest.approx(np.mean([s.objective for s in single]), abs=1e-8)
    per_sc = beamopt.spectral_efficiency(np.swapaxes(H, 0, 1), joint.F, 10.0).T.mean(axis=1)
    np.testing.assert_allclose(per_sc, [s.objective for s in single], atol=1e-7)


def test_custom_warm_start_and_iteration_cap():
    H = _samples(13, (12, 2, 4))
    F0 = np.linalg.qr(_crandn(np.random.default_rng(0), (4, 2)))[0]
    res = beamopt.manifold_precoder(H, 2, 10.0, initial_point=F0, max_iterations=1)
    assert res.history[0] == pytest.approx(_mc_se(H, F0, 10.0), rel=1e-12)
    assert res.status == "max_iterations" and res.iterations == 1
    assert not res.success


def test_bad_inputs_raise():
    H = _samples(14, (4, 2, 3))
    with pytest.raises(ValueError, match="rank"):
        beamopt.manifold_precoder(H[:1], 3, 1.0)
    with pytest.raises(ValueError, match="n_streams"):
        beamopt.manifold_precoder(H, 4, 1.0)
    with pytest.raises(ValueError, match="n_samples, n_rx, n_tx"):
        beamopt.manifold_precoder(H[0], 1, 1.0)
    bad = H.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        beamopt.manifold_precoder(bad, 1, 1.0)
    with pytest.raises(ValueError, match="snr"):
        beamopt.manifold_precoder(H, 1, -1.0)
    with pytest.raises(ValueError, match="optimizer"):
        beamopt.manifold_precoder(H, 1, 1.0, optimizer="newton")
    with pytest.raises(ValueError, match="backend"):
        beamopt.manifold_precoder(H, 1, 1.0, backend="jax")
    with pytest.raises(ValueError, match="backend"):
        beamopt.manifold_problem(H, 1, 1.0, backend="jax")
    with pytest.raises(ValueError, match="orthonormal"):
        beamopt.manifold_precoder(H, 1, 1.0, initial_point=np.ones((3, 1)))
    with pytest.raises(ValueError, match="initial_point must have shape"):
        beamopt.manifold_precoder(H, 1, 1.0, initial_point=np.eye(3)[:, :2])
    with pytest.raises(ValueError, match="max_iterations"):
        beamopt.manifold_precoder(H, 1, 1.0, max_iterations=0)
