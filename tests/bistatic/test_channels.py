import numpy as np
import pytest

import beamopt


def test_path_loss_reference_and_exponent():
    assert np.isclose(beamopt.path_loss(1.0, 2.7), 1e-3)  # C0 = -30 dB at 1 m
    # every decade of distance costs 10*kappa dB
    ratio_db = 10 * np.log10(beamopt.path_loss(10.0, 2.7) / beamopt.path_loss(100.0, 2.7))
    assert np.isclose(ratio_db, 27.0)
    np.testing.assert_allclose(
        beamopt.path_loss(np.array([2.0, 4.0]), 2.0, c0_db=-20.0), [0.01 / 4, 0.01 / 16]
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"distance": 0.0}, "distance"), ({"distance": 5.0, "exponent": -1}, "exponent")],
)
def test_path_loss_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        beamopt.path_loss(**kwargs)


def test_dbm_conversion():
    assert np.isclose(beamopt.dbm_to_watt(30.0), 1.0)
    assert np.isclose(beamopt.dbm_to_watt(-80.0), 1e-11)
    assert np.isclose(beamopt.linear_to_db(beamopt.db_to_linear(7.5)), 7.5)


def test_rician_moments_match_model():
    n_tx, K, beta, n = 6, 3.0, 2e-3, 200_000
    phi = 0.4
    h = beamopt.rician_channel(n_tx, phi, k_factor=K, gain=beta, size=n, rng=1)
    assert h.shape == (n, n_tx)
    mean_expected = np.sqrt(beta * K / (K + 1)) * beamopt.steering_vector(n_tx, phi)
    var_expected = beta / (K + 1)
    # standard error of a complex sample mean is sqrt(var/n)
    se = np.sqrt(var_expected / n)
    assert np.max(np.abs(h.mean(0) - mean_expected)) < 5 * se
    centred = h - mean_expected
    cov = centred.T @ centred.conj() / n
    np.testing.assert_allclose(cov, var_expected * np.eye(n_tx), atol=6 * var_expected / np.sqrt(n))


def test_rician_seeded_and_multiuser():
    a = beamopt.rician_channel(4, [0.1, -0.3, 0.7], gain=[1.0, 2.0, 3.0], rng=7)
    b = beamopt.rician_channel(4, [0.1, -0.3, 0.7], gain=[1.0, 2.0, 3.0], rng=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 4)
    assert beamopt.rician_channel(4, [0.1, 0.2], size=(5,), rng=0).shape == (5, 2, 4)


def test_rician_pure_los_and_rejects_bad_input():
    h = beamopt.rician_channel(5, 0.2, k_factor=1e12, gain=4.0, rng=0)
    np.testing.assert_allclose(h, 2.0 * beamopt.steering_vector(5, 0.2), atol=1e-5)
    with pytest.raises(ValueError, match="k_factor"):
        beamopt.rician_channel(4, 0.1, k_factor=-1)
    with pytest.raises(ValueError, match="gain"):
        beamopt.rician_channel(4, 0.1, gain=0.0)
    with pytest.raises(ValueError, match="rng"):
        beamopt.rician_channel(4, 0.1, rng="seed")
