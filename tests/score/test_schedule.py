"""Noise schedules against their defining formulas (Nichol and Dhariwal; geometric VE levels)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from beamopt.score.schedule import (
    abar_from_sigma,
    cosine_abar,
    cosine_sigma,
    cosine_time,
    ddpm_abar,
    sigma_from_abar,
    ve_sigmas,
)


def _f(t, s=0.008):
    return math.cos((t + s) / (1 + s) * math.pi / 2) ** 2


@pytest.mark.parametrize("t", [0.0, 0.1, 0.37, 0.5, 0.9])
def test_cosine_abar_is_the_ratio_of_squared_cosines(t):
    assert cosine_abar(t) == pytest.approx(_f(t) / _f(0.0), rel=1e-12)


def test_cosine_abar_endpoints_and_monotone():
    t = np.linspace(0, 1, 201)
    a = cosine_abar(t)
    assert a[0] == pytest.approx(1.0)
    assert a[-1] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(a) < 0)


def test_sigma_abar_round_trip_and_ddpm_state_equivalence():
    # x_t = sqrt(abar) z + sqrt(1 - abar) eps  <=>  x_t / sqrt(abar) = z + sigma eps
    abar = np.array([0.999, 0.7, 0.2, 1e-4])
    sigma = sigma_from_abar(abar)
    np.testing.assert_allclose(np.sqrt(1 - abar) / np.sqrt(abar), sigma, rtol=1e-12)
    np.testing.assert_allclose(abar_from_sigma(sigma), abar, rtol=1e-12)


def test_stable_cosine_sigma_matches_the_direct_conversion():
    t = np.linspace(0.001, 0.99, 50)
    np.testing.assert_allclose(cosine_sigma(t), sigma_from_abar(cosine_abar(t)), rtol=1e-9)
    assert cosine_sigma(0.0) == 0.0
    assert cosine_sigma(1.0) > 1e12


def test_cosine_time_inverts_cosine_sigma():
    sigma = np.geomspace(1e-3, 1e3, 25)
    np.testing.assert_allclose(cosine_sigma(cosine_time(sigma)), sigma, rtol=1e-8)


def test_functions_accept_torch_and_floats():
    t = torch.tensor([0.2, 0.6], dtype=torch.float64)
    out = cosine_sigma(t)
    assert torch.is_tensor(out)
    np.testing.assert_allclose(out.numpy(), cosine_sigma(t.numpy()), rtol=1e-12)
    assert isinstance(cosine_abar(0.3), float)
    assert torch.is_tensor(cosine_time(torch.tensor([0.5])))


def test_ddpm_abar_follows_the_continuous_schedule_until_beta_is_clipped():
    T = 1000
    a = ddpm_abar(T)
    grid = cosine_abar(np.arange(1, T + 1) / T)
    # away from t = 1 no beta is clipped, so the product telescopes to abar(i / T)
    np.testing.assert_allclose(a[:-20], grid[:-20], rtol=1e-9)
    beta = 1 - a[1:] / a[:-1]
    assert beta.max() <= 0.999 + 1e-12
    assert a[-1] > 0


def test_ve_sigmas_are_geometric_and_descending():
    s = ve_sigmas(5, 0.01, 100.0)
    assert s[0] == pytest.approx(100.0) and s[-1] == pytest.approx(0.01)
    np.testing.assert_allclose(s[1:] / s[:-1], 0.1, rtol=1e-12)
    assert ve_sigmas(1, 0.1, 1.0).tolist() == [1.0]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: ve_sigmas(0, 0.1, 1.0), "n_levels"),
        (lambda: ve_sigmas(3, 1.0, 0.1), "sigma_min"),
        (lambda: ve_sigmas(3, -1.0, 0.1), "sigma_min"),
        (lambda: ddpm_abar(0), "n_steps"),
        (lambda: ddpm_abar(10, max_beta=1.0), "max_beta"),
    ],
)
def test_bad_arguments_are_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()
