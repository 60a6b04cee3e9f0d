"""Likelihood guidance: DPS pulls draws onto the pilots; its step and inputs are checked.

(tmpd and pigdm are checked against the exact conditional score in test_samplers.)
"""

from __future__ import annotations

import numpy as np
import pytest

from beamopt.score import DiffusionPosterior, DiffusionPrior, GaussianDenoiser

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_dps_step_moves_the_draws_from_the_prior_onto_the_pilots_and_past_them(exact):
    """DPS's normalised step: too small leaves the prior's misfit, a moderate one fits the
    pilots (more tightly than the exact posterior does: its bias), a large one overshoots."""
    post, y = exact.gaussian_setup()
    den = GaussianDenoiser(post.prior_cov, post.prior_mean, scale=1.3)
    A = post.pilot_model.A

    def misfit(S):
        return np.mean(np.abs(S.reshape(len(S), -1) @ A.T - y) ** 2)

    def dps(step):
        sampler = DiffusionPosterior(
            den, post.pilot_model, method="dps", n_steps=100, step_size=step
        )
        assert sampler.n_evaluations == 100
        return misfit(sampler.sample(y, 300, seed=1))

    prior = misfit(DiffusionPrior(den, n_steps=100).sample(None, 300, seed=0))
    tiny, moderate, large = dps(0.001), dps(0.01), dps(0.3)
    assert moderate < 0.1 * prior and moderate < tiny and moderate < large
    assert moderate < misfit(post.sample(y, 300, seed=2))


def test_dps_batches_callbacks_and_seeds(exact):
    post, y = exact.gaussian_setup()
    den = GaussianDenoiser(post.prior_cov, post.prior_mean)
    sampler = DiffusionPosterior(den, post.pilot_model, method="dps", n_steps=4)
    seen = []
    S = sampler.sample(np.stack([y, y, y]), 2, seed=2, callback=lambda *a: seen.append(a[0]))
    assert S.shape == (3, 2, *exact.SHAPE)
    assert seen == [0, 1, 2, 3]
    np.testing.assert_array_equal(S, sampler.sample(np.stack([y, y, y]), 2, seed=2))
    with pytest.raises(ValueError, match="step_size"):
        DiffusionPosterior(den, post.pilot_model, method="dps", step_size=0.0)
