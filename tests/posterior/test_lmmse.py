"""Sample-covariance LMMSE: converges to the exact Gaussian posterior; a usable sampler."""

from __future__ import annotations

import numpy as np
import pytest

import beamopt


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def _gaussian_pairs(n, seed=0, shape=(2, 3), n_obs=4, noise_var=0.3):
    rng = np.random.default_rng(seed)
    m = int(np.prod(shape))
    B = _crandn(rng, (m, m))
    C = B @ B.conj().T / m + 0.1 * np.eye(m)
    mu = _crandn(rng, shape)
    obs = beamopt.LinearObservation(_crandn(rng, (n_obs, m)), shape, noise_var)
    post = beamopt.GaussianPosterior(C, obs, prior_mean=mu)
    H = post.sample_prior(n, seed=rng)
    return post, H, obs.observe(H, seed=rng)


def test_sample_lmmse_converges_to_the_exact_gaussian_posterior():
    post, H, Y = _gaussian_pairs(200_000)
    fit = beamopt.fit_lmmse(H, Y)
    _, H2, _Y2 = _gaussian_pairs(50, seed=1)
    y = post.pilot_model.observe(H2, seed=3)
    exact = post.mean(y)
    err = np.sum(np.abs(fit.estimate(y) - exact) ** 2) / np.sum(np.abs(exact) ** 2)
    assert err < 1e-3
    rel = np.linalg.norm(fit.error_cov - post.covariance) / np.linalg.norm(post.covariance)
    assert rel < 0.02
    assert fit.estimate(y[0]).shape == (2, 3)


def test_sampler_draws_have_the_fitted_mean_and_covariance_and_batch():
    _post, H, Y = _gaussian_pairs(20_000)
    fit = beamopt.fit_lmmse(H, Y)
    draws = fit.sample(Y[0], 40_000, seed=0).reshape(40_000, -1)
    np.testing.assert_allclose(draws.mean(0), fit.estimate(Y[0]).reshape(-1), atol=0.02)
    emp = np.cov(draws.T)  # complex: E[(x - m)(x - m)^H]
    assert np.linalg.norm(emp - fit.error_cov) < 0.03 * np.linalg.norm(fit.error_cov)
    batch = fit.sample(Y[:3], 5, seed=0)
    assert batch.shape == (3, 5, 2, 3)
    assert isinstance(fit, beamopt.PosteriorSampler)
    assert "nmse_estimate" in repr(fit) and len(repr(fit)) < 200


def test_bad_inputs_name_the_parameter():
    _post, H, Y = _gaussian_pairs(10)
    with pytest.raises(ValueError, match="same number of samples"):
        beamopt.fit_lmmse(H, Y[:5])
    with pytest.raises(ValueError, match="channels"):
        beamopt.fit_lmmse(H[0], Y[0])
    with pytest.raises(ValueError, match="NaN"):
        beamopt.fit_lmmse(np.where(H == H[0, 0, 0], np.nan, H), Y)
    fit = beamopt.fit_lmmse(H, Y)
    with pytest.raises(ValueError, match="y must have shape"):
        fit.estimate(np.zeros(5))
