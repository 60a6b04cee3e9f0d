import dataclasses

import numpy as np
import pytest

import beamopt
from beamopt import BistaticScenario


def test_default_is_physically_sensible():
    sc = BistaticScenario.default()
    assert (sc.n_tx, sc.n_rx, sc.n_symbols, sc.n_users) == (16, 16, 256, 1)
    assert np.isclose(np.rad2deg(sc.doa), 30.0)
    assert np.isclose(sc.power, 1.0) and np.isclose(sc.noise_power, 1e-11)
    # alpha^2 = PL(30 m) PL(40 m) with C0 = -30 dB and exponent 2.2
    expected = 1e-3 * 30**-2.2 * 1e-3 * 40**-2.2
    assert np.isclose(abs(sc.alpha) ** 2, expected)
    snr_db = 10 * np.log10(sc.sensing_snr)
    assert 0 < snr_db < 15  # moderate sensing SNR: the Gaussian/deterministic gap is visible
    assert 20 < 10 * np.log10(sc.max_snr[0]) < 50


def test_default_is_reproducible_and_seedable():
    np.testing.assert_array_equal(
        BistaticScenario.default().channel, BistaticScenario.default().channel
    )
    assert not np.allclose(
        BistaticScenario.default(rng=1).channel, BistaticScenario.default().channel
    )


def test_frozen_and_replace_revalidates():
    sc = BistaticScenario.default()
    with pytest.raises(dataclasses.FrozenInstanceError):
        sc.power = 2.0
    with pytest.raises(ValueError):
        sc.channel[0] = 0  # read-only array
    sc2 = sc.replace(power=2.0)
    assert sc2.power == 2.0 and sc.power == 1.0
    with pytest.raises(ValueError, match="power"):
        sc.replace(power=-1.0)


def test_derived_quantities():
    sc = BistaticScenario.default(n_rx=10, doa_deg=20.0)
    np.testing.assert_allclose(sc.a, beamopt.steering_vector(sc.n_tx, sc.dod))
    np.testing.assert_allclose(sc.b, beamopt.steering_vector(10, np.deg2rad(20.0)))
    assert np.isclose(sc.db_norm2, np.vdot(sc.db, sc.db).real)
    assert np.isclose(sc.g0, abs(sc.alpha) ** 2 / sc.noise_power)


def test_multiuser_channel():
    sc = BistaticScenario.default(user_angle_deg=[-20.0, 40.0], d_bs_user=[50.0, 90.0])
    assert sc.n_users == 2 and sc.channels.shape == (2, 16)
    np.testing.assert_allclose(
        sc.max_snr, sc.power * np.linalg.norm(sc.channel, axis=1) ** 2 / sc.comm_noise_power
    )


def _kwargs(**changes):
    sc = BistaticScenario.default(n_tx=4, n_rx=4)
    base = {f.name: getattr(sc, f.name) for f in dataclasses.fields(sc)}
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"n_tx": 0}, "n_tx"),
        ({"n_rx": 1}, "n_rx"),
        ({"n_symbols": 2.5}, "n_symbols"),
        ({"doa": 2.0}, "doa"),
        ({"dod": np.nan}, "dod"),
        ({"alpha": 0.0}, "alpha"),
        ({"noise_power": 0.0}, "noise_power"),
        ({"power": -1.0}, "power"),
        ({"comm_noise_power": np.inf}, "comm_noise_power"),
        ({"channel": np.ones(5)}, "channel"),
        ({"channel": np.zeros(4)}, "channel"),
        ({"channel": np.full(4, np.nan)}, "channel"),
        ({"channel": np.ones((2, 2, 4))}, "channel"),
    ],
)
def test_invalid_fields_name_the_argument(changes, match):
    with pytest.raises(ValueError, match=match):
        BistaticScenario(**_kwargs(**changes))
