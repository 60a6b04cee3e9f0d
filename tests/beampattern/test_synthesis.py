import cvxpy as cp
import numpy as np
import pytest

from beamopt.beampattern import (
    angle_grid,
    beampattern,
    desired_pattern,
    ideal_positions,
    impaired_positions,
    ls_beam,
    mix_beams,
    sector_beam,
    steering_matrix,
)

K, N_GRID = 8, 91


@pytest.fixture
def A():
    return steering_matrix(angle_grid(N_GRID), impaired_positions(K, rng=2))


def test_ls_beam_solves_the_normal_equations(A):
    b = desired_pattern(angle_grid(N_GRID), (-40.0, -20.0))
    x_ne = np.linalg.solve(A.conj() @ A.T, A.conj() @ b)
    x = ls_beam(A, b, energy=2.0)
    np.testing.assert_allclose(x, np.sqrt(2.0) * x_ne / np.linalg.norm(x_ne), atol=1e-9)
    assert np.isclose(np.linalg.norm(x) ** 2, 2.0)


def test_ls_beam_matches_a_cvxpy_least_squares_solve(A):
    b = desired_pattern(angle_grid(N_GRID), (10.0, 35.0))
    xv = cp.Variable(K, complex=True)
    cp.Problem(cp.Minimize(cp.sum_squares(b - A.T @ xv))).solve(solver="CLARABEL")
    ref = xv.value / np.linalg.norm(xv.value)
    np.testing.assert_allclose(ls_beam(A, b), ref, atol=1e-6)


def test_ls_beam_is_batched_over_sectors(A):
    grid = angle_grid(N_GRID)
    sectors = np.array([[-40.0, -20.0], [30.0, 50.0], [-10.0, 10.0]])
    X = ls_beam(A, desired_pattern(grid, sectors))
    for x, s in zip(X, sectors):
        np.testing.assert_allclose(x, ls_beam(A, desired_pattern(grid, s)), atol=1e-12)


def test_sector_beam_points_into_its_sector():
    x = sector_beam((-40.0, -20.0), 16)
    ang = np.deg2rad(np.arange(-90, 91))
    p = beampattern(x, ang)
    inside = (np.rad2deg(ang) >= -40) & (np.rad2deg(ang) <= -20)
    assert p[inside].min() > 10 * p[np.abs(np.rad2deg(ang) + 30) > 30].max()
    # |a^T x|^2 by hand
    a = steering_matrix(ang, ideal_positions(16))
    np.testing.assert_allclose(p, np.abs(a.T @ x) ** 2)


def test_mixed_beam_meets_the_budget_and_the_endpoints(A):
    grid = angle_grid(N_GRID)
    xr = ls_beam(A, desired_pattern(grid, (-40.0, -20.0)))
    xc = ls_beam(A, desired_pattern(grid, (30.0, 50.0)))
    rho = np.linspace(0, 1, 11)
    V = mix_beams(xr, xc, rho, phi=0.7, energy=3.0)
    np.testing.assert_allclose(np.linalg.norm(V, axis=-1) ** 2, 3.0)
    np.testing.assert_allclose(V[-1], np.sqrt(3.0) * xr, atol=1e-12)
    np.testing.assert_allclose(V[0], np.sqrt(3.0) * np.exp(0.7j) * xc, atol=1e-12)


@pytest.mark.parametrize("rho", [-0.1, 1.5, [0.2, 2.0]])
def test_rho_outside_unit_interval_raises(rho):
    x = np.ones(4, complex)
    with pytest.raises(ValueError, match="rho"):
        mix_beams(x, x, rho)


@pytest.mark.parametrize("energy", [0.0, -1.0])
def test_non_positive_energy_raises(A, energy):
    b = desired_pattern(angle_grid(N_GRID), (0.0, 20.0))
    with pytest.raises(ValueError, match="energy"):
        ls_beam(A, b, energy=energy)
    with pytest.raises(ValueError, match="energy"):
        mix_beams(np.ones(4), np.ones(4), 0.5, energy=energy)


def test_sector_beam_size_follows_positions_and_refuses_a_mismatch():
    assert sector_beam((-40.0, -20.0)).shape == (16,)
    assert sector_beam((-40.0, -20.0), positions=ideal_positions(8)).shape == (8,)
    with pytest.raises(ValueError, match="n_tx=16 but positions has 8 elements"):
        sector_beam((-40.0, -20.0), n_tx=16, positions=ideal_positions(8))
