r"""The discriminative MSE estimator against the closed-form LMMSE estimate.

For $h \sim \mathcal{CN}(0, C)$ and $y = A h + n$, $n \sim \mathcal{CN}(0, \sigma^2 I)$, the
MMSE estimator is linear: $\hat h = C A^H (A C A^H + \sigma^2 I)^{-1} y$.
"""

from __future__ import annotations

import numpy as np
import pytest

from beamopt.score import ChannelEstimator, ScoreConfig, train_estimator


def crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def gaussian_linear_model(seed=2, n=4, m=3, noise_var=0.1):
    rng = np.random.default_rng(seed)
    G = crandn(rng, (n, n)) / np.sqrt(2)
    C = G @ G.conj().T + 0.1 * np.eye(n)
    A = crandn(rng, (m, n))
    W = C @ A.conj().T @ np.linalg.inv(A @ C @ A.conj().T + noise_var * np.eye(m))
    L = np.linalg.cholesky(C)

    def draw(N):
        h = crandn(rng, (N, n)) @ L.T
        return h, h @ A.T + np.sqrt(noise_var) * crandn(rng, (N, m))

    return W, C, draw


def test_estimator_approaches_the_lmmse_estimate():
    W, C, draw = gaussian_linear_model()
    h, y = draw(8192)
    cfg = ScoreConfig(
        network="mlp", width=64, n_iterations=400, lr=3e-3, batch_size=256, device="cpu"
    )
    est = train_estimator(h.reshape(-1, 2, 2), y, config=cfg, seed=0, progress=False)
    ht, yt = draw(4000)
    out = est.estimate(yt)
    assert out.shape == (4000, 2, 2) and out.dtype == np.complex128
    out = out.reshape(4000, -1)
    lmmse = yt @ W.T
    mse_lmmse = np.mean(np.sum(np.abs(lmmse - ht) ** 2, 1))
    mse_est = np.mean(np.sum(np.abs(out - ht) ** 2, 1))
    assert mse_lmmse <= mse_est < 1.1 * mse_lmmse, (mse_est, mse_lmmse)
    assert np.mean(np.sum(np.abs(out - lmmse) ** 2, 1)) < 0.1 * mse_lmmse
    assert mse_lmmse < 0.2 * np.trace(C).real  # the pilots are informative: not a trivial bar


@pytest.mark.parametrize(("shape", "obs_shape"), [((2, 3, 4), (5,)), ((6,), (2, 2))])
def test_transformer_estimator_shapes_and_single_observation(shape, obs_shape):
    rng = np.random.default_rng(0)
    h = crandn(rng, (30, *shape))
    y = crandn(rng, (30, *obs_shape))
    cfg = ScoreConfig(
        network="transformer",
        d_model=16,
        n_heads=2,
        dim_feedforward=32,
        n_iterations=3,
        batch_size=8,
        device="cpu",
    )
    est = train_estimator(h, y, config=cfg, progress=False)
    assert isinstance(est, ChannelEstimator)
    assert est.estimate(y[:7]).shape == (7, *shape)
    np.testing.assert_allclose(est.estimate(y[2]), est.estimate(y[:3])[2:3], rtol=1e-5, atol=1e-6)


def test_estimator_input_validation():
    rng = np.random.default_rng(0)
    h, y = crandn(rng, (10, 2, 2)), crandn(rng, (10, 3))
    cfg = ScoreConfig(width=8, n_blocks=1, n_iterations=1, batch_size=4, device="cpu")
    with pytest.raises(ValueError, match="observations"):
        train_estimator(h, y[:9], config=cfg, progress=False)
    bad = y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="observations"):
        train_estimator(h, bad, config=cfg, progress=False)
    with pytest.raises(ValueError, match="channels"):
        train_estimator(h[:, 0, 0], y, config=cfg, progress=False)
    est = train_estimator(h, y, config=cfg, progress=False)
    with pytest.raises(ValueError, match="y must have shape"):
        est.estimate(crandn(rng, (4, 2)))
    with pytest.raises(ValueError, match="y must be finite"):
        est.estimate(bad)


def test_an_estimator_that_never_beats_its_untrained_self_warns():
    """Held-out pairs with the sign of the channel flipped: every step towards the training
    pairs' LMMSE raises the held-out loss, so the kept weights are the untrained ones (a zero
    estimate), and the user is told so instead of finding out from a rank-0 precoder."""
    from beamopt.training import TrainingWarning

    _, _, draw = gaussian_linear_model()
    h, y = draw(400)
    h_val, y_val = draw(200)
    cfg = ScoreConfig(network="mlp", width=16, n_iterations=6, warmup=1, batch_size=64,
                      eval_every=1, ema_decay=0.0, device="cpu")  # fmt: skip
    with pytest.warns(TrainingWarning, match="never fell below the untrained"):
        est = train_estimator(
            h.reshape(-1, 2, 2),
            y,
            config=cfg,
            validation=(-h_val.reshape(-1, 2, 2), y_val),
            seed=0,
            progress=False,
        )
    assert est.history.best_iteration == 0
    np.testing.assert_array_equal(est.estimate(y[:3]), 0)
