"""`ScoreConfig(base="gaussian")`: the untrained model is the exact Gaussian-fit denoiser."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch

from beamopt import GaussianPosterior, LinearObservation, fit_lmmse
from beamopt.score import (
    ConditionalSampler,
    GaussianDenoiser,
    ScoreConfig,
    ScoreModel,
    append_noise_level,
    train_estimator,
    train_score_model,
)
from beamopt.score.gaussian_base import MAX_BASE_DIM, GaussianBase
from beamopt.score.model import observation_features

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


def _untrained(H, Y=None, config=UNTRAINED, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an untrained model warns that it never trained
        return train_score_model(H, observations=Y, config=config, progress=False, **kw)


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


# --- the noise-aware base: each drop conditioned on its own pilot noise variance -----------
def _mixed_snr_pairs(n, seed=0):
    """Gaussian channel, 3 pilots received at UL SNRs uniform in [-10, 10] dB."""
    rng = np.random.default_rng(seed)
    C = exact.random_cov(rng, exact.N)
    mu = 0.5 * exact.crandn(rng, exact.SHAPE)
    A = exact.crandn(rng, (3, exact.N))
    L = np.linalg.cholesky(C)
    H = (mu.reshape(-1) + exact.crandn(rng, (n, exact.N)) @ L.T).reshape(n, *exact.SHAPE)
    v = 10 ** (-rng.uniform(-10, 10, n) / 10)
    Y = H.reshape(n, -1) @ A.T + np.sqrt(v)[:, None] * exact.crandn(rng, (n, 3))
    return C, mu, A, H, v, Y


@pytest.fixture(scope="module")
def noise_aware():
    C, mu, A, H, v, Y = _mixed_snr_pairs(40_000)
    Yn = append_noise_level(Y[:, None, :], v)
    cfg = replace(UNTRAINED, noise_row=True)
    return C, mu, A, H, v, Y, Yn, _untrained(H, Yn, config=cfg), _untrained(H, Y)


@pytest.mark.parametrize("sigma", [0.02, 0.3, 3.0])
def test_noise_aware_base_is_each_drops_exact_gaussian_denoiser(noise_aware, sigma):
    # independent reference: the closed-form denoiser of the true prior with drop i's pilots
    # and noise variance; the SNR-blind base (one noise variance for all drops) misses it
    C, mu, A, H, v, Y, Yn, model, blind = noise_aware
    rng = np.random.default_rng(7)
    rows = np.argsort(v)[:: len(v) // 24][:24]  # drops across the whole SNR range
    x = torch.as_tensor(H[rows] / model.scale + sigma * exact.crandn(rng, H[rows].shape))
    s = torch.full((len(rows),), sigma, dtype=torch.float64)
    got = model.denoise(x, s, torch.as_tensor(Yn[rows]))
    lin = blind.denoise(x, s, torch.as_tensor(Y[rows]))
    err, err_blind = [], []
    for j, i in enumerate(rows):
        ref = GaussianDenoiser(C, mu, pilot_model=LinearObservation(A, exact.SHAPE, v[i]),
                               scale=model.scale)  # fmt: skip
        want = x[j : j + 1] - sigma * ref.predict_noise(x[j : j + 1], s[:1], Y[i : i + 1])
        norm = torch.linalg.vector_norm(want)
        err.append(float(torch.linalg.vector_norm(got[j] - want[0]) / norm))
        err_blind.append(float(torch.linalg.vector_norm(lin[j] - want[0]) / norm))
    # 36 000 rows fit the covariances to about 1 % (the 10 dB drops, narrowest posterior, to
    # about 3 %; the error halves with 4x the rows)
    assert np.mean(err) < 0.025 and max(err) < 0.05, err
    if sigma < 3.0:  # at large sigma both tend to their posterior means' gap, still visible
        assert np.mean(err_blind) > 3 * np.mean(err), (np.mean(err_blind), np.mean(err))


def test_noise_aware_base_travels_with_a_saved_model(noise_aware, tmp_path):
    *_, H, _, _, Yn, model, _ = noise_aware
    again = ScoreModel.load(model.save(tmp_path / "m.pt"))
    x = torch.as_tensor(H[:4] / model.scale)
    s = torch.full((4,), 0.5, dtype=torch.float64)
    y = torch.as_tensor(Yn[:4])
    torch.testing.assert_close(again.predict_noise(x, s, y), model.predict_noise(x, s, y))
    assert again.config.noise_row


def test_noise_row_needs_the_gaussian_base_and_a_noise_row():
    with pytest.raises(ValueError, match="needs base='gaussian'"):
        ScoreConfig(noise_row=True)
    with pytest.raises(ValueError, match="noise_row must be True or False"):
        ScoreConfig(base="gaussian", noise_row=1)
    rng = np.random.default_rng(0)
    H = exact.crandn(rng, (20, 2, 2))
    Y = exact.crandn(rng, (20, 2, 3))
    cfg = replace(UNTRAINED, noise_row=True)
    with pytest.raises(ValueError, match=r"observations\[:, -1\]"):
        train_score_model(H, observations=Y, config=cfg, progress=False)
    with pytest.raises(ValueError, match="needs observations"):
        train_score_model(H, config=cfg, progress=False)


def test_noise_aware_posterior_is_each_drops_exact_posterior(noise_aware):
    # GaussianBase.posterior against the exact GaussianPosterior of the drop's own noise
    C, mu, A, _, v, Y, Yn, model, _ = noise_aware
    rows = np.argsort(v)[[0, len(v) // 2, -1]]  # 10, 0 and -10 dB
    y = torch.as_tensor(Yn[rows])
    mean, R = model.network.base.posterior(observation_features(y, model.obs_scale, 3))
    mean, R = mean.double().numpy() * model.scale, R.double().numpy() * model.scale**2
    m = mean[:, 0::2] + 1j * mean[:, 1::2]
    Cc = R[:, 0::2, 0::2] + R[:, 1::2, 1::2] + 1j * (R[:, 1::2, 0::2] - R[:, 0::2, 1::2])
    for j, i in enumerate(rows):
        post = GaussianPosterior(C, LinearObservation(A, exact.SHAPE, v[i]), mu)
        want_m, want_C = post.mean(Y[i]).reshape(-1), post.covariance
        assert np.linalg.norm(m[j] - want_m) < 0.03 * np.linalg.norm(want_m)
        assert np.linalg.norm(Cc[j] - want_C) < 0.05 * np.linalg.norm(want_C)
