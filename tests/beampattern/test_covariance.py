import numpy as np
import pytest

from beamopt.beampattern import (
    angle_grid,
    covariance_beampattern,
    desired_pattern,
    ideal_positions,
    match_covariance_pattern,
)

K = 6


def test_reachable_pattern_is_matched_exactly_under_per_antenna_power():
    # a constant-modulus beam satisfies R_kk = E/K, so its own pattern is reachable
    rng = np.random.default_rng(0)
    x0 = np.exp(2j * np.pi * rng.random(K)) * np.sqrt(2.0 / K)
    R0 = np.outer(x0, x0.conj())
    grid, pos = angle_grid(61), ideal_positions(K)
    d = covariance_beampattern(R0, grid, pos)
    np.testing.assert_allclose(
        d, np.abs(x0 @ np.exp(2j * np.pi * pos[:, None] * np.sin(grid))) ** 2
    )
    res = match_covariance_pattern(3.0 * d, grid, pos, energy=2.0, constraint="per_antenna")
    assert res.success
    np.testing.assert_allclose(np.diag(res.R).real, 2.0 / K, atol=1e-6)
    np.testing.assert_allclose(res.scale * 3.0 * d, res.pattern, atol=1e-4 * d.max())
    np.testing.assert_allclose(res.pattern, d, atol=1e-4 * d.max())


def test_total_power_design_is_no_worse_than_per_antenna():
    grid, pos = angle_grid(61), ideal_positions(K)
    d = desired_pattern(grid, (-30.0, 10.0))
    tot = match_covariance_pattern(d, grid, pos, constraint="total")
    per = match_covariance_pattern(d, grid, pos, constraint="per_antenna")
    assert np.isclose(np.trace(tot.R).real, 1.0, atol=1e-6)
    assert np.linalg.eigvalsh(tot.R).min() > -1e-6
    assert tot.objective <= per.objective + 1e-6


def test_bad_constraint_raises():
    grid = angle_grid(11)
    with pytest.raises(ValueError, match="constraint"):
        match_covariance_pattern(np.ones(11), grid, ideal_positions(4), constraint="peak")
