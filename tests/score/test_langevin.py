"""Annealed Langevin posterior sampling: the NCSNv2 step rule and the Gaussian limit."""

from __future__ import annotations

import numpy as np
import pytest

from beamopt.score import DiffusionPosterior, GaussianDenoiser
from beamopt.score.langevin import ncsn_step_size

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _variance_after_level(u, gamma, T):
    """Variance (in units of sigma^2) after T Langevin steps on N(0, sigma^2), simulated by
    the recursion Var <- (1 - u)^2 Var + 2 u from Var = gamma^2 (independent of the closed
    form the rule solves)."""
    var = gamma**2
    for _ in range(T):
        var = (1 - u) ** 2 * var + 2 * u
    return var


@pytest.mark.parametrize(("gamma", "T"), [(1.05, 3), (1.01, 10), (1.2, 5), (1.5, 1)])
def test_ncsn_step_keeps_the_variance_on_schedule(gamma, T):
    u = ncsn_step_size(gamma, T)
    assert 0 < u < 1
    got = _variance_after_level(u, gamma, T)
    # the step is the best one: no other step brings the variance closer to sigma^2
    grid = np.geomspace(1e-6, 0.99, 2000)
    best = min(abs(_variance_after_level(g, gamma, T) - 1) for g in grid)
    assert abs(got - 1) <= best + 1e-6


def test_ncsn_step_rejects_bad_inputs():
    with pytest.raises(ValueError, match="gamma"):
        ncsn_step_size(0.9, 3)
    with pytest.raises(ValueError, match="steps_per_level"):
        ncsn_step_size(1.1, 0)


def test_langevin_bias_shrinks_with_more_steps_per_level(exact):
    """Three steps per level (NCSNv2's setting) leave the draws off the Gaussian posterior
    (mean off by ~0.15 of its spread, spread inflated ~1.4x: the documented bias); twenty
    steps per level come closer in both."""
    post, y = exact.gaussian_setup()
    den = GaussianDenoiser(post.prior_cov, post.prior_mean, scale=1.4)
    C = post.covariance
    tr = np.trace(C).real
    n = 1500

    def errors(T):
        sampler = DiffusionPosterior(
            den, post.pilot_model, method="langevin", n_steps=60, steps_per_level=T
        )
        assert sampler.n_evaluations == 60 * T + 1
        f = sampler.sample(y, n, seed=0).reshape(n, -1)
        err = np.linalg.norm(f.mean(0) - post.mean(y).reshape(-1)) / np.sqrt(tr)
        return err, np.sum(np.abs(f - f.mean(0)) ** 2) / n / tr

    err3, spread3 = errors(3)
    err20, spread20 = errors(20)
    assert err20 < 0.12 and err20 < err3 - 0.03, (err3, err20)
    assert 1.0 < spread20 < spread3 < 2.0, (spread3, spread20)


def test_langevin_inputs_and_batches(exact):
    post, y = exact.gaussian_setup()
    den = GaussianDenoiser(post.prior_cov, post.prior_mean)
    with pytest.raises(ValueError, match="sigma_range"):
        DiffusionPosterior(den, post.pilot_model, method="langevin", sigma_range=(1.0, 0.1))
    with pytest.raises(ValueError, match="steps_per_level"):
        DiffusionPosterior(den, post.pilot_model, method="langevin", steps_per_level=0)
    with pytest.raises(ValueError, match="step_size"):
        DiffusionPosterior(den, post.pilot_model, method="langevin", step_size=-1.0)
    sampler = DiffusionPosterior(
        den, post.pilot_model, method="langevin", n_steps=5, sigma_range=(0.05, 5.0)
    )
    S = sampler.sample(np.stack([y, y]), 3, seed=1)
    assert S.shape == (2, 3, *exact.SHAPE) and np.all(np.isfinite(S))
    np.testing.assert_array_equal(S, sampler.sample(np.stack([y, y]), 3, seed=1))
