import numpy as np

import beamopt
from beamopt.beampattern import ideal_positions, impaired_positions, steering_matrix


def test_ideal_array_matches_the_foundation_steering_vector():
    ang = np.deg2rad([-70.0, -10.0, 0.0, 33.0])
    A = steering_matrix(ang, ideal_positions(8))
    np.testing.assert_allclose(A.T, beamopt.steering_vector(8, ang), atol=1e-12)


def test_impaired_spacings_have_the_requested_statistics():
    p = impaired_positions(4001, rng=0, sigma=1 / 30)
    d = np.diff(p)
    assert abs(d.mean() - 0.5) < 4 * (1 / 30) / np.sqrt(d.size)
    assert abs(d.std() - 1 / 30) < 0.05 * (1 / 30)
    np.testing.assert_allclose(p.mean(), 0.0, atol=1e-9)


def test_zero_sigma_is_the_ideal_array():
    np.testing.assert_allclose(impaired_positions(16, rng=3, sigma=0.0), ideal_positions(16))
