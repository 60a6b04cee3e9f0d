"""Twisted SMC from one unconditional prior against exact Gaussian(-mixture) posteriors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from beamopt import GaussianMixturePosterior, GaussianPosterior, LinearObservation
from beamopt.score import DiffusionPosterior, GaussianDenoiser, GaussianMixtureDenoiser
from beamopt.score.samplers import abar_grid
from beamopt.score.smc import _systematic, kernel_schedule

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _binomial_tol(p, n, bias=0.02):
    """4 binomial standard errors plus the discretisation allowance of a 40-step chain."""
    return 4 * np.sqrt(p * (1 - p) / n) + bias


def _mode_fraction(exact, post, S, y):
    return np.bincount(exact.labels(post, S, y), minlength=2) / len(S)


def test_mode_weights_match_the_exact_mixture_posterior(exact):
    """Two modes made equally plausible by one pilot: the weights come out right (where the
    moment-projection guidance, tested in test_samplers, is only within 0.15)."""
    post, _ = exact.mixture_setup()
    y = np.array([0.05 * np.exp(0.3j)])
    w = post.posterior_weights(y)
    assert 0.3 < w[0] < 0.7
    prior = GaussianMixtureDenoiser(post.weights, post.means, post.covariances, scale=1.3)
    sampler = DiffusionPosterior(prior, post.pilot_model, n_steps=40, n_particles=8)
    assert sampler.method == "smc" and sampler.n_evaluations == 320
    n = 1500
    S = sampler.sample(y, n, seed=0)
    frac = _mode_fraction(exact, post, S, y)
    assert np.all(np.abs(frac - w) < _binomial_tol(w, n)), (frac, w)
    # and the draws within each mode follow that mode's exact posterior
    lab = exact.labels(post, S, y)
    for k in range(2):
        c = post.components[k]
        exact.assert_moments(S[lab == k], c.mean(y), c.covariance, bias=0.1, k=4)


def test_bias_shrinks_with_the_number_of_particles(exact):
    """A correlated Gaussian prior and two informative pilots, without the gradient step (so
    the proposal is the isotropic linearisation only): one particle (guided diffusion, no
    reweighting) is off by about a quarter of the posterior spread; 16 particles are within
    Monte Carlo error plus the discretisation allowance. With the gradient step one particle
    is already close (the gradient carries the Gaussian's exact Jacobian)."""
    post, y = exact.gaussian_setup(noise_var=0.05)
    prior = GaussianDenoiser(post.prior_cov, post.prior_mean, scale=1.7)
    mean, cov = post.mean(y).reshape(-1), post.covariance
    tr = np.trace(cov).real

    def mean_error(K, gradient=False):
        S = DiffusionPosterior(
            prior, post.pilot_model, n_steps=40, n_particles=K, gradient_guidance=gradient
        )
        S = S.sample(y, 1000, seed=1)
        return np.sum(np.abs(S.reshape(1000, -1).mean(0) - mean) ** 2) / tr, S

    e1, _ = mean_error(1)
    e16, S16 = mean_error(16)
    assert e16 < 0.2 * e1, (e1, e16)
    exact.assert_moments(S16, post.mean(y), cov, bias=0.05, k=4)
    e1_grad, S1_grad = mean_error(1, gradient=True)
    assert e1_grad < 0.2 * e1, (e1, e1_grad)
    exact.assert_moments(S1_grad, post.mean(y), cov, bias=0.08, k=4)


def test_one_prior_serves_two_pilot_masks_at_two_snrs(exact):
    """One unconditional prior, four pilot models (two masks x two noise levels), no
    retraining; each posterior (batched over two pilot vectors) against its exact one."""
    base, _ = exact.mixture_setup()
    prior = GaussianMixtureDenoiser(base.weights, base.means, base.covariances)
    rng = np.random.default_rng(3)
    h = base.sample_prior(2, seed=rng)
    n = 400
    for mask in (np.array([1, 0, 0, 0]), np.array([0, 1, 1, 0])):
        A = np.eye(4)[mask.astype(bool)] + 0j
        for noise_var in (0.5, 0.05):
            obs = LinearObservation(A, exact.SHAPE, noise_var)
            post = GaussianMixturePosterior(base.weights, base.means, base.covariances, obs)
            Y = obs.observe(h, seed=rng)
            S = DiffusionPosterior(prior, obs, n_steps=40, n_particles=6).sample(Y, n, seed=4)
            assert S.shape == (2, n, *exact.SHAPE)
            for b in range(2):
                w = post.posterior_weights(Y[b])
                frac = _mode_fraction(exact, post, S[b], Y[b])
                assert np.all(np.abs(frac - w) < _binomial_tol(w, n)), (mask, noise_var, frac)
                f = S[b].reshape(n, -1)
                C = post.covariance(Y[b])
                err = np.linalg.norm(f.mean(0) - post.mean(Y[b]).reshape(-1))
                assert err < 4 * np.sqrt(np.trace(C).real / n) + 0.05, (mask, noise_var, err)


def test_kernel_schedule_is_the_gaussian_analytic_variance(exact):
    r"""For a Gaussian prior E tr Cov[z | x_t] / n = mean_i sigma^2 lambda_i / (lambda_i +
    sigma^2) in closed form; the schedule's prior-run estimate matches it."""
    post, _ = exact.gaussian_setup()
    scale = 1.2
    den = GaussianDenoiser(post.prior_cov, post.prior_mean, scale=scale)
    lam = np.linalg.eigvalsh(post.prior_cov) / scale**2
    abars = abar_grid(30)
    sched = kernel_schedule(lambda x, s: den.predict_noise(x, s), exact.SHAPE, abars)
    sigma2 = (1 - abars[:-1]) / abars[:-1]
    ref = np.array([np.mean(s * lam / (lam + s)) for s in sigma2])
    ref = np.minimum(ref, np.minimum(sigma2, 1.0))
    np.testing.assert_allclose(sched.v[:-1], ref, rtol=0.15, atol=2e-4)
    assert sched.v[-1] == 0.0 and sched.c2[-1] == 0.0 and np.all(sched.c2 >= 0)
    # deterministic: a function of the model and the grid only
    again = kernel_schedule(lambda x, s: den.predict_noise(x, s), exact.SHAPE, abars)
    np.testing.assert_array_equal(sched.v, again.v)


def test_systematic_resampling_keeps_every_count_within_one_of_k_w():
    gen = torch.Generator().manual_seed(0)
    w = torch.tensor([[0.5, 0.25, 0.125, 0.125], [0.97, 0.01, 0.01, 0.01]], dtype=torch.float64)
    K = 4
    idx = _systematic(torch.log(w), gen)
    counts = torch.stack([torch.bincount(r, minlength=K) for r in idx])
    assert torch.all((counts - K * w).abs() < 1.0 + 1e-12)


def test_draws_are_reproducible_and_batches_have_their_own_posteriors(exact):
    post, y = exact.gaussian_setup()
    prior = GaussianDenoiser(post.prior_cov, post.prior_mean)
    sampler = DiffusionPosterior(prior, post.pilot_model, n_steps=10, n_particles=4)
    S = sampler.sample(y, 50, seed=5)
    np.testing.assert_array_equal(S, sampler.sample(y, 50, seed=5))
    assert S.shape == (50, *exact.SHAPE) and S.dtype == np.complex128
    # A batch that is split across chunks (batch_size is in particles) still comes back in
    # order: row b of the output conditions on Y[b].
    Y = np.stack([y, y + 3.0])
    small = DiffusionPosterior(prior, post.pilot_model, n_steps=10, n_particles=4, batch_size=36)
    SB = small.sample(Y, 40, seed=6)
    assert SB.shape == (2, 40, *exact.SHAPE)
    for b in range(2):
        gap = np.linalg.norm(SB[b].mean(0) - post.mean(Y[b]))
        assert gap < 0.5 * np.linalg.norm(post.mean(Y[1]) - post.mean(Y[0]))


def test_smc_bad_inputs_name_the_argument(exact):
    post, y = exact.gaussian_setup()
    prior = GaussianDenoiser(post.prior_cov, post.prior_mean)
    with pytest.raises(ValueError, match="n_particles"):
        DiffusionPosterior(prior, post.pilot_model, n_particles=0)
    with pytest.raises(ValueError, match="ess_threshold"):
        DiffusionPosterior(prior, post.pilot_model, ess_threshold=1.5)
    with pytest.raises(ValueError, match="ess_threshold"):
        DiffusionPosterior(prior, post.pilot_model, ess_threshold=0.0)
    with pytest.raises(ValueError, match="callback"):
        DiffusionPosterior(prior, post.pilot_model).sample(y, 2, callback=lambda *a: None)
    with pytest.raises(ValueError, match="noise_fn"):
        DiffusionPosterior(prior, post.pilot_model).noise_fn(y)
    assert math.isinf(DiffusionPosterior(prior, post.pilot_model).sigma_guidance)


def test_white_gaussian_prior_needs_no_reweighting(exact):
    """For a white prior the linearised twist is exact, so one particle (no reweighting) is
    already the posterior up to discretisation; a check of the proposal's algebra."""
    post = GaussianPosterior(2.0 * np.eye(exact.N), exact.gaussian_setup()[0].pilot_model)
    y = post.pilot_model.observe(post.sample_prior(1, seed=7)[0], seed=8)
    prior = GaussianDenoiser(post.prior_cov, channel_shape=exact.SHAPE, scale=math.sqrt(2.0))
    S = DiffusionPosterior(prior, post.pilot_model, n_steps=40, n_particles=1).sample(
        y, 2000, seed=9
    )
    exact.assert_moments(S, post.mean(y), post.covariance, bias=0.05)


def test_gradient_step_keeps_a_decisive_pilot_out_of_the_wrong_mode(exact):
    """A pilot that rules out the majority mode: the exact posterior puts (almost) no weight
    on it. Particles that follow the prior commit to a mode before the twist can tell them
    apart, so with four particles and no gradient a sizeable fraction of systems has no
    particle in the right mode; the gradient step steers them across in time."""
    base, _ = exact.mixture_setup(noise_var=0.2)
    post = GaussianMixturePosterior([0.1, 0.9], base.means, base.covariances, base.pilot_model)
    y = np.array([1.2 * np.exp(0.3j)])
    w = post.posterior_weights(y)
    assert w[0] > 0.999
    prior = GaussianMixtureDenoiser(post.weights, post.means, post.covariances)

    def wrong(gradient):
        sampler = DiffusionPosterior(
            prior, post.pilot_model, n_steps=30, n_particles=4, gradient_guidance=gradient
        )
        return np.mean(exact.labels(post, sampler.sample(y, 600, seed=3), y) != 0)

    with_gradient, without = wrong(True), wrong(False)
    assert with_gradient < 0.02 and without > 2 * with_gradient + 0.02, (with_gradient, without)


@pytest.mark.slow
def test_default_method_puts_the_exact_weights_on_an_ambiguous_pilot(exact):
    """The acceptance problem of benchmarks/bench_score.py with the exact score: a two-mode
    prior on a 2 x 3 channel (weights 0.3 / 0.7), one pilot on the first entry at noise
    variance 0.5 and y = 0, where the exact posterior weight of the first mode is 0.298.
    The default method (smc, 5 particles x 100 steps, 500 network evaluations per draw) puts
    the weights within 0.02 of exact from 4000 draws (binomial standard error 0.007), and
    the posterior mean within 0.05 of the posterior variance."""
    rng = np.random.default_rng(1)
    n_ch = 6

    def random_cov():
        G = (rng.standard_normal((n_ch, n_ch)) + 1j * rng.standard_normal((n_ch, n_ch))) / 2**0.5
        return G @ G.conj().T / n_ch + 0.05 * np.eye(n_ch)

    m = 1.5 * np.exp(0.3j) * np.ones((2, 3))
    covs = np.stack([0.2 * random_cov(), 0.2 * random_cov()])
    A = np.zeros((1, n_ch), complex)
    A[0, 0] = 1.0
    post = GaussianMixturePosterior(
        [0.3, 0.7], np.stack([m, -m]), covs, LinearObservation(A, (2, 3), 0.5)
    )
    y = np.zeros(1, complex)
    w = post.posterior_weights(y)
    assert 0.25 < w[0] < 0.35
    prior = GaussianMixtureDenoiser(post.weights, post.means, post.covariances)
    sampler = DiffusionPosterior(prior, post.pilot_model)
    assert sampler.method == "smc" and sampler.n_evaluations == 500
    n = 4000
    S = sampler.sample(y, n, seed=17)
    frac = _mode_fraction(exact, post, S, y)
    assert np.all(np.abs(frac - w) <= 0.02), (frac, w)
    f = S.reshape(n, -1)
    cov = post.covariance(y)
    err = np.sum(np.abs(f.mean(0) - post.mean(y).reshape(-1)) ** 2) / np.trace(cov).real
    assert err <= 0.05, err
