r"""Training: learned denoisers against the exact Gaussian MMSE denoiser, seeding, validation.

The reference is closed form: for $z \sim \mathcal{CN}(\mu, C)$ and $x = z + \sigma\epsilon$,
$E[z \mid x] = \mu + C (C + \sigma^2 I)^{-1} (x - \mu)$; with a pilot $y = A h + n$ as well,
the same LMMSE formula on the stacked observation $(x, y)$.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from beamopt.score import ScoreConfig, ScoreModel, train_score_model

SIGMAS = (0.1, 0.5, 1.0, 3.0)


def crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def gaussian_prior(seed, n):
    rng = np.random.default_rng(seed)
    G = crandn(rng, (n, n))
    return 0.5 * crandn(rng, n), G @ G.conj().T + 0.2 * np.eye(n)


def draw(rng, mu, C, N):
    return mu + crandn(rng, (N, len(mu))) @ np.linalg.cholesky(C).T


def lmmse(mu, C, G, R, w):
    """E[z | w] for z ~ CN(mu, C), w = G z + CN(0, R)."""
    K = C @ G.conj().T @ np.linalg.inv(G @ C @ G.conj().T + R)
    return mu + (w - mu @ G.T) @ K.T, C - K @ G @ C


def tweedie(model, x, sigma, y=None):
    s = torch.full((len(x),), sigma, dtype=torch.float64)
    with torch.no_grad():
        return model.denoise(torch.as_tensor(x), s, None if y is None else torch.as_tensor(y))


SMALL = dict(width=64, n_blocks=2, batch_size=256, device="cpu")


@pytest.mark.parametrize(
    ("objective", "weighting", "sigmas"),
    [
        # 1e4 lies far beyond the trained sigma_max = 100: the mean must tend to the prior mean
        ("ddpm", "v", (*SIGMAS, 30.0, 1e4)),
        ("ve_dsm", "v", (*SIGMAS, 30.0, 1e4)),
        # the plain eps loss all but ignores the posterior-mean error at large sigma
        ("ddpm", "eps", SIGMAS),
    ],
)
def test_learned_denoiser_matches_exact_gaussian_mmse(objective, weighting, sigmas):
    rng = np.random.default_rng(10)
    mu, C = gaussian_prior(1, 3)
    h = draw(rng, mu, C, 8192).reshape(8192, 3)
    cfg = ScoreConfig(
        network="mlp", objective=objective, weighting=weighting, n_iterations=300, **SMALL
    )
    model = train_score_model(h, config=cfg, seed=0, progress=False)
    s = model.scale
    # the RMS of the training rows (10 % are held out)
    assert s == pytest.approx(np.sqrt(np.mean(np.abs(h) ** 2)), rel=0.02)
    muz, Cz = mu / s, C / s**2
    for sigma in sigmas:
        x = draw(rng, muz, Cz, 2000) + sigma * crandn(rng, (2000, 3))
        exact, P = lmmse(muz, Cz, np.eye(3), sigma**2 * np.eye(3), x)
        err = np.mean(np.sum(np.abs(tweedie(model, x, sigma).numpy() - exact) ** 2, axis=1))
        # error of the learned posterior mean, relative to the exact posterior variance
        assert err < 0.05 * np.trace(P).real, (sigma, err / np.trace(P).real)
        # the untrained starting point (white prior, x / (1 + sigma^2)) is far off
        white = np.mean(np.sum(np.abs(x / (1 + sigma**2) - exact) ** 2, axis=1))
        assert err < 0.2 * white


def test_transformer_denoiser_matches_exact_gaussian_mmse_on_a_channel_matrix():
    rng = np.random.default_rng(12)
    shape, n = (2, 4), 8
    mu, C = gaussian_prior(4, n)
    C = C / n + 0.1 * np.eye(n)
    h = draw(rng, 0.3 * mu, C, 8192).reshape(-1, *shape)
    cfg = ScoreConfig(
        network="transformer",
        d_model=32,
        n_heads=2,
        dim_feedforward=64,
        n_encoder_layers=1,
        n_iterations=800,
        batch_size=128,
        lr=2e-3,
        device="cpu",
    )
    model = train_score_model(h, config=cfg, seed=0, progress=False)
    assert model.network.n_tokens == 2  # one token per row, the last axis is the patch
    s = model.scale
    muz, Cz = 0.3 * mu / s, C / s**2
    for sigma in (*SIGMAS, 30.0):
        x = draw(rng, muz, Cz, 2000) + sigma * crandn(rng, (2000, n))
        exact, P = lmmse(muz, Cz, np.eye(n), sigma**2 * np.eye(n), x)
        est = tweedie(model, x.reshape(-1, *shape), sigma).numpy().reshape(-1, n)
        err = np.mean(np.sum(np.abs(est - exact) ** 2, axis=1))
        assert err < 0.05 * np.trace(P).real, (sigma, err / np.trace(P).real)


def test_conditional_model_gives_both_conditional_and_null_token_denoisers():
    rng = np.random.default_rng(11)
    n, m, noise_var = 2, 2, 0.3
    mu, C = gaussian_prior(3, n)
    A = crandn(rng, (m, n))
    h = draw(rng, mu, C, 8192)
    y = h @ A.T + np.sqrt(noise_var) * crandn(rng, (8192, m))
    cfg = ScoreConfig(network="mlp", n_iterations=500, lr=3e-3, p_uncond=0.2, **SMALL)
    model = train_score_model(h, observations=y, config=cfg, seed=0, progress=False)
    assert model.obs_shape == (m,)
    s = model.scale
    muz, Cz = mu / s, C / s**2
    for sigma in SIGMAS:
        ht = draw(rng, mu, C, 1000)
        yt = ht @ A.T + np.sqrt(noise_var) * crandn(rng, (1000, m))
        x = ht / s + sigma * crandn(rng, (1000, n))
        uncond, Pu = lmmse(muz, Cz, np.eye(n), sigma**2 * np.eye(n), x)
        G = np.vstack([np.eye(n), s * A])
        R = np.diag([sigma**2] * n + [noise_var] * m)
        cond, Pc = lmmse(muz, Cz, G, R, np.hstack([x, yt]))
        err_u = np.mean(np.sum(np.abs(tweedie(model, x, sigma).numpy() - uncond) ** 2, 1))
        err_c = np.mean(np.sum(np.abs(tweedie(model, x, sigma, yt).numpy() - cond) ** 2, 1))
        gap = np.mean(np.sum(np.abs(cond - uncond) ** 2, 1))
        assert err_u < 0.05 * np.trace(Pu).real, (sigma, err_u / np.trace(Pu).real)
        assert err_c < 0.15 * gap, (sigma, err_c / gap)
        if sigma <= 1.0:
            assert err_c < 0.3 * np.trace(Pc).real, (sigma, err_c / np.trace(Pc).real)


TINY = ScoreConfig(
    width=16,
    n_blocks=1,
    d_model=16,
    n_heads=2,
    dim_feedforward=32,
    n_encoder_layers=1,
    n_decoder_layers=1,
    n_iterations=6,
    batch_size=8,
    device="cpu",
)


def _weights(model):
    return torch.cat([p.flatten() for p in model.network.state_dict().values()])


@pytest.mark.parametrize("network", ["mlp", "transformer"])
def test_training_is_bit_reproducible_and_seeded(network):
    rng = np.random.default_rng(0)
    h = crandn(rng, (40, 2, 4))
    y = crandn(rng, (40, 3))
    cfg = ScoreConfig(**{**TINY.__dict__, "network": network})
    before = torch.random.get_rng_state()
    a = train_score_model(h, observations=y, config=cfg, seed=3, progress=False)
    b = train_score_model(h, observations=y, config=cfg, seed=3, progress=False)
    c = train_score_model(h, observations=y, config=cfg, seed=4, progress=False)
    assert torch.equal(torch.random.get_rng_state(), before)  # global RNG untouched
    assert torch.equal(_weights(a), _weights(b))
    assert not torch.equal(_weights(a), _weights(c))
    assert isinstance(a, ScoreModel) and not a.training
    assert all(not p.requires_grad for p in a.parameters())


def test_zero_iterations_return_the_initial_network():
    h = crandn(np.random.default_rng(0), (10, 3))
    cfg = ScoreConfig(**{**TINY.__dict__, "n_iterations": 0})
    model = train_score_model(h, config=cfg, progress=False)
    x = torch.ones(2, 3, dtype=torch.complex128)
    torch.testing.assert_close(model.predict_noise(x, 2.0), x * 2 / 5)


def test_device_auto_picks_cuda_only_when_available(monkeypatch):
    from beamopt.score._torch import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"


GOOD = crandn(np.random.default_rng(0), (12, 2, 2))
GOOD_Y = crandn(np.random.default_rng(1), (12, 3))


def _nan(a):
    a = a.copy()
    a[3, 0] = np.nan
    return a


def _inf(a):
    a = a.copy()
    a.flat[5] = np.inf
    return a


@pytest.mark.parametrize(
    ("channels", "observations", "name"),
    [
        (_nan(GOOD), None, "channels"),
        (_inf(GOOD), GOOD_Y, "channels"),
        (GOOD[:, 0, 0], None, "channels"),  # no channel axes
        (np.zeros((0, 2, 2)), None, "channels"),
        (np.zeros((4, 2)), None, "channels"),  # identically zero: cannot be normalised
        (GOOD, _nan(GOOD_Y), "observations"),
        (GOOD, _inf(GOOD_Y), "observations"),
        (GOOD, GOOD_Y[:10], "observations"),  # one observation per channel
        (GOOD, GOOD_Y[:, 0], "observations"),
        (GOOD, np.full((12, 3), "a"), "observations"),
    ],
)
def test_bad_training_data_raise_value_error_naming_the_argument(channels, observations, name):
    with pytest.raises(ValueError, match=name):
        train_score_model(channels, observations=observations, config=TINY, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"objective": "sde"}, "objective"),
        ({"weighting": "snr"}, "weighting"),
        ({"network": "cnn"}, "network"),
        ({"p_uncond": 1.0}, "p_uncond"),
        ({"ema_decay": -0.1}, "ema_decay"),
        ({"lr": 0.0}, "lr"),
        ({"sigma_min": 2.0, "sigma_max": 1.0}, "sigma_min"),
        ({"batch_size": 0}, "batch_size"),
        ({"d_model": 15, "n_heads": 2}, "d_model"),
        ({"n_iterations": -1}, "n_iterations"),
    ],
)
def test_bad_config_is_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ScoreConfig(**kwargs)


def test_bad_seed_and_config_type():
    with pytest.raises(ValueError, match="seed"):
        train_score_model(GOOD, config=TINY, seed=-1, progress=False)
    with pytest.raises(ValueError, match="config"):
        train_score_model(GOOD, config={"n_iterations": 3}, progress=False)
