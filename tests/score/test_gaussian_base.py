"""`ScoreConfig(base="gaussian")`: the untrained model is the exact Gaussian-fit denoiser."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from beamopt import fit_lmmse
from beamopt.score import (
    ConditionalSampler,
    GaussianDenoiser,
    ScoreConfig,
    ScoreModel,
    train_estimator,
    train_score_model,
)
from beamopt.score.gaussian_base import MAX_BASE_DIM, GaussianBase

from . import _exact as exact

UNTRAINED = ScoreConfig(network="mlp", width=16, n_blocks=1, n_iterations=0, base="gaussian",
                        device="cpu")  # fmt: skip


def _gaussian_pairs(n, seed=0):
    """A correlated Gaussian channel with a mean, 2 noisy pilots (the shared exact setup)."""
    post, _ = exact.gaussian_setup(seed)
    H = post.sample_prior(n, seed=seed + 1)
    rng = np.random.default_rng(seed + 2)
    Y = np.stack([post.pilot_model.observe(h, seed=rng) for h in H])
    return post, H, Y


def _untrained(H, Y=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an untrained model warns that it never trained
        return train_score_model(H, observations=Y, config=UNTRAINED, progress=False, **kw)


@pytest.fixture(scope="module")
def fitted():
    post, H, Y = _gaussian_pairs(40_000)
    return post, H, Y, _untrained(H, Y)


@pytest.mark.parametrize("sigma", [0.02, 0.3, 3.0, 30.0])
def test_untrained_model_is_the_exact_gaussian_denoiser(fitted, sigma):
    # independent reference: the closed-form denoiser of the true prior and its posterior
    post, H, Y, model = fitted
    ref = GaussianDenoiser.from_posterior(post, scale=model.scale)
    rng = np.random.default_rng(3)
    x = torch.as_tensor(H[:64] / model.scale + sigma * exact.crandn(rng, H[:64].shape))
    s = torch.full((64,), sigma, dtype=torch.float64)
    y = torch.as_tensor(Y[:64])
    k = s[:, None, None]
    for got, want in (
        (model.denoise(x, s, y), x - k * ref.predict_noise(x, s, y)),
        (model.denoise(x, s), x - k * ref.predict_noise(x, s)),
    ):
        err = torch.linalg.vector_norm(got - want) / torch.linalg.vector_norm(want)
        assert err < 0.03, float(err)  # 36 000 rows fit the covariance to about 1 %


def test_untrained_posterior_mean_is_the_lmmse_estimate_and_draws_its_posterior(fitted):
    post, H, Y, model = fitted
    y = Y[0]
    draws = ConditionalSampler(model, n_steps=50, variance="ddpm").sample(y, 4000, seed=2)
    # the exact Gaussian posterior (true covariances) and the sample-covariance LMMSE fit
    exact.assert_moments(draws, post.mean(y), post.covariance, bias=0.05)
    lin = fit_lmmse(H[:36_000], Y[:36_000])
    np.testing.assert_allclose(draws.mean(0), lin.estimate(y[None])[0], atol=0.06)


def test_base_travels_with_a_saved_model(fitted, tmp_path):
    _, H, Y, model = fitted
    again = ScoreModel.load(model.save(tmp_path / "m.pt"))
    x = torch.as_tensor(H[:4] / model.scale)
    s = torch.full((4,), 0.5, dtype=torch.float64)
    y = torch.as_tensor(Y[:4])
    torch.testing.assert_close(again.predict_noise(x, s, y), model.predict_noise(x, s, y))
    assert again.config.base == "gaussian"


def test_training_keeps_improving_on_a_non_gaussian_prior():
    # a two-mode prior: the Gaussian fit is the start, and training lowers the held-out loss
    post, _ = exact.mixture_setup()
    H = post.sample_prior(3000, seed=4)
    rng = np.random.default_rng(5)
    Y = np.stack([post.pilot_model.observe(h, seed=rng) for h in H])
    cfg = ScoreConfig(network="mlp", width=64, n_iterations=600, eval_every=100, warmup=20,
                      lr=2e-3, base="gaussian", device="cpu")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = train_score_model(H, observations=Y, config=cfg, seed=0, progress=False)
    h = m.history
    assert h.best_validation_loss < 0.9 * h.initial_validation_loss


def test_bad_bases_name_the_parameter():
    with pytest.raises(ValueError, match="base"):
        ScoreConfig(base="lmmse")
    with pytest.raises(ValueError, match="at most"):
        GaussianBase(MAX_BASE_DIM // 2 + 1)
    rng = np.random.default_rng(0)
    H = exact.crandn(rng, (20, 2, 2))
    Y = exact.crandn(rng, (20, 2))
    with pytest.raises(ValueError, match=r"config\.base must be 'white'"):
        train_estimator(H, Y, config=UNTRAINED, progress=False)
