"""check_conditioning / denoising_nmse against exact Gaussian conditional denoisers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import beamopt
from beamopt.score import ScoreConfig, check_conditioning, denoising_nmse, train_score_model
from beamopt.training import TrainingWarning

pytestmark = pytest.mark.torch


def crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


RNG = np.random.default_rng(4)
N = 4
B = crandn(RNG, (N, N))
C = B @ B.conj().T / N + 0.05 * np.eye(N)
A = crandn(RNG, (2, N))
S2 = 0.05


class ExactModel:
    """E[z | x, y] of z ~ CN(0, C), x = z + sigma eps, y = A z + CN(0, S2 I) (scale 1)."""

    channel_shape, obs_shape, scale, sigma_max = (N,), (2,), 1.0, 100.0
    device = torch.device("cpu")

    def __init__(self, ignore_y=False):
        self.ignore_y = ignore_y

    def denoise(self, x, sigma, y=None):
        s2 = float(sigma[0]) ** 2
        xs = x.numpy().astype(complex)
        if y is None or self.ignore_y:
            out = xs @ np.linalg.solve(C + s2 * np.eye(N), C).T
        else:
            G = np.vstack([np.eye(N), A])
            R = np.diag(np.r_[np.full(N, s2), np.full(2, S2)])
            K = C @ G.conj().T @ np.linalg.inv(G @ C @ G.conj().T + R)
            out = np.hstack([xs, y.numpy().astype(complex)]) @ K.T
        return torch.as_tensor(out)


def pairs(n, seed):
    rng = np.random.default_rng(seed)
    h = crandn(rng, (n, N)) @ np.linalg.cholesky(C).T
    y = h @ A.T + np.sqrt(S2) * crandn(rng, (n, 2))
    return h, y


def test_denoising_nmse_matches_the_exact_conditional_error():
    h, y = pairs(20_000, 0)
    m = ExactModel()
    G, sig = A, 100.0
    # at sigma = 100 x carries ~nothing: the conditional error is the pilot-only MMSE
    P = C - C @ G.conj().T @ np.linalg.inv(G @ C @ G.conj().T + S2 * np.eye(2)) @ G @ C
    exact = np.real(np.trace(P)) / np.real(np.trace(C))
    assert denoising_nmse(m, h, y, sigma=sig) == pytest.approx(exact, rel=0.05)
    assert denoising_nmse(m, h, y, sigma=sig, null=True) == pytest.approx(1.0, rel=0.03)


def test_a_model_that_ignores_its_pilots_fails_and_the_exact_one_passes():
    h, y = pairs(2000, 1)
    train = pairs(4000, 2)
    good = check_conditioning(ExactModel(), h, y, train=train)
    assert good.ok and good.conditional_nmse < 0.5 * good.null_nmse
    # the exact conditional mean is the LMMSE for a Gaussian model
    assert good.conditional_nmse == pytest.approx(good.lmmse_nmse, rel=0.1)
    with pytest.warns(TrainingWarning, match="barely uses its observations"):
        bad = check_conditioning(ExactModel(ignore_y=True), h, y, train=train, warn=True)
    assert not bad.ok and "LMMSE" in bad.message
    assert not check_conditioning(ExactModel(ignore_y=True), h, y).ok  # ratio rule


def test_training_warns_when_the_model_ignores_its_pilots():
    # no optimiser step: the preconditioned network cannot read y yet
    h, y = pairs(600, 3)
    cfg = ScoreConfig(network="mlp", width=16, n_blocks=1, n_iterations=0, device="cpu")
    with pytest.warns(TrainingWarning, match="barely uses its observations"):
        model = train_score_model(h, observations=y, config=cfg, progress=False)
    assert model.history.n_iterations == 0 and model.history.has_validation
    assert isinstance(model.history, beamopt.TrainingHistory)
