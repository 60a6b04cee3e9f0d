import numpy as np

from beamopt.beampattern import (
    angle_grid,
    dictionary_correlation,
    ideal_positions,
    impaired_positions,
    steering_matrix,
)


def test_true_steering_vectors_up_to_scale_correlate_perfectly():
    grid, pos = angle_grid(37), impaired_positions(8, rng=4)
    D = steering_matrix(grid, pos) * (0.3 - 2j) * np.linspace(1, 2, 37)
    np.testing.assert_allclose(dictionary_correlation(D, grid, pos), 1.0)


def test_ideal_model_of_an_impaired_array_is_imperfect_and_cauchy_schwarz_bounded():
    grid, pos = angle_grid(37), impaired_positions(8, rng=4)
    c = dictionary_correlation(steering_matrix(grid, ideal_positions(8)), grid, pos)
    assert np.all(c <= 1 + 1e-12)
    assert c.min() < 0.999
    np.testing.assert_allclose(c[18], 1.0)  # broadside: positions do not matter
