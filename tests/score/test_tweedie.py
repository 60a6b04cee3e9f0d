"""Tweedie estimates equal the exact posterior means (exact denoisers in place of a network)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from beamopt import GaussianMixturePosterior, GaussianPosterior, LinearObservation
from beamopt.score import (
    ConditionalSampler,
    DiffusionPosterior,
    DiffusionPrior,
    GaussianDenoiser,
    GaussianMixtureDenoiser,
    posterior_mean,
    tweedie_denoise,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_tweedie_denoiser_is_the_exact_mmse_estimate(exact):
    post, _ = exact.gaussian_setup()
    den = GaussianDenoiser(post.prior_cov, post.prior_mean, scale=3.0)
    rng = np.random.default_rng(0)
    s = np.array([0.1, 0.5, 2.0])
    h = post.sample_prior(3, seed=rng)
    x = h + s[:, None, None] * exact.crandn(rng, h.shape)
    got = tweedie_denoise(den, x, s)
    for b in range(3):
        obs = LinearObservation(np.eye(exact.N), exact.SHAPE, s[b] ** 2)
        ref = GaussianPosterior(post.prior_cov, obs, post.prior_mean).mean(x[b].reshape(-1))
        np.testing.assert_allclose(got[b], ref, atol=1e-10)


def test_tweedie_mixture_denoiser_is_the_exact_mmse_estimate(exact):
    post, _ = exact.mixture_setup()
    den = GaussianMixtureDenoiser(post.weights, post.means, post.covariances)
    x = exact.crandn(np.random.default_rng(1), (4, *exact.SHAPE))
    ref = GaussianMixturePosterior(
        post.weights,
        post.means,
        post.covariances,
        LinearObservation(np.eye(4), exact.SHAPE, 0.3**2),
    ).mean(x.reshape(4, -1))
    np.testing.assert_allclose(tweedie_denoise(den, x, 0.3), ref, atol=1e-10)


@pytest.mark.parametrize("kind", ["gaussian", "mixture"])
def test_first_step_tweedie_is_the_exact_posterior_mean(exact, kind):
    post, y = exact.gaussian_setup() if kind == "gaussian" else exact.mixture_setup()
    cls = GaussianDenoiser if kind == "gaussian" else GaussianMixtureDenoiser
    den = cls.from_posterior(post, scale=1.3)
    ref = post.mean(y)
    tol = 1e-3 * np.sqrt(
        np.trace(post.prior_cov if kind == "gaussian" else post.covariances[0]).real
    )
    np.testing.assert_allclose(posterior_mean(ConditionalSampler(den), y, seed=0), ref, atol=tol)
    if kind == "gaussian":  # the moment-projected likelihood is exact for Gaussian priors
        np.testing.assert_allclose(
            posterior_mean(
                DiffusionPosterior(den, post.pilot_model, method="tmpd", sigma_jacobian=math.inf),
                y,
                seed=0,
            ),
            ref,
            atol=tol,
        )
    np.testing.assert_allclose(
        posterior_mean(DiffusionPrior(den), None, seed=0),
        post.prior_mean
        if kind == "gaussian"
        else (post.weights @ post.means.reshape(2, -1)).reshape(exact.SHAPE),
        atol=tol,
    )


def test_bad_inputs(exact):
    post, y = exact.gaussian_setup()
    den = GaussianDenoiser.from_posterior(post)
    with pytest.raises(ValueError, match="noise_std"):
        tweedie_denoise(den, np.zeros((2, *exact.SHAPE)), 0.0)
    with pytest.raises(ValueError, match="x must have shape"):
        tweedie_denoise(den, np.zeros((2, 3)), 1.0)
    with pytest.raises(ValueError, match="sampler"):
        posterior_mean(post, y)
