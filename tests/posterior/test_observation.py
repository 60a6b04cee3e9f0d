"""Linear pilot model and sounding masks."""

from __future__ import annotations

import numpy as np
import pytest

import beamopt


def _random_channel(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def test_observe_is_linear_map_plus_circular_noise():
    rng = np.random.default_rng(0)
    shape = (2, 3)
    A = _random_channel(rng, (4, 6))
    obs = beamopt.LinearObservation(A, shape, noise_var=0.3)
    H = _random_channel(rng, shape)
    np.testing.assert_allclose(obs.apply(H), A @ H.reshape(-1))
    n = 40_000
    y = obs.observe(np.broadcast_to(H, (n, *shape)), seed=1)
    noise = y - A @ H.reshape(-1)
    tol = 5.0 / np.sqrt(n)
    np.testing.assert_allclose(noise.mean(axis=0), 0.0, atol=tol * np.sqrt(0.3))
    emp = noise.T @ noise.conj() / n
    np.testing.assert_allclose(emp, 0.3 * np.eye(4), atol=tol * 0.3 * 2)
    # Circularity: E[n n^T] = 0 for complex Gaussian noise.
    np.testing.assert_allclose(noise.T @ noise / n, 0.0, atol=tol * 0.3 * 2)


def test_observe_is_seeded_and_batched():
    obs = beamopt.LinearObservation(np.eye(3), (3,), 1.0)
    H = np.zeros((5, 3))
    np.testing.assert_array_equal(obs.observe(H, seed=4), obs.observe(H, seed=4))
    assert obs.observe(H, seed=4).shape == (5, 3)


def test_mask_observation_selects_entries_in_boolean_index_order():
    rng = np.random.default_rng(1)
    shape = (3, 4, 2, 2)
    mask = rng.random((3, 4)) < 0.5
    obs = beamopt.LinearObservation.from_mask(mask, shape, 0.1)
    H = _random_channel(rng, shape)
    np.testing.assert_array_equal(obs.apply(H), H[mask].reshape(-1))
    full = rng.random(shape) < 0.3
    obs_full = beamopt.LinearObservation.from_mask(full, shape, 0.1)
    np.testing.assert_array_equal(obs_full.apply(H), H[full])


def test_pilot_observation_is_channel_times_pilots():
    rng = np.random.default_rng(2)
    shape = (4, 2, 3)  # (n_subcarriers, n_rx, n_tx)
    mask = beamopt.comb_mask(4, 2, offset=1)
    P = _random_channel(rng, (3, 2))
    obs = beamopt.LinearObservation.from_mask(mask, shape, 0.1, pilots=P)
    H = _random_channel(rng, shape)
    expected = np.stack([H[k] @ P for k in np.flatnonzero(mask)]).reshape(-1)
    np.testing.assert_allclose(obs.apply(H), expected)


def test_no_pilots_gives_empty_observation():
    obs = beamopt.LinearObservation.from_mask(np.zeros(4, bool), (4, 2, 2), 1.0)
    assert obs.n_obs == 0 and obs.n_channel == 16
    assert obs.observe(np.ones((4, 2, 2)), seed=0).shape == (0,)


def test_comb_mask():
    mask = beamopt.comb_mask(10, 3, offset=1)
    np.testing.assert_array_equal(np.flatnonzero(mask), [1, 4, 7])
    assert beamopt.comb_mask(5, 1).all()


def test_hopping_mask_cycles_through_all_bands():
    n_time, n_sc, band = 6, 12, 4
    mask = beamopt.hopping_mask(n_time, n_sc, band_size=band)
    assert mask.shape == (n_time, n_sc)
    for t in range(n_time):
        b = t % 3
        expected = np.zeros(n_sc, bool)
        expected[b * band : (b + 1) * band] = True
        np.testing.assert_array_equal(mask[t], expected)
    # Three consecutive hops sound the whole band exactly once.
    np.testing.assert_array_equal(mask[:3].sum(axis=0), 1)


def test_hopping_mask_with_comb_and_ragged_last_band():
    mask = beamopt.hopping_mask(3, 10, band_size=4, spacing=2, offset=1, first_band=1)
    np.testing.assert_array_equal(np.flatnonzero(mask[0]), [5, 7])
    np.testing.assert_array_equal(np.flatnonzero(mask[1]), [9])
    np.testing.assert_array_equal(np.flatnonzero(mask[2]), [1, 3])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"A": np.eye(3), "channel_shape": (2, 2), "noise_var": 1.0}, "A must have shape"),
        ({"A": np.eye(4), "channel_shape": (2, 2), "noise_var": 0.0}, "noise_var"),
        ({"A": np.eye(4), "channel_shape": (2, 2), "noise_var": np.nan}, "noise_var"),
        ({"A": np.full((4, 4), np.inf), "channel_shape": (2, 2), "noise_var": 1.0}, "finite"),
        ({"A": np.eye(4), "channel_shape": (4, 0), "noise_var": 1.0}, "channel_shape"),
        ({"A": np.eye(4), "channel_shape": (), "noise_var": 1.0}, "channel_shape"),
    ],
)
def test_bad_linear_observation_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        beamopt.LinearObservation(**kwargs)


def test_bad_masks_and_channels_raise():
    with pytest.raises(ValueError, match="prefix"):
        beamopt.LinearObservation.from_mask(np.ones(3, bool), (4, 2, 2), 1.0)
    with pytest.raises(ValueError, match="boolean"):
        beamopt.LinearObservation.from_mask(np.ones(4), (4, 2, 2), 1.0)
    with pytest.raises(ValueError, match="pilots"):
        beamopt.LinearObservation.from_mask(np.ones(4, bool), (4, 2, 2), 1.0, pilots=np.eye(3))
    with pytest.raises(ValueError, match="with pilots"):
        beamopt.LinearObservation.from_mask(np.ones((4, 2), bool), (4, 2, 2), 1.0, pilots=np.eye(2))
    obs = beamopt.LinearObservation.from_mask(np.ones(4, bool), (4, 2, 2), 1.0)
    with pytest.raises(ValueError, match="H must have shape"):
        obs.apply(np.ones((4, 2)))
    with pytest.raises(ValueError, match="y must have shape"):
        obs.check_observation(np.ones(3))
    with pytest.raises(ValueError, match="offset"):
        beamopt.comb_mask(8, 2, offset=2)
    with pytest.raises(ValueError, match="spacing"):
        beamopt.comb_mask(8, 0)
    with pytest.raises(ValueError, match="band_size"):
        beamopt.hopping_mask(2, 8, band_size=9)
