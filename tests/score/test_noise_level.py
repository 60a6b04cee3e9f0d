"""`append_noise_level` / `check_noise_row`: the noise-level row of a noise-aware model."""

from __future__ import annotations

import numpy as np
import pytest

from beamopt.score import append_noise_level
from beamopt.score.noise_level import check_noise_row


def test_the_row_holds_each_drops_noise_standard_deviation():
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((5, 3, 4)) + 1j * rng.standard_normal((5, 3, 4))
    v = np.array([0.1, 1.0, 2.0, 0.5, 10.0])
    out = append_noise_level(Y, v)
    assert out.shape == (5, 4, 4)
    np.testing.assert_array_equal(out[:, :3], Y)
    np.testing.assert_allclose(out[:, 3], np.sqrt(v)[:, None] * np.ones((1, 4)))
    check_noise_row(out)  # what it builds passes the training-time check


def test_rows_are_flattened_and_one_row_per_drop_is_accepted():
    Y = np.ones((2, 2, 3, 4), complex)
    assert append_noise_level(Y, 0.5).shape == (2, 7, 4)
    assert append_noise_level(np.ones((2, 4), complex), [1.0, 2.0]).shape == (2, 2, 4)


def test_bad_input_names_the_parameter():
    Y = np.ones((2, 3, 4), complex)
    with pytest.raises(ValueError, match="noise_var must be > 0"):
        append_noise_level(Y, [1.0, 0.0])
    with pytest.raises(ValueError, match="observations must have shape"):
        append_noise_level(np.ones(3, complex), 1.0)
    with pytest.raises(ValueError, match="n_rows >= 2"):
        check_noise_row(np.ones((2, 4), complex))
    bad = append_noise_level(Y, 1.0)
    bad[1, -1, 2] = 3.0  # not one value per drop
    with pytest.raises(ValueError, match="drop 1"):
        check_noise_row(bad)
    with pytest.raises(ValueError, match=r"observations\[:, -1\]"):
        check_noise_row(np.concatenate([Y, -np.ones((2, 1, 4))], axis=1))
