"""Diffusion samplers with the exact score reproduce the exact prior and posterior."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import beamopt
from beamopt import GaussianPosterior, LinearObservation
from beamopt.score import (
    ConditionalSampler,
    DiffusionPosterior,
    DiffusionPrior,
    GaussianDenoiser,
    GaussianMixtureDenoiser,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

N_SAMPLES = 3000


@pytest.mark.parametrize(("method", "n_steps", "bias"), [("ddpm", 500, 0.03), ("ddim", 50, 0.05)])
def test_prior_sampler_reproduces_the_gaussian_prior(exact, method, n_steps, bias):
    post, _ = exact.gaussian_setup()
    den = GaussianDenoiser(post.prior_cov, post.prior_mean, scale=2.0)
    sampler = DiffusionPrior(den, n_steps=n_steps, method=method)
    assert isinstance(sampler, beamopt.PosteriorSampler)
    S = sampler.sample(None, N_SAMPLES, seed=0)
    assert S.shape == (N_SAMPLES, *exact.SHAPE) and S.dtype == np.complex128
    exact.assert_moments(S, post.prior_mean, post.prior_cov, bias=bias)
    np.testing.assert_array_equal(S, sampler.sample(None, N_SAMPLES, seed=0))


def test_conditional_sampler_reproduces_the_gaussian_posterior(exact):
    post, y = exact.gaussian_setup()
    sampler = ConditionalSampler(GaussianDenoiser.from_posterior(post, scale=0.5), n_steps=200)
    S = sampler.sample(y, N_SAMPLES, seed=1)
    exact.assert_moments(S, post.mean(y), post.covariance, bias=0.03)


@pytest.mark.parametrize("method", ["tmpd", "pigdm"])
def test_posterior_noise_equals_the_exact_conditional_noise(exact, method):
    """The guided prior score equals the exact posterior score where the method is exact."""
    import torch

    post, y = exact.gaussian_setup()
    if method == "pigdm":  # exact only for a white unit-variance prior (scale 1.5 -> var 2.25)
        post = GaussianPosterior(2.25 * np.eye(exact.N), post.pilot_model)
    den = GaussianDenoiser.from_posterior(post, scale=1.5)
    guided = DiffusionPosterior(
        den, post.pilot_model, method=method, sigma_jacobian=math.inf
    ).noise_fn(y)
    rng = np.random.default_rng(2)
    x = torch.as_tensor(exact.crandn(rng, (5, *exact.SHAPE)) * 3)
    sigma = torch.as_tensor([0.01, 0.2, 1.0, 7.0, 300.0])
    ref = den.predict_noise(x, sigma, torch.as_tensor(np.tile(y, (5, 1))))
    np.testing.assert_allclose(guided(x, sigma).numpy(), ref.numpy(), atol=1e-8)


def test_diffusion_posterior_reproduces_the_gaussian_posterior(exact):
    post, y = exact.gaussian_setup()
    den = GaussianDenoiser(post.prior_cov, post.prior_mean, scale=2.0)
    S = DiffusionPosterior(
        den, post.pilot_model, n_steps=50, method="tmpd", sampler="ddim", sigma_jacobian=math.inf
    ).sample(y, N_SAMPLES, seed=2)
    exact.assert_moments(S, post.mean(y), post.covariance, bias=0.05)


def _binomial_tol(p, n):
    return 4 * np.sqrt(p * (1 - p) / n) + 0.01


def test_mixture_modes_appear_with_the_exact_weights(exact):
    post, y = exact.mixture_setup()
    den = GaussianMixtureDenoiser.from_posterior(post)
    prior = DiffusionPrior(den, n_steps=100).sample(None, N_SAMPLES, seed=3)
    frac = np.bincount(exact.labels(post, prior), minlength=2) / N_SAMPLES
    assert np.all(np.abs(frac - post.weights) < _binomial_tol(post.weights, N_SAMPLES)), frac
    w = post.posterior_weights(y)
    cond = ConditionalSampler(den, n_steps=50, method="ddim").sample(y, N_SAMPLES, seed=4)
    frac = np.bincount(exact.labels(post, cond, y), minlength=2) / N_SAMPLES
    assert np.all(np.abs(frac - w) < _binomial_tol(w, N_SAMPLES)), (frac, w)


def test_moment_projected_posterior_finds_both_mixture_modes(exact):
    """tmpd is approximate for mixtures (p(z|x) is not Gaussian): both modes, weights +-0.15."""
    post, y = exact.mixture_setup()
    den = GaussianMixtureDenoiser(post.weights, post.means, post.covariances)
    S = DiffusionPosterior(
        den, post.pilot_model, n_steps=50, method="tmpd", sampler="ddim", sigma_jacobian=math.inf
    ).sample(y, 2000, seed=5)
    frac = np.bincount(exact.labels(post, S, y), minlength=2) / 2000
    w = post.posterior_weights(y)
    assert np.all(frac > 0.1) and np.all(np.abs(frac - w) < 0.15), (frac, w)


def test_guidance_zero_samples_the_prior_and_large_guidance_concentrates(exact):
    post, y = exact.gaussian_setup()
    den = GaussianDenoiser.from_posterior(post)
    S0 = ConditionalSampler(den, guidance=0.0, n_steps=50, method="ddim").sample(
        y, N_SAMPLES, seed=6
    )
    exact.assert_moments(S0, post.prior_mean, post.prior_cov, bias=0.05)
    A = post.pilot_model.A

    def misfit(w):
        S = ConditionalSampler(den, guidance=w, n_steps=50, method="ddim").sample(y, 1000, seed=7)
        return np.mean(np.abs(S.reshape(1000, -1) @ A.T - y) ** 2)

    m1, m4, m16 = misfit(1.0), misfit(4.0), misfit(16.0)
    assert m16 < m4 < m1 and m16 < 0.2 * m1


def test_deterministic_variant_collapses_to_the_posterior_mean(exact):
    post, y = exact.gaussian_setup()
    den = GaussianDenoiser.from_posterior(post)
    S = ConditionalSampler(den, n_steps=100, deterministic=True).sample(y, 200, seed=8)
    spread = np.mean(np.abs(S - S.mean(0)) ** 2) / np.mean(np.diag(post.covariance).real)
    assert spread < 1e-3
    np.testing.assert_allclose(S.mean(0), post.mean(y), atol=1e-3)


def test_samples_feed_the_precoders_without_glue(exact):
    """(n_samples, n_sc, n_rx, n_tx) draws go straight into the Bayesian precoders."""
    rng = np.random.default_rng(9)
    shape, n = (2, 2, 3), 12
    C = exact.random_cov(rng, n)
    obs = LinearObservation.from_mask(np.array([True, False]), shape, 0.1)
    post = GaussianPosterior(C, obs)
    y = obs.observe(post.sample_prior(1, seed=rng)[0], seed=rng)
    sampler = ConditionalSampler(GaussianDenoiser.from_posterior(post), n_steps=50, method="ddim")
    S = sampler.sample(y, 400, seed=10)
    eg = beamopt.expected_gramian_precoder(S, 2)
    assert eg.F.shape == (2, 3, 2)
    G = beamopt.expected_gramian(S)
    G_exact = post.expected_gramian(y)
    assert np.max(np.abs(G - G_exact)) < 0.2 * np.max(np.abs(G_exact))
    se = beamopt.spectral_efficiency(S, eg.F, 10.0)
    assert se.shape == (400, 2) and np.all(se > 0)
    mf = beamopt.manifold_precoder(S, 2, 10.0, max_iterations=20)
    assert mf.F.shape == (2, 3, 2)
    assert beamopt.spectral_efficiency(S, mf.F, 10.0).mean() >= se.mean() - 1e-9


def test_bad_inputs_name_the_argument(exact):
    post, _y = exact.gaussian_setup()
    den = GaussianDenoiser.from_posterior(post)
    uncond = GaussianDenoiser(post.prior_cov, post.prior_mean)
    with pytest.raises(ValueError, match="n_steps"):
        DiffusionPrior(den, n_steps=0)
    with pytest.raises(ValueError, match="method"):
        DiffusionPrior(den, method="euler")
    with pytest.raises(ValueError, match="guidance"):
        ConditionalSampler(den, guidance=-1.0)
    with pytest.raises(ValueError, match="conditional"):
        ConditionalSampler(uncond)
    with pytest.raises(ValueError, match=r"y must have shape \(2,\) or \(B, 2\)"):
        ConditionalSampler(den).sample(np.zeros(3), 2)
    with pytest.raises(ValueError, match="n_samples"):
        DiffusionPrior(den).sample(None, 0)
    with pytest.raises(ValueError, match="model must implement"):
        DiffusionPrior(post)
    with pytest.raises(ValueError, match="pilot_model"):
        DiffusionPosterior(den, "pilots")
    other = LinearObservation(np.eye(4), (4,), 0.1)
    with pytest.raises(ValueError, match="channel_shape"):
        DiffusionPosterior(den, other)
    with pytest.raises(ValueError, match="method"):
        DiffusionPosterior(den, post.pilot_model, method="euler")
    with pytest.raises(ValueError, match="sigma_jacobian"):
        DiffusionPosterior(den, post.pilot_model, sigma_jacobian=0.0)
    with pytest.raises(ValueError, match="y must have shape"):
        DiffusionPosterior(den, post.pilot_model).sample(np.zeros(5), 2)
    with pytest.raises(ValueError, match="seed"):
        DiffusionPrior(den).sample(None, 2, seed=-1)


@pytest.mark.parametrize("deterministic", [False, True])
def test_trajectory_callback_sees_the_exact_tweedie_estimate(exact, deterministic):
    """Along the trajectory the jump-to-clean estimate is the exact E[h | x_t] of the Gaussian
    posterior (closed form, independent of the denoiser's code); at the first (largest) noise
    level it is within O(1/sigma^2) of the posterior mean; the last one is the sample."""
    post, y = exact.gaussian_setup()
    scale, n_steps, n = 0.5, 12, 5
    den = GaussianDenoiser.from_posterior(post, scale=scale)
    sampler = ConditionalSampler(den, n_steps=n_steps, deterministic=deterministic)
    mu = post.mean(y).reshape(-1)
    C = post.covariance
    seen = []

    def callback(step, sigma, x, h_hat):
        seen.append((step, sigma, x.copy(), h_hat.copy()))

    S = sampler.sample(y, n, seed=3, callback=callback)
    assert [s[0] for s in seen] == list(range(n_steps))
    sigmas = [s[1] for s in seen]
    assert all(a > b for a, b in itertools.pairwise(sigmas))
    for _, sigma, x, h_hat in seen:
        # DDPM state x_t = sqrt(abar) (h/scale + sigma eps) with abar = 1 / (1 + sigma^2)
        x_ve = (x * math.sqrt(1.0 + sigma**2)).reshape(n, -1)
        K = C @ np.linalg.inv(C + (scale * sigma) ** 2 * np.eye(len(mu)))
        ref = mu + (x_ve - mu) @ K.T
        np.testing.assert_allclose(h_hat.reshape(n, -1), ref, atol=1e-8)
    first = seen[0][3].reshape(n, -1)
    assert seen[0][1] > 50
    np.testing.assert_allclose(first, np.tile(mu, (n, 1)), atol=0.05 * np.linalg.norm(mu))
    np.testing.assert_array_equal(seen[-1][3], S)
    # the callback does not change the draws
    np.testing.assert_array_equal(S, sampler.sample(y, n, seed=3))


def test_callback_must_be_callable(exact):
    post, y = exact.gaussian_setup()
    sampler = ConditionalSampler(GaussianDenoiser.from_posterior(post), n_steps=3)
    with pytest.raises(ValueError, match="callback"):
        sampler.sample(y, 2, seed=0, callback=1)


def test_every_sampler_draws_a_batch_of_pilot_vectors_in_one_call(exact):
    """(B, n_obs) pilots -> (B, n_samples, *channel_shape); row b conditions on Y[b]."""
    post, y = exact.gaussian_setup()
    rng = np.random.default_rng(11)
    Y = post.pilot_model.observe(post.sample_prior(3, seed=rng), seed=rng)
    cond = GaussianDenoiser.from_posterior(post)
    prior = GaussianDenoiser(post.prior_cov, post.prior_mean)
    samplers = {
        "prior": DiffusionPrior(cond, n_steps=5),
        "conditional": ConditionalSampler(cond, n_steps=30, method="ddim"),
        **{
            m: DiffusionPosterior(prior, post.pilot_model, method=m, n_steps=5)
            for m in ("smc", "tmpd", "pigdm", "dps", "langevin")
        },
    }
    for name, sampler in samplers.items():
        S = sampler.sample(Y, 4, seed=0)
        assert S.shape == (3, 4, *exact.SHAPE), name
        assert sampler.sample(y, 4, seed=0).shape == (4, *exact.SHAPE), name
        checked = beamopt.as_sampler(sampler, channel_shape=exact.SHAPE)
        np.testing.assert_array_equal(checked.sample(Y, 4, seed=0), S)
    # rows stay with their pilots: per-row means of the conditional sampler
    S = samplers["conditional"].sample(Y, 400, seed=1)
    for b in range(3):
        exact.assert_moments(S[b], post.mean(Y[b]), post.covariance, bias=0.1, k=4)


def test_old_observation_keyword_and_attribute_still_work_with_a_warning(exact):
    post, y = exact.gaussian_setup()
    prior = GaussianDenoiser(post.prior_cov, post.prior_mean)
    with pytest.warns(DeprecationWarning, match="pilot_model"):
        sampler = DiffusionPosterior(prior, observation=post.pilot_model, method="tmpd")
    assert sampler.pilot_model is post.pilot_model
    with pytest.warns(DeprecationWarning, match="'observation' is deprecated"):
        assert sampler.observation is post.pilot_model
    with pytest.warns(DeprecationWarning, match="use 'y'"):
        S = sampler.sample(observation=y, n_samples=2, seed=0)
    np.testing.assert_array_equal(S, sampler.sample(y, 2, seed=0))
    with pytest.warns(DeprecationWarning, match="pilot_model"):
        den = GaussianDenoiser(post.prior_cov, post.prior_mean, observation=post.pilot_model)
    assert den.obs_shape == (post.pilot_model.n_obs,)
    with pytest.raises(ValueError, match="pass 'pilot_model' only"):
        DiffusionPosterior(prior, post.pilot_model, observation=post.pilot_model)
