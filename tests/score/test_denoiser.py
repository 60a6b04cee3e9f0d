"""Exact denoisers against independent references: Gaussian conditioning and densities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from beamopt import GaussianMixturePosterior, GaussianPosterior, LinearObservation
from beamopt.score import Denoiser, GaussianDenoiser, GaussianMixtureDenoiser


def _noisy_obs(shape, s):
    """x = h + s*eps observed as a LinearObservation (identity map, noise variance s^2)."""
    n = int(np.prod(shape))
    return LinearObservation(np.eye(n), shape, s**2)


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_gaussian_noise_prediction_is_exact_conditioning(exact, scale):
    post, _y = exact.gaussian_setup()
    den = GaussianDenoiser.from_posterior(post, scale=scale)
    assert isinstance(den, Denoiser) and den.obs_shape == (2,)
    rng = np.random.default_rng(3)
    for sigma in (0.05, 1.0, 30.0):
        x = exact.crandn(rng, (5, *exact.SHAPE)) * 2 / scale
        ref = GaussianPosterior(
            post.prior_cov, _noisy_obs(exact.SHAPE, sigma * scale), post.prior_mean
        )
        E = ref.mean((x * scale).reshape(5, -1)) / scale  # E[z | x], independent maths
        eps = den.predict_noise(torch.as_tensor(x), torch.full((5,), sigma)).numpy()
        np.testing.assert_allclose(eps, (x - E) / sigma, atol=1e-10)


def test_conditional_gaussian_uses_both_observations(exact):
    post, y = exact.gaussian_setup()
    den = GaussianDenoiser.from_posterior(post)
    sigma, nv = 0.7, post.pilot_model.noise_var
    rng = np.random.default_rng(4)
    x = exact.crandn(rng, (3, *exact.SHAPE))
    # Stack y = A h + n and x = h + sigma eps, each whitened, as one observation.
    A = np.vstack([post.pilot_model.A / np.sqrt(nv), np.eye(exact.N) / sigma])
    joint = GaussianPosterior(
        post.prior_cov, LinearObservation(A, exact.SHAPE, 1.0), post.prior_mean
    )
    Y = np.hstack([np.tile(y / np.sqrt(nv), (3, 1)), x.reshape(3, -1) / sigma])
    E = joint.mean(Y)
    eps = den.predict_noise(
        torch.as_tensor(x), torch.full((3,), sigma), torch.as_tensor(np.tile(y, (3, 1)))
    )
    np.testing.assert_allclose(eps.numpy(), (x - E) / sigma, atol=1e-10)


def test_mixture_prediction_matches_exact_mixture_posterior(exact):
    post, _y = exact.mixture_setup()
    den = GaussianMixtureDenoiser.from_posterior(post, scale=1.7)
    rng = np.random.default_rng(5)
    for sigma in (0.1, 0.8, 5.0):
        x = exact.crandn(rng, (6, *exact.SHAPE))
        ref = GaussianMixturePosterior(
            post.weights, post.means, post.covariances, _noisy_obs(exact.SHAPE, sigma * 1.7)
        )
        E = ref.mean((x * 1.7).reshape(6, -1)) / 1.7
        eps = den.predict_noise(torch.as_tensor(x), torch.full((6,), sigma)).numpy()
        np.testing.assert_allclose(eps, (x - E) / sigma, atol=1e-9)


def test_noise_prediction_is_the_autograd_score_of_the_noisy_density(exact):
    """-eps/sigma = d log p_sigma / d conj(x), the log density written independently."""
    post, _ = exact.mixture_setup()
    den = GaussianMixtureDenoiser.from_posterior(post)
    sigma = 0.6
    x = torch.tensor(exact.crandn(np.random.default_rng(6), (4, *exact.SHAPE)), requires_grad=True)
    logs = []
    for w, m, C in zip(post.weights, post.means, post.covariances, strict=True):
        S = torch.as_tensor(C + sigma**2 * np.eye(exact.N))
        d = x.reshape(4, -1) - torch.tensor(np.array(m).reshape(-1))
        quad = (d.conj() * torch.linalg.solve(S, d.T).T).real.sum(1)
        logs.append(np.log(w) - torch.logdet(S).real - quad)
    logp = torch.logsumexp(torch.stack(logs, 1), 1).sum()
    (g,) = torch.autograd.grad(logp, x)
    eps = den.predict_noise(x, torch.full((4,), sigma))
    assert eps.requires_grad
    np.testing.assert_allclose((-eps / sigma).detach().numpy(), (g / 2).numpy(), atol=1e-10)


def test_bad_inputs_name_the_argument(exact):
    post, _y = exact.gaussian_setup()
    den = GaussianDenoiser.from_posterior(post)
    x = torch.zeros(2, *exact.SHAPE, dtype=torch.complex128)
    with pytest.raises(ValueError, match="x must have shape"):
        den.predict_noise(torch.zeros(2, 4, dtype=torch.complex128), torch.ones(2))
    with pytest.raises(ValueError, match="sigma"):
        den.predict_noise(x, torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="y must have shape"):
        den.predict_noise(x, torch.ones(2), torch.zeros(2, 3, dtype=torch.complex128))
    with pytest.raises(ValueError, match="y must be None"):
        GaussianDenoiser(post.prior_cov, post.prior_mean).predict_noise(
            x, torch.ones(2), torch.zeros(2, 2)
        )
    with pytest.raises(ValueError, match="prior_cov"):
        GaussianDenoiser(np.eye(3), post.prior_mean)
    with pytest.raises(ValueError, match="scale"):
        GaussianDenoiser(post.prior_cov, post.prior_mean, scale=0.0)
    with pytest.raises(ValueError, match=r"pilot_model\.channel_shape"):
        GaussianDenoiser(post.prior_cov, post.prior_mean.reshape(4), pilot_model=post.pilot_model)
    with pytest.raises(ValueError, match="weights"):
        GaussianMixtureDenoiser([0.5, 0.6], np.zeros((2, 4)), np.stack([np.eye(4)] * 2))
