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


# --- low-rank covariance steps --------------------------------------------------------------
def _anisotropic(d=12, seed=0):
    """Prior eigenvalues over three decades and half as many pilots as entries: a posterior
    whose largest variance is hundreds of times its smallest (like a channel posterior)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(exact.crandn(rng, (d, d)))
    lam = 10.0 ** (-3.0 * np.arange(d) / (d - 1))
    lam *= d / lam.sum()
    obs = LinearObservation(exact.crandn(rng, (d // 2, d)), (d,), 0.1)
    post = GaussianPosterior((q * lam) @ q.conj().T, obs)
    y = obs.observe(post.sample_prior(1, seed=1)[0], seed=2)
    return post, GaussianDenoiser.from_posterior(post), y


def _held_pairs(post, n, seed):
    rng = np.random.default_rng(seed)
    H = post.sample_prior(n, seed=rng)
    Y = np.stack([post.pilot_model.observe(h, seed=rng) for h in H])
    return torch.as_tensor(H), torch.as_tensor(Y)


def test_inject_noise_has_the_requested_covariance():
    from beamopt.score.variance import LowRankVariance, inject_noise

    rng = np.random.default_rng(0)
    d, r, c, k = 6, 2, 0.3, 0.8
    U, _ = np.linalg.qr(exact.crandn(rng, (d, r)))
    G = exact.crandn(rng, (r, r))
    S, rest = G @ G.conj().T, 0.2
    xi = exact.crandn(rng, (200_000, 2, 3))
    out = inject_noise(torch.as_tensor(xi), c, k, LowRankVariance(U, S, rest)).numpy()
    ref = c * c * np.eye(d) + k * k * (U @ S @ U.conj().T + rest * (np.eye(d) - U @ U.conj().T))
    _, cov = exact.moments(out)
    assert np.linalg.norm(cov - ref) / np.trace(ref).real < 0.02
    iso = inject_noise(torch.as_tensor(xi), c, k, 0.5).numpy()  # a float V: (c^2 + k^2 V) I
    np.testing.assert_allclose(iso, np.sqrt(c * c + k * k * 0.5) * xi)


def test_measured_covariance_equals_the_exact_error_covariance():
    post, den, _ = _anisotropic()
    z, y = _held_pairs(post, 3000, seed=5)
    got = estimate_posterior_variance(den.predict_noise, z, y, sigma_min=0.01, sigma_max=10.0,
                                      n_levels=5, rank=3)  # fmt: skip
    lv, W = np.linalg.eigh(post.covariance)
    assert got.rank == 3 and got.conditional_basis.shape == (12, 3)
    np.testing.assert_allclose(
        got.conditional_basis.conj().T @ got.conditional_basis, np.eye(3), atol=1e-10
    )
    # the basis spans the top three posterior directions (the exact error covariance at
    # every sigma shares the posterior's eigenvectors)
    captured = np.real(
        np.trace(got.conditional_basis.conj().T @ post.covariance @ got.conditional_basis)
    )
    assert captured > 0.98 * lv[-3:].sum()
    for i, s in enumerate(got.sigma):
        sigma_t = (W * (lv * s**2 / (lv + s**2))) @ W.conj().T  # (Sigma^-1 + I/s^2)^-1
        ref = got.conditional_basis.conj().T @ sigma_t @ got.conditional_basis
        assert np.linalg.norm(got.conditional_sub[i] - ref) < 0.06 * np.trace(ref).real
        cov = got.covariance(float(s))
        assert abs(cov.trace - 12 * got(float(s))) < 1e-9 * cov.trace
    assert PosteriorVariance.from_dict(got.to_dict()).to_dict() == got.to_dict()
    assert got.null_sub.shape == (5, 3, 3)
    with pytest.raises(ValueError, match="rank"):
        estimate_posterior_variance(den.predict_noise, z, y, sigma_min=0.01, sigma_max=10.0,
                                    rank=-1)  # fmt: skip


def test_low_rank_steps_reproduce_an_anisotropic_posterior_at_few_steps():
    """Reference: the exact Gaussian posterior. 20 steps with the full measured covariance
    match its covariance; the isotropic analytic step leaves the widest direction narrow."""
    post, den, y = _anisotropic()
    z, yh = _held_pairs(post, 3000, seed=6)
    curve = estimate_posterior_variance(den.predict_noise, z, yh, sigma_min=2e-3,
                                        sigma_max=100.0, rank=12)  # fmt: skip
    lv, W = np.linalg.eigh(post.covariance)
    top = W[:, -1]
    spread = {}
    for name, c in (("low-rank", curve), ("isotropic", PosteriorVariance(
            curve.sigma, curve.conditional, curve.null, curve.n_rows))):  # fmt: skip
        object.__setattr__(den, "posterior_variance", c)
        draws = ConditionalSampler(den, n_steps=20).sample(y, 6000, seed=3)
        if name == "low-rank":
            exact.assert_moments(draws, post.mean(y), post.covariance, bias=0.03)
        d = draws.reshape(len(draws), -1) - draws.reshape(len(draws), -1).mean(0)
        spread[name] = np.mean(np.abs(d @ top.conj()) ** 2) / lv[-1]
    assert 0.93 < spread["low-rank"] < 1.07, spread
    assert spread["isotropic"] < 0.9, spread


def test_variance_rank_is_validated():
    from beamopt.score import ScoreConfig

    with pytest.raises(ValueError, match="variance_rank"):
        ScoreConfig(variance_rank=-1)


def test_a_curve_measured_on_given_pairs_drives_the_sampler():
    """`measure_posterior_variance` on pairs like the observation, handed to the sampler as
    `variance=`, gives the exact posterior's moments (reference: the exact Gaussian)."""
    from beamopt.score import measure_posterior_variance

    post, den, y = _anisotropic(seed=1)
    H, Y = (t.numpy() for t in _held_pairs(post, 3000, seed=8))
    curve = measure_posterior_variance(den, H, Y, rank=12)
    assert curve.rank == 12 and curve.conditional is not None
    assert getattr(den, "posterior_variance", None) is None  # the model is not touched
    draws = ConditionalSampler(den, n_steps=20, variance=curve).sample(y, 6000, seed=4)
    exact.assert_moments(draws, post.mean(y), post.covariance, bias=0.03)
    with pytest.raises(ValueError, match="guidance"):
        ConditionalSampler(den, guidance=0.5, variance=curve)
    with pytest.raises(ValueError, match="channels"):
        measure_posterior_variance(den, H[:, :5], Y)
    with pytest.raises(ValueError, match="observations"):
        measure_posterior_variance(den, H, Y[:10])


def test_dominant_directions_above_the_dense_limit_match_the_svd():
    """Beyond 4 096 entries the basis comes from a randomised SVD; reference: numpy's SVD."""
    from beamopt.score.variance import _top

    rng = np.random.default_rng(2)
    d, n, r = 5000, 200, 4
    left, _ = np.linalg.qr(exact.crandn(rng, (d, r)))
    A = (left * np.array([10.0, 6.0, 4.0, 3.0])) @ exact.crandn(rng, (r, n))
    A = A + 0.01 * exact.crandn(rng, (d, n))
    got = _top(torch.as_tensor(A, dtype=torch.complex64), r)
    ref = np.linalg.svd(A, full_matrices=False)[0][:, :r]
    assert got.shape == (d, r)
    # the same subspace: every principal angle between the two is small
    cosines = np.linalg.svd(ref.conj().T @ got, compute_uv=False)
    assert cosines.min() > 0.999, cosines


def test_measured_basis_of_a_large_channel_finds_the_wide_directions():
    """5 000 entries (the randomised-SVD path) with a heavy isotropic floor: the basis holds
    most of the prior variance of the top directions (reference: the diagonal prior itself,
    whose exact denoiser gives an error covariance with the prior's eigenvectors)."""
    d, r = 5000, 8
    lam = torch.exp(-torch.arange(d, dtype=torch.float64) / 3.0) + 1e-3
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(800, d, dtype=torch.complex128, generator=gen) * lam.sqrt()

    def exact_noise(x, s, y):  # the exact denoiser of CN(0, diag(lam)), as noise prediction
        s = s.reshape(-1, 1).to(torch.float64)
        return x * (s / (lam + s**2))

    got = estimate_posterior_variance(exact_noise, z, None, sigma_min=0.01, sigma_max=100.0,
                                      n_levels=6, rank=r)  # fmt: skip
    captured = float((np.abs(got.null_basis) ** 2 * lam.numpy()[:, None]).sum())
    assert captured > 0.9 * float(lam[:r].sum()), captured
