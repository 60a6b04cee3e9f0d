"""Score models trained in the test give posteriors close to the exact ones (CPU, seeded)."""

from __future__ import annotations

import numpy as np
import pytest

import beamopt
from beamopt import GaussianMixturePosterior, GaussianPosterior, LinearObservation

torch = pytest.importorskip("torch")
from beamopt.score import (  # noqa: E402
    ConditionalSampler,
    DiffusionPrior,
    ScoreConfig,
    train_score_model,
)

SHAPE = (3,)


def _config(n_iterations):
    return ScoreConfig(
        network="mlp",
        width=64,
        n_blocks=2,
        n_iterations=n_iterations,
        batch_size=256,
        lr=3e-3,
        device="cpu",
    )


def _train_pairs(post, n, seed):
    h = post.sample_prior(n, seed=seed)
    return h, post.pilot_model.observe(h, seed=seed + 1)


def _moment_errors(S, mean, cov):
    f = S.reshape(len(S), -1)
    m = f.mean(0)
    d = f - m
    C = d.T @ d.conj() / len(f)
    tr = np.trace(cov).real
    return np.linalg.norm(m - mean.reshape(-1)) / np.sqrt(tr), np.linalg.norm(C - cov) / tr


def test_learned_gaussian_posterior_matches_the_exact_one(exact):
    rng = np.random.default_rng(0)
    C = exact.random_cov(rng, 3, floor=0.1)
    obs = LinearObservation(exact.crandn(rng, (2, 3)), SHAPE, 0.2)
    post = GaussianPosterior(C, obs, 0.5 * exact.crandn(rng, SHAPE))
    h, y_train = _train_pairs(post, 20_000, seed=1)
    model = train_score_model(h, observations=y_train, config=_config(1500), seed=0, progress=False)
    # Prior (null token) and posterior (conditional) both close to the exact ones; the
    # exact-score sampler at the same settings is within 0.02 (test_samplers), so the rest
    # is training error.
    S0 = DiffusionPrior(model, n_steps=50, method="ddim").sample(None, 2000, seed=2)
    err_m, err_c = _moment_errors(S0, post.prior_mean, post.prior_cov)
    assert err_m < 0.1 and err_c < 0.15, (err_m, err_c)
    y = obs.observe(post.sample_prior(1, seed=3)[0], seed=4)
    S = ConditionalSampler(model, n_steps=50, method="ddim").sample(y, 2000, seed=5)
    err_m, err_c = _moment_errors(S, post.mean(y), post.covariance)
    assert err_m < 0.15 and err_c < 0.25, (err_m, err_c)
    # ... and the draws go straight into a precoder.
    assert beamopt.expected_gramian(S.reshape(2000, 1, 3)).shape == (3, 3)


def test_learned_mixture_posterior_finds_both_modes_with_the_right_weights(exact):
    rng = np.random.default_rng(1)
    m = np.array([1.5, 1.5j, -1.0])
    covs = np.stack([0.1 * exact.random_cov(rng, 3), 0.1 * exact.random_cov(rng, 3)])
    obs = LinearObservation(np.array([[1.0, 0, 0]]) + 0j, SHAPE, 1.0)
    post = GaussianMixturePosterior([0.3, 0.7], np.stack([m, -m]), covs, obs)
    h, y_train = _train_pairs(post, 20_000, seed=2)
    model = train_score_model(h, observations=y_train, config=_config(1500), seed=0, progress=False)
    y = np.array([0.4])
    w = post.posterior_weights(y)
    assert 0.15 < w[0] < 0.85  # both modes genuinely plausible
    S = ConditionalSampler(model, n_steps=50, method="ddim").sample(y, 2000, seed=3)
    frac = np.bincount(exact.labels(post, S, y), minlength=2) / 2000
    assert np.all(np.abs(frac - w) < 0.1), (frac, w)
    prior = DiffusionPrior(model, n_steps=50, method="ddim").sample(None, 2000, seed=4)
    frac = np.bincount(exact.labels(post, prior), minlength=2) / 2000
    assert np.all(np.abs(frac - post.weights) < 0.1), frac


@pytest.mark.slow
def test_one_trained_prior_serves_two_pilot_masks_at_two_snrs(exact, one_torch_thread):
    """Train once on channels only, then estimate under four pilot models (two masks x two
    noise levels) with DiffusionPosterior's default (smc); each against its exact posterior."""
    from beamopt.score import DiffusionPosterior

    rng = np.random.default_rng(5)
    m = np.array([1.5, 1.5j, -1.0])
    covs = np.stack([0.1 * exact.random_cov(rng, 3), 0.1 * exact.random_cov(rng, 3)])
    prior_post = GaussianMixturePosterior(
        [0.3, 0.7], np.stack([m, -m]), covs, LinearObservation(np.eye(3)[:1] + 0j, SHAPE, 1.0)
    )
    h = prior_post.sample_prior(20_000, seed=6)
    model = train_score_model(h, config=_config(1500), seed=0, progress=False)
    n = 2000
    for A in (np.eye(3)[:1] + 0j, np.eye(3)[1:] + 0j):
        for noise_var in (1.0, 0.1):
            obs = LinearObservation(A, SHAPE, noise_var)
            post = GaussianMixturePosterior([0.3, 0.7], np.stack([m, -m]), covs, obs)
            Y = obs.observe(post.sample_prior(2, seed=rng), seed=rng)
            S = DiffusionPosterior(model, obs).sample(Y, n, seed=7)
            for b in range(2):
                w = post.posterior_weights(Y[b])
                frac = np.bincount(exact.labels(post, S[b], Y[b]), minlength=2) / n
                assert np.all(np.abs(frac - w) < 0.1), (A, noise_var, frac, w)
                err_m, _ = _moment_errors(S[b], post.mean(Y[b]), post.covariance(Y[b]))
                assert err_m < 0.15, (A, noise_var, err_m)
