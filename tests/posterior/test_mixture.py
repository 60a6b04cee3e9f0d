"""Exact Gaussian-mixture posterior: weights by numerical integration, moments, sampling."""

from __future__ import annotations

import numpy as np
import pytest

import beamopt


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def _scalar_mixture():
    """Three components on a single complex channel coefficient h, observed as y = a h + n."""
    weights = np.array([0.2, 0.5, 0.3])
    mus = np.array([-1.0 + 0.5j, 1.5 - 0.2j, 0.3j])
    vars_ = np.array([0.3, 0.6, 0.2])
    a, s2 = 0.8 - 0.3j, 0.5
    obs = beamopt.LinearObservation(np.array([[a]]), (1, 1), s2)
    post = beamopt.GaussianMixturePosterior(
        weights, mus.reshape(3, 1, 1), vars_.reshape(3, 1, 1), obs
    )
    return post, weights, mus, vars_, a, s2


def test_posterior_weights_mean_and_gramian_match_numerical_integration():
    post, weights, mus, vars_, a, s2 = _scalar_mixture()
    y = np.array([0.9 + 0.1j])
    # Brute force over the complex plane of h: p(h | y) ∝ p(y | h) Σ_k π_k p_k(h).
    grid = np.linspace(-7.0, 7.0, 1401)
    dx = grid[1] - grid[0]
    h = grid[:, None] + 1j * grid[None, :]
    like = np.exp(-(np.abs(y[0] - a * h) ** 2) / s2) / (np.pi * s2)
    joint = np.stack(
        [
            w * like * np.exp(-(np.abs(h - m) ** 2) / v) / (np.pi * v)
            for w, m, v in zip(weights, mus, vars_)
        ]
    )
    mass = joint.sum(axis=(1, 2)) * dx**2
    ref_weights = mass / mass.sum()
    np.testing.assert_allclose(post.posterior_weights(y), ref_weights, rtol=1e-8)
    density = joint.sum(axis=0) / mass.sum()
    ref_mean = np.sum(h * density) * dx**2
    ref_power = np.sum(np.abs(h) ** 2 * density) * dx**2
    np.testing.assert_allclose(post.mean(y).item(), ref_mean, rtol=1e-8)
    np.testing.assert_allclose(post.expected_gramian(y).item(), ref_power, rtol=1e-8)
    ref_var = ref_power - abs(ref_mean) ** 2
    np.testing.assert_allclose(post.covariance(y).item(), ref_var, rtol=1e-8)
    np.testing.assert_allclose(post.log_evidence(y), np.log(mass.sum()), rtol=1e-8)


def test_weights_are_batched_and_normalised():
    post, *_ = _scalar_mixture()
    Y = np.array([[0.1], [3.0 + 1j], [-2.0]])
    W = post.posterior_weights(Y)
    assert W.shape == (3, 3)
    np.testing.assert_allclose(W.sum(axis=-1), 1.0)
    for k in range(3):
        np.testing.assert_allclose(W[k], post.posterior_weights(Y[k]))
    assert post.mean(Y).shape == (3, 1, 1)
    assert post.covariance(Y).shape == (3, 1, 1)


def test_one_component_reduces_to_gaussian_posterior():
    rng = np.random.default_rng(0)
    shape = (2, 3)
    B = _crandn(rng, (6, 6))
    C = B @ B.conj().T
    mu = _crandn(rng, shape)
    obs = beamopt.LinearObservation(_crandn(rng, (4, 6)), shape, 0.2)
    g = beamopt.GaussianPosterior(C, obs, prior_mean=mu)
    m = beamopt.GaussianMixturePosterior([1.0], mu[None], C[None], obs)
    y = obs.observe(mu, seed=1)
    np.testing.assert_allclose(m.mean(y), g.mean(y), atol=1e-12)
    np.testing.assert_allclose(m.covariance(y), g.covariance, atol=1e-10)
    np.testing.assert_allclose(m.expected_gramian(y), g.expected_gramian(y), atol=1e-10)
    assert m.log_evidence(y) == pytest.approx(g.log_evidence(y))


def _multimodal(seed=0):
    rng = np.random.default_rng(seed)
    shape = (2, 2)
    K = 3
    means = 2.0 * _crandn(rng, (K, *shape))
    covs = []
    for _ in range(K):
        B = _crandn(rng, (4, 4))
        covs.append(0.3 * B @ B.conj().T / 4)
    obs = beamopt.LinearObservation.from_mask(np.array([True, False]), shape, 2.0)
    post = beamopt.GaussianMixturePosterior([0.5, 0.3, 0.2], means, np.stack(covs), obs)
    y = obs.observe(post.sample_prior(1, seed=rng)[0], seed=rng)
    return post, y


def test_sample_moments_match_exact_mixture_moments():
    post, y = _multimodal()
    n = 40_000
    draws = post.sample(y, n, seed=3)
    assert draws.shape == (n, 2, 2)
    flat = draws.reshape(n, -1)
    mean = post.mean(y).reshape(-1)
    cov = post.covariance(y)
    d = np.sqrt(np.diag(cov).real)
    tol = 5.0 / np.sqrt(n)
    assert np.all(np.abs(flat.mean(axis=0) - mean) <= tol * d)
    centred = flat - mean
    # Mixtures have heavier tails than a Gaussian: allow a wider band.
    assert np.all(np.abs(centred.T @ centred.conj() / n - cov) <= 3 * tol * np.outer(d, d))
    G = post.expected_gramian(y)
    emp = beamopt.expected_gramian(draws)
    g = np.sqrt(np.diag(G).real)
    assert np.all(np.abs(emp - G) <= 3 * tol * np.outer(g, g))


def test_prior_samples_match_prior_moments():
    post, _ = _multimodal(seed=1)
    n = 40_000
    flat = post.sample_prior(n, seed=0).reshape(n, -1)
    mu = np.einsum("k,kn->n", post.weights, post.means.reshape(3, -1))
    second = np.einsum(
        "k,kij->ij",
        post.weights,
        post.covariances
        + np.einsum("ki,kj->kij", post.means.reshape(3, -1), post.means.reshape(3, -1).conj()),
    )
    cov = second - np.outer(mu, mu.conj())
    d = np.sqrt(np.diag(cov).real)
    assert np.all(np.abs(flat.mean(axis=0) - mu) <= 5 / np.sqrt(n) * d)


def test_sample_labels_are_iid_so_prefixes_are_valid_draws():
    # Well-separated scalar components: each draw is attributable to its component.
    obs = beamopt.LinearObservation(np.array([[1.0]]), (1,), 1e3)
    means = np.array([[-10.0], [0.0], [10.0]])
    post = beamopt.GaussianMixturePosterior([0.2, 0.5, 0.3], means, np.full((3, 1, 1), 0.01), obs)
    y = np.array([0.0])
    w = post.posterior_weights(y)
    n = 6000
    labels = np.argmin(np.abs(post.sample(y, n, seed=0) - means[:, 0]), axis=1)
    for part in (labels[: n // 2], labels[n // 2 :], labels[:200]):
        freq = np.bincount(part, minlength=3) / part.size
        assert np.all(np.abs(freq - w) <= 5 * np.sqrt(w * (1 - w) / part.size))


def test_bad_inputs_raise():
    obs = beamopt.LinearObservation(np.eye(2), (2,), 1.0)
    eye = np.eye(2)[None]
    with pytest.raises(ValueError, match="weights"):
        beamopt.GaussianMixturePosterior([0.5, 0.6], np.zeros((2, 2)), np.stack([eye[0]] * 2), obs)
    with pytest.raises(ValueError, match="weights"):
        beamopt.GaussianMixturePosterior([1.5, -0.5], np.zeros((2, 2)), np.stack([eye[0]] * 2), obs)
    with pytest.raises(ValueError, match="means must have shape"):
        beamopt.GaussianMixturePosterior([1.0], np.zeros((1, 3)), eye, obs)
    with pytest.raises(ValueError, match="covariances must have shape"):
        beamopt.GaussianMixturePosterior([1.0], np.zeros((1, 2)), np.eye(2), obs)
    with pytest.raises(ValueError, match="positive semidefinite"):
        beamopt.GaussianMixturePosterior([1.0], np.zeros((1, 2)), -eye, obs)
    with pytest.raises(ValueError, match="LinearObservation"):
        beamopt.GaussianMixturePosterior([1.0], np.zeros((1, 2)), eye, np.eye(2))
    with pytest.raises(ValueError, match="finite"):
        beamopt.GaussianMixturePosterior([1.0], np.full((1, 2), np.nan), eye, obs)
    post = beamopt.GaussianMixturePosterior([1.0], np.zeros((1, 2)), eye, obs)
    with pytest.raises(ValueError, match="y must have shape"):
        post.sample(np.zeros(3), 2)
    with pytest.raises(ValueError, match="n_samples"):
        post.sample(np.zeros(2), -1)


def test_a_batch_of_pilot_vectors_gets_its_own_weights_and_draws():
    post, *_ = _scalar_mixture()
    Y = np.array([[0.9 + 0.1j], [-1.2 + 0.4j], [0.0 + 0.6j]])
    n = 20_000
    S = post.sample(Y, n, seed=3)
    assert S.shape == (3, n, 1, 1)
    for b in range(3):
        m = post.mean(Y[b]).reshape(-1)
        C = post.covariance(Y[b])
        tr = np.trace(C).real
        f = S[b].reshape(n, -1)
        assert np.linalg.norm(f.mean(0) - m) < 4 * np.sqrt(tr / n)
        assert abs(np.var(f[:, 0]) - tr) < 5 * tr * np.sqrt(2 / n) + 0.02 * tr
    y = Y[:1]
    np.testing.assert_array_equal(post.sample(y[0], 7, seed=8), post.sample(y, 7, seed=8)[0])
    with pytest.warns(DeprecationWarning, match="use 'y'"):
        w = post.posterior_weights(observation=Y[0])
    np.testing.assert_allclose(w, post.posterior_weights(Y[0]))
