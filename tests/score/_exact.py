"""Small exact priors shared by the score tests (Gaussian and two-component mixture)."""

from __future__ import annotations

import numpy as np

from beamopt import GaussianMixturePosterior, GaussianPosterior, LinearObservation

SHAPE = (2, 2)
N = 4


def crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def random_cov(rng, n, floor=0.05):
    G = crandn(rng, (n, n))
    return G @ G.conj().T / n + floor * np.eye(n)


def gaussian_setup(seed=0, n_obs=2, noise_var=0.1):
    rng = np.random.default_rng(seed)
    C = random_cov(rng, N)
    mu = 0.5 * crandn(rng, SHAPE)
    obs = LinearObservation(crandn(rng, (n_obs, N)), SHAPE, noise_var)
    post = GaussianPosterior(C, obs, mu)
    y = obs.observe(post.sample_prior(1, seed=rng)[0], seed=rng)
    return post, y


def mixture_setup(seed=1, noise_var=0.5):
    """Two well-separated modes (+-m) and a pilot that leaves both plausible."""
    rng = np.random.default_rng(seed)
    m = 1.5 * np.ones(SHAPE) * np.exp(1j * 0.3)
    covs = np.stack([0.2 * random_cov(rng, N), 0.2 * random_cov(rng, N)])
    obs = LinearObservation(np.array([[1.0, 0, 0, 0]]) + 0j, SHAPE, noise_var)
    post = GaussianMixturePosterior([0.35, 0.65], np.stack([m, -m]), covs, obs)
    y = np.array([0.3 * np.exp(1j * 0.3)])
    return post, y


def moments(samples):
    f = samples.reshape(len(samples), -1)
    m = f.mean(0)
    d = f - m
    return m, d.T @ d.conj() / len(f)


def assert_moments(samples, mean, cov, *, bias=0.0, k=3.0):
    """Sample mean and covariance within k Monte Carlo standard errors (plus a bias allowance).

    The Monte Carlo error of the sample mean is about sqrt(tr C / n) in norm and that of the
    sample covariance about tr(C) / sqrt(n) in Frobenius norm, so both errors are normalised
    by those scales.
    """
    n = len(samples)
    m, C = moments(samples)
    tr = np.trace(cov).real
    err_mean = np.linalg.norm(m - mean.reshape(-1)) / np.sqrt(tr)
    err_cov = np.linalg.norm(C - cov) / tr
    assert err_mean < k / np.sqrt(n) + bias, f"mean error {err_mean:.4f}"
    assert err_cov < k / np.sqrt(n) + bias, f"covariance error {err_cov:.4f}"


def labels(post, samples, y=None):
    """Most likely component of each sample under the (posterior) mixture."""
    comps = post.components
    f = samples.reshape(len(samples), -1)
    logs = []
    for _k, c in enumerate(comps):
        mean = (c.prior_mean if y is None else c.mean(y)).reshape(-1)
        cov = c.prior_cov if y is None else c.covariance
        d = f - mean
        sol = np.linalg.solve(cov + 1e-9 * np.eye(len(cov)), d.T).T
        logs.append(-np.sum(d.conj() * sol, axis=1).real - np.linalg.slogdet(cov)[1])
    return np.argmax(np.stack(logs, 1), axis=1)
