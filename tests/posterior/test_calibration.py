"""posterior_calibration: 1 for the exact posterior, the variance ratio for a scaled one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import beamopt


def _crandn(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def _problem(n_pairs=400, seed=0):
    rng = np.random.default_rng(seed)
    shape = (2, 3)
    m = 6
    B = _crandn(rng, (m, m))
    C = B @ B.conj().T / m + 0.1 * np.eye(m)
    obs = beamopt.LinearObservation(_crandn(rng, (3, m)), shape, 0.2)
    post = beamopt.GaussianPosterior(C, obs)
    H = post.sample_prior(n_pairs, seed=rng)
    return post, H, obs.observe(H, seed=rng)


@dataclass
class Scaled:
    """The exact posterior with its spread about the mean scaled by `k`."""

    post: object
    k: float

    def sample(self, y, n_samples, *, seed=None):
        draws = self.post.sample(y, n_samples, seed=seed)
        mean = self.post.mean(y)
        return mean + self.k * (draws - mean)


def test_exact_posterior_is_calibrated_and_its_errors_match_the_closed_form():
    post, H, Y = _problem()
    res = beamopt.posterior_calibration(post, H, Y, n_samples=8, seed=1)
    assert abs(res.ratio - 1.0) < 3 * res.ratio_se and res.ratio_se < 0.05
    mmse = np.real(np.trace(post.covariance))
    power = np.mean(np.sum(np.abs(H.reshape(len(H), -1)) ** 2, axis=1))
    # estimated exact-mean NMSE, S-sample-mean NMSE (1 + 1/S) and one draw (2x), closed form
    assert res.nmse_mean == pytest.approx(mmse / power, rel=0.12)
    assert res.nmse == pytest.approx((1 + 1 / 8) * mmse / power, rel=0.12)
    assert res.one_sample_nmse == pytest.approx(2 * mmse / power, rel=0.12)
    assert "ratio=" in repr(res) and len(repr(res)) < 300


@pytest.mark.parametrize("k", [0.5, 2.0])
def test_a_too_narrow_or_too_wide_posterior_is_flagged(k):
    post, H, Y = _problem()
    res = beamopt.posterior_calibration(Scaled(post, k), H, Y, n_samples=8, seed=1)
    # spread k^2 tr C; error (1 + k^2 / S) tr C
    expected = (1 + 1 / 8) * k**2 / (1 + k**2 / 8)
    assert res.ratio == pytest.approx(expected, rel=0.1)
    assert abs(res.ratio - 1.0) > 5 * res.ratio_se


def test_bad_inputs_name_the_parameter():
    post, H, Y = _problem(4)
    with pytest.raises(ValueError, match="n_samples"):
        beamopt.posterior_calibration(post, H, Y, n_samples=1)
    with pytest.raises(ValueError, match="one observation per channel"):
        beamopt.posterior_calibration(post, H, Y[:2])
    with pytest.raises(ValueError, match="sample"):
        beamopt.posterior_calibration(object(), H, Y)
