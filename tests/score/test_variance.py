"""Analytic reverse steps: few-step draws as wide as the exact posterior (isotropic Gaussian)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from beamopt import GaussianPosterior, LinearObservation
from beamopt.score import ConditionalSampler, GaussianDenoiser
from beamopt.score.variance import PosteriorVariance, estimate_posterior_variance

from . import _exact as exact

PRIOR_VAR, NOISE_VAR, SCALE = 2.0, 0.5, 1.5


def _isotropic():
    """Prior 2 I, every entry observed once with noise 0.5: posterior (1/2 + 2)^-1 I."""
    obs = LinearObservation(np.eye(exact.N) + 0j, exact.SHAPE, NOISE_VAR)
    post = GaussianPosterior(PRIOR_VAR * np.eye(exact.N), obs)
    den = GaussianDenoiser.from_posterior(post, scale=SCALE)
    y = obs.observe(post.sample_prior(1, seed=3)[0], seed=4)
    return post, den, y


def _exact_curve(post_var):
    """V(sigma) of z = h / scale with per-entry posterior variance post_var (raw units)."""
    sig = np.geomspace(1e-3, 1e3, 200)
    v = post_var / SCALE**2
    return 1.0 / (1.0 / v + 1.0 / sig**2)


def test_analytic_steps_reproduce_the_posterior_at_few_steps():
    post, den, y = _isotropic()
    post_var = 1.0 / (1.0 / PRIOR_VAR + 1.0 / NOISE_VAR)
    curve = _exact_curve(post_var)
    den_curve = PosteriorVariance(np.geomspace(1e-3, 1e3, 200), curve, curve, 0)
    object.__setattr__(den, "posterior_variance", den_curve)
    n = 6000
    plain = ConditionalSampler(den, n_steps=4, variance="ddpm").sample(y, n, seed=1)
    analytic = ConditionalSampler(den, n_steps=4).sample(y, n, seed=1)  # "auto" -> analytic
    # independent reference: the exact Gaussian posterior
    exact.assert_moments(analytic, post.mean(y), post.covariance, bias=0.02)
    spread = np.mean(np.abs(plain - plain.mean(0)) ** 2) / post_var
    assert spread < 0.9  # the plain 4-step DDPM draws are too narrow (the symptom)


def test_measured_curve_equals_the_exact_posterior_variance():
    post, den, _ = _isotropic()
    rng = np.random.default_rng(5)
    H = post.sample_prior(4000, seed=rng)
    Y = np.stack([post.pilot_model.observe(h, seed=rng) for h in H[:4000]])
    z = torch.as_tensor(H / SCALE)
    y = torch.as_tensor(Y)
    got = estimate_posterior_variance(den.predict_noise, z, y, sigma_min=0.01, sigma_max=100.0,
                                      n_levels=6)  # fmt: skip
    post_var = 1.0 / (1.0 / PRIOR_VAR + 1.0 / NOISE_VAR)
    ref_cond = 1.0 / (SCALE**2 / post_var + 1.0 / got.sigma**2)
    ref_null = 1.0 / (SCALE**2 / PRIOR_VAR + 1.0 / got.sigma**2)
    np.testing.assert_allclose(got.conditional, ref_cond, rtol=0.05)
    np.testing.assert_allclose(got.null, ref_null, rtol=0.05)
    # log-log interpolation between the grid points stays between the neighbours
    s = float(np.sqrt(got.sigma[2] * got.sigma[3]))
    assert got.conditional[2] <= got(s) <= got.conditional[3]
    assert PosteriorVariance.from_dict(got.to_dict()).to_dict() == got.to_dict()


def test_analytic_needs_a_curve_and_a_posterior_guidance():
    _, den, _ = _isotropic()
    with pytest.raises(ValueError, match="posterior_variance"):
        ConditionalSampler(den, variance="analytic")
    object.__setattr__(den, "posterior_variance", PosteriorVariance(
        np.array([0.1, 1.0]), np.ones(2), np.ones(2), 1))  # fmt: skip
    with pytest.raises(ValueError, match="guidance"):
        ConditionalSampler(den, guidance=2.0, variance="analytic")
    with pytest.raises(ValueError, match="variance"):
        ConditionalSampler(den, variance="wide")


def test_one_averaged_curve_widens_every_drop_of_a_20_db_snr_spread():
    """Drops with their own pilot SNR in [-10, 10] dB and a correlated prior: the analytic step
    with V(sigma) averaged over the drops keeps low- and high-SNR drops alike within 15 % of
    their own exact posterior variance at 20 steps (reference: the exact Gaussian posterior of
    each drop), so an SNR spread does not by itself make the draws narrow."""
    from beamopt.score.samplers import reverse_diffusion

    rng = np.random.default_rng(0)
    d, m, n_drops, n_draws = 16, 8, 240, 32
    q, _ = np.linalg.qr(rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d)))
    lam = np.exp(-np.arange(d) / 2.5)
    lam *= d / lam.sum()
    C = (q * lam) @ q.conj().T
    A = (rng.standard_normal((m, d)) + 1j * rng.standard_normal((m, d))) / np.sqrt(2 * d)
    snr_db = rng.uniform(-10.0, 10.0, n_drops)
    s2 = 10.0 ** (-snr_db / 10)
    mean, cov = [], []
    for i in range(n_drops):
        obs = LinearObservation(A, (d,), float(s2[i]))
        post = GaussianPosterior(C, obs)
        y = obs.observe(post.sample_prior(1, seed=int(rng.integers(2**31)))[0], seed=i)
        mean.append(post.mean(y).reshape(d))
        cov.append(post.covariance)
    lv, U = np.linalg.eigh(np.array(cov))
    lv = np.maximum(lv, 0.0)
    rows = np.repeat(np.arange(n_drops), n_draws)
    mu, Ut, lt = (torch.as_tensor(a[rows]) for a in (np.array(mean), U, lv))

    def noise_fn(x, sigma):
        coef = torch.einsum("bji,bj->bi", Ut.conj(), x - mu) * (lt / (lt + sigma[:, None] ** 2))
        return (x - mu - torch.einsum("bij,bj->bi", Ut, coef.to(Ut.dtype))) / sigma[:, None]

    def v_avg(sigma):  # the held-out curve: one average over all drops
        return float(np.mean(np.sum(lv * sigma**2 / (lv + sigma**2), axis=1)) / d)

    post_var = lv.sum(axis=1) / d
    ratio = {}
    for name, variance in (("ddpm", None), ("analytic", v_avg)):
        z = reverse_diffusion(noise_fn, (d,), len(rows), 20, variance=variance,
                              generator=torch.Generator().manual_seed(1)).numpy()  # fmt: skip
        z = z.reshape(n_drops, n_draws, d)
        spread = np.sum(np.abs(z - z.mean(1, keepdims=True)) ** 2, axis=2).mean(1) / d
        spread *= n_draws / (n_draws - 1)
        lo, hi = snr_db < -3.0, snr_db > 3.0
        ratio[name] = (spread[lo].sum() / post_var[lo].sum(), spread[hi].sum() / post_var[hi].sum())
    assert all(0.85 < r < 1.05 for r in ratio["analytic"]), ratio
    assert all(r < 0.82 for r in ratio["ddpm"]), ratio  # plain 20-step draws are too narrow
