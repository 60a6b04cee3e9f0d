"""Weak inputs at the public entry points: a ValueError that names the argument and its unit.

Each case is one a new user actually hit (text where a number belongs, a bool, a negative
distance, degrees out of range, None for the scenario, a mistyped solver name).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import beamopt
from beamopt import BistaticScenario


@pytest.fixture(scope="module")
def sc():
    return BistaticScenario.from_geometry(n_tx=4, n_rx=4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"power_dbm": "30"}, "power_dbm must be a real number in dBm; got '30'"),
        ({"power_dbm": "abc"}, "power_dbm must be a real number in dBm; got 'abc'"),
        ({"power_dbm": True}, "power_dbm must be a real number in dBm; got True"),
        ({"noise_dbm": None}, "noise_dbm must be a real number in dBm; got None"),
        ({"d_target_rx": -5}, "d_target_rx must be > 0 m; got -5"),
        ({"d_bs_target": 0.0}, "d_bs_target must be > 0 m; got 0"),
        ({"doa_deg": 95}, "doa_deg must lie in (-90, 90) degrees; got 95"),
        ({"dod_deg": -90}, "dod_deg must lie in (-90, 90) degrees; got -90"),
        ({"user_angle_deg": [10, 100]}, "user_angle_deg must lie in [-90, 90] degrees"),
        ({"d_bs_user": -1.0}, "d_bs_user must be > 0 m"),
        ({"reflection": "1"}, "reflection must be a (complex) number; got '1'"),
    ],
)
def test_from_geometry_names_argument_and_unit(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        BistaticScenario.from_geometry(**kwargs)


def test_from_geometry_accepts_numpy_scalars():
    a = BistaticScenario.from_geometry(power_dbm=np.float32(30.0), doa_deg=np.int64(20))
    b = BistaticScenario.from_geometry(power_dbm=30.0, doa_deg=20.0)
    assert a.power == pytest.approx(b.power) and a.doa == pytest.approx(np.deg2rad(20.0))


@pytest.mark.parametrize("snr_min", ["30", True, np.bool_(True), ["1", "2"]])
def test_snr_min_must_be_a_linear_number(sc, snr_min):
    message = "snr_min must be a linear SINR target (a real number >= 0, not in dB)"
    with pytest.raises(ValueError, match=re.escape(message)):
        beamopt.minimize_crb(sc, snr_min=snr_min)


@pytest.mark.parametrize(
    "call",
    [
        lambda W: beamopt.crb_doa(None, W),
        lambda W: beamopt.beam_gains(None, W),
        lambda W: beamopt.communication_rate(None, W),
        lambda W: beamopt.communication_sinr("scenario", W),
    ],
)
def test_scenario_none_is_a_value_error(call):
    with pytest.raises(ValueError, match=r"^scenario must be a BistaticScenario; got "):
        call(np.eye(4))


@pytest.mark.parametrize("method", ["sdp", "closed_form"])
def test_unknown_solver_names_solver_and_allowed_values(sc, method):
    import cvxpy

    with pytest.raises(ValueError, match=r"^solver must be None .* one of \(") as info:
        beamopt.minimize_crb(sc, snr_min=1.0, method=method, solver="FOO")
    assert "got 'FOO'" in str(info.value)
    assert all(name in str(info.value) for name in cvxpy.installed_solvers())


def test_unknown_solver_in_sca(sc):
    with pytest.raises(ValueError, match=r"^solver must be None"):
        beamopt.sca_superposition(sc, 1.0, solver="FOO")


def test_solver_name_is_case_insensitive(sc):
    res = beamopt.minimize_crb(sc, snr_min=1.0, method="sdp", solver="clarabel")
    assert res.crb == pytest.approx(beamopt.minimize_crb(sc, snr_min=1.0).crb, rel=1e-5)


@pytest.mark.parametrize("scheme", ["time_switching", "power_splitting"])
def test_boundary_says_why_one_user(scheme):
    """The benchmark schemes need one user; the optimal boundary takes several."""
    two = BistaticScenario.from_geometry(n_tx=4, user_angle_deg=[-10.0, 40.0])
    with pytest.raises(ValueError, match="single-user benchmark") as info:
        beamopt.crb_rate_boundary(two, scheme=scheme)
    message = str(info.value)
    assert "one user's rate" in message and "n_users=2" in message
    assert "scheme='optimal'" in message


def test_doa_mse_repr_is_concise(sc):
    W = beamopt.mrt_covariance(sc.a, sc.power)
    res = beamopt.doa_mse(sc, W, n_trials=500, rng=0)
    text = repr(res)
    assert "n_trials=500" in text and "mse=" in text and "crb=" in text
    assert len(text) < 200 and "array" not in text
