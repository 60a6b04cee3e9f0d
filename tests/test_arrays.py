import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import beamopt

angles = st.floats(min_value=-1.5, max_value=1.5)
sizes = st.integers(min_value=1, max_value=32)


@given(sizes, angles)
def test_steering_vector_matches_definition(n, phi):
    expected = np.array([np.exp(1j * np.pi * (k - (n - 1) / 2) * np.sin(phi)) for k in range(n)])
    np.testing.assert_allclose(beamopt.steering_vector(n, phi), expected, rtol=1e-13, atol=1e-13)


@given(sizes, angles)
def test_derivative_matches_central_difference(n, phi):
    h = 1e-6
    fd = (beamopt.steering_vector(n, phi + h) - beamopt.steering_vector(n, phi - h)) / (2 * h)
    np.testing.assert_allclose(beamopt.steering_vector_derivative(n, phi), fd, atol=1e-7 * n)


@given(st.integers(min_value=2, max_value=64), angles)
def test_midpoint_reference_properties(n, phi):
    a = beamopt.steering_vector(n, phi)
    da = beamopt.steering_vector_derivative(n, phi)
    # Orthogonality from the midpoint reference and the closed-form derivative norm
    assert abs(np.vdot(a, da)) < 1e-9 * n**2
    expected = np.pi**2 * np.cos(phi) ** 2 * n * (n**2 - 1) / 12
    assert np.isclose(np.vdot(da, da).real, expected, rtol=1e-10, atol=1e-12)


def test_vectorised_over_angles():
    phis = np.linspace(-1, 1, 12).reshape(3, 4)
    A = beamopt.steering_vector(8, phis)
    assert A.shape == (3, 4, 8)
    np.testing.assert_allclose(A[2, 1], beamopt.steering_vector(8, phis[2, 1]))
    assert beamopt.steering_vector_derivative(8, phis).shape == (3, 4, 8)


@pytest.mark.parametrize("bad", [np.nan, np.inf, [0.1, np.nan]])
def test_non_finite_angle_rejected(bad):
    with pytest.raises(ValueError, match="angle"):
        beamopt.steering_vector(4, bad)


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_size_rejected(n):
    with pytest.raises(ValueError, match="n must be an integer"):
        beamopt.steering_vector(n, 0.1)
