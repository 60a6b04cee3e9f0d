"""Exact Gaussian posterior: closed form, Monte Carlo agreement, evidence, Gramian."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import beamopt


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def _problem(seed=0, shape=(2, 3), n_obs=4, noise_var=0.4):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    B = _crandn(rng, (n, n))
    C = B @ B.conj().T / n + 0.1 * np.eye(n)
    mu = _crandn(rng, shape)
    A = _crandn(rng, (n_obs, n))
    obs = beamopt.LinearObservation(A, shape, noise_var)
    post = beamopt.GaussianPosterior(C, obs, prior_mean=mu)
    H = post.sample_prior(1, seed=rng)[0]
    y = obs.observe(H, seed=rng)
    return post, C, mu, A, noise_var, y


def test_closed_form_matches_information_form():
    post, C, mu, A, s2, y = _problem()
    # Independent reference: precision-form Bayes update (Kay, Thm 10.3).
    P = np.linalg.inv(np.linalg.inv(C) + A.conj().T @ A / s2)
    m = P @ (np.linalg.solve(C, mu.reshape(-1)) + A.conj().T @ y / s2)
    np.testing.assert_allclose(post.covariance, P, atol=1e-10)
    np.testing.assert_allclose(post.mean(y).reshape(-1), m, atol=1e-10)
    np.testing.assert_allclose(post.covariance_root @ post.covariance_root.conj().T, P, atol=1e-10)


def test_with_prior_mean_equals_a_fresh_posterior():
    post, C, mu, _, _, y = _problem()
    shifted = post.with_prior_mean(2 * mu)
    fresh = beamopt.GaussianPosterior(C, post.pilot_model, prior_mean=2 * mu)
    np.testing.assert_allclose(shifted.mean(y), fresh.mean(y), atol=1e-12)
    np.testing.assert_allclose(shifted.covariance, fresh.covariance, atol=1e-12)
    assert shifted.log_evidence(y) == pytest.approx(fresh.log_evidence(y))
    np.testing.assert_allclose(
        post.mean(y), beamopt.GaussianPosterior(C, post.pilot_model, mu).mean(y)
    )
    with pytest.raises(ValueError, match="prior_mean"):
        post.with_prior_mean(np.zeros(3))


def test_mean_is_batched_over_observations():
    post, *_, y = _problem()
    Y = np.stack([y, 2 * y, -y])
    batched = post.mean(Y)
    assert batched.shape == (3, 2, 3)
    for k in range(3):
        np.testing.assert_allclose(batched[k], post.mean(Y[k]))


def test_empirical_moments_of_samples_match_closed_form():
    post, *_, y = _problem(seed=1)
    n = 40_000
    draws = post.sample(y, n, seed=2).reshape(n, -1)
    mean = post.mean(y).reshape(-1)
    cov = post.covariance
    d = np.sqrt(np.diag(cov).real)
    # 5 standard errors of the sample mean / sample covariance entries.
    tol = 5.0 / np.sqrt(n)
    assert np.all(np.abs(draws.mean(axis=0) - mean) <= tol * d)
    centred = draws - mean
    emp = centred.T @ centred.conj() / n
    assert np.all(np.abs(emp - cov) <= tol * np.outer(d, d))
    # Circular symmetry: the pseudo-covariance vanishes.
    assert np.all(np.abs(centred.T @ centred / n) <= tol * np.outer(d, d))


def test_samples_are_seeded():
    post, *_, y = _problem()
    np.testing.assert_array_equal(post.sample(y, 3, seed=5), post.sample(y, 3, seed=5))
    assert not np.allclose(post.sample(y, 3, seed=5), post.sample(y, 3, seed=6))


def test_log_evidence_matches_real_gaussian_density():
    post, C, mu, A, s2, y = _problem()
    S = A @ C @ A.conj().T + s2 * np.eye(A.shape[0])
    # A circular CN(m, S) vector is a real Gaussian with covariance
    # 0.5 [[Re S, -Im S], [Im S, Re S]] of its stacked real and imaginary parts.
    real_cov = 0.5 * np.block([[S.real, -S.imag], [S.imag, S.real]])
    m = A @ mu.reshape(-1)
    ref = multivariate_normal(np.r_[m.real, m.imag], real_cov).logpdf(np.r_[y.real, y.imag])
    assert post.log_evidence(y) == pytest.approx(ref, rel=1e-10)
    assert post.log_evidence(np.stack([y, y])).shape == (2,)


def test_expected_gramian_matches_row_blocks_and_monte_carlo():
    shape = (3, 2, 4)  # (n_subcarriers, n_rx, n_tx)
    post, *_, y = _problem(seed=3, shape=shape, n_obs=10)
    G = post.expected_gramian(y)
    assert G.shape == (3, 4, 4)
    M = post.mean(y)
    C6 = post.covariance.reshape(3, 2, 4, 3, 2, 4)
    for p in range(3):
        # E[conj(r) r^T] for each receive row r: conj(m) m^T + Cov(r)^T.
        ref = sum(np.outer(M[p, i].conj(), M[p, i]) + C6[p, i, :, p, i, :].T for i in range(2))
        np.testing.assert_allclose(G[p], ref, atol=1e-12)
    n = 20_000
    draws = post.sample(y, n, seed=4)
    emp = beamopt.expected_gramian(draws)  # samples first, as the sampler returns them
    d = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1).real)
    # Entry (j, k) of a mean of n i.i.d. products has standard error <= d_j d_k sqrt(c / n).
    assert np.all(np.abs(emp - G) <= 8.0 / np.sqrt(n) * d[:, :, None] * d[:, None, :])


def test_no_pilots_leaves_the_prior_unchanged():
    rng = np.random.default_rng(0)
    shape = (2, 2)
    B = _crandn(rng, (4, 4))
    C = B @ B.conj().T
    mu = _crandn(rng, shape)
    obs = beamopt.LinearObservation.from_mask(np.zeros(2, bool), shape, 1.0)
    post = beamopt.GaussianPosterior(C, obs, prior_mean=mu)
    y = np.zeros(0, complex)
    np.testing.assert_allclose(post.mean(y), mu)
    np.testing.assert_allclose(post.covariance, C, atol=1e-12)
    assert post.log_evidence(y) == 0.0


def test_low_rank_prior_samples_stay_in_its_range():
    rng = np.random.default_rng(1)
    u = _crandn(rng, (6, 2))
    C = u @ u.conj().T  # rank 2
    obs = beamopt.LinearObservation(_crandn(rng, (3, 6)), (6,), 0.1)
    post = beamopt.GaussianPosterior(C, obs)
    y = obs.observe(post.sample_prior(1, seed=0)[0], seed=1)
    draws = post.sample(y, 50, seed=2)
    Q, _ = np.linalg.qr(u)
    residual = draws - draws @ Q.conj() @ Q.T
    assert np.max(np.abs(residual)) < 1e-8


@pytest.mark.torch
def test_torch_observation_is_accepted():
    torch = pytest.importorskip("torch")
    post, *_, y = _problem()
    np.testing.assert_allclose(post.mean(torch.as_tensor(y)), post.mean(y))


def test_bad_inputs_raise():
    post, C, _, A, _, y = _problem()
    obs = post.pilot_model
    with pytest.raises(ValueError, match="positive semidefinite"):
        beamopt.GaussianPosterior(-np.eye(6), obs)
    with pytest.raises(ValueError, match="Hermitian"):
        beamopt.GaussianPosterior(np.triu(np.ones((6, 6))), obs)
    with pytest.raises(ValueError, match="prior_cov must have shape"):
        beamopt.GaussianPosterior(np.eye(5), obs)
    with pytest.raises(ValueError, match="prior_mean"):
        beamopt.GaussianPosterior(C, obs, prior_mean=np.zeros(6))
    with pytest.raises(ValueError, match="LinearObservation"):
        beamopt.GaussianPosterior(C, A)
    with pytest.raises(ValueError, match="finite"):
        beamopt.GaussianPosterior(np.full((6, 6), np.nan), obs)
    with pytest.raises(ValueError, match="y must have shape"):
        post.mean(y[:-1])
    with pytest.raises(ValueError, match=r"y must have shape \(\d+,\) or \(B, \d+\)"):
        post.sample(np.stack([y, y])[None], 2)
    with pytest.raises(ValueError, match="n_samples"):
        post.sample(y, 0)
    scalar = beamopt.GaussianPosterior(np.eye(3), beamopt.LinearObservation(np.eye(3), (3,), 1.0))
    with pytest.raises(ValueError, match="n_rx, n_tx"):
        scalar.expected_gramian(np.zeros(3))


def test_a_batch_of_pilot_vectors_draws_each_posterior():
    post, *_, y = _problem()
    rng = np.random.default_rng(4)
    Y = post.pilot_model.observe(post.sample_prior(3, seed=rng), seed=rng)
    n = 4000
    S = post.sample(Y, n, seed=5)
    assert S.shape == (3, n, 2, 3)
    tr = np.trace(post.covariance).real
    for b in range(3):
        f = S[b].reshape(n, -1)
        d = f - f.mean(0)
        assert np.linalg.norm(f.mean(0) - post.mean(Y[b]).reshape(-1)) < 4 * np.sqrt(tr / n)
        assert np.linalg.norm(d.T @ d.conj() / n - post.covariance) < 4 * tr / np.sqrt(n)
    # one pilot vector draws exactly what a batch of one draws (same seed, same stream)
    np.testing.assert_array_equal(post.sample(y, 5, seed=6), post.sample(y[None], 5, seed=6)[0])


def test_old_observation_names_warn_and_still_work():
    post, C, mu, *_, y = _problem()
    with pytest.warns(DeprecationWarning, match="use 'pilot_model'"):
        old = beamopt.GaussianPosterior(C, observation=post.pilot_model, prior_mean=mu)
    with pytest.warns(DeprecationWarning, match="use 'pilot_model'"):
        assert old.observation is post.pilot_model
    with pytest.warns(DeprecationWarning, match="use 'y'"):
        np.testing.assert_allclose(old.mean(observation=y), post.mean(y))
    with pytest.warns(DeprecationWarning, match="use 'y'"):
        draws = old.sample(observation=y, n_samples=3, seed=0)
    np.testing.assert_array_equal(draws, post.sample(y, 3, seed=0))
    with pytest.raises(ValueError, match="pass 'y' only"):
        post.sample(y, 3, observation=y)
