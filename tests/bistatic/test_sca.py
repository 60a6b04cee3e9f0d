"""SCA for the superposition design (beamopt.bistatic.sca): monotonicity, feasibility, options.

References: the certified single-user optimum (itself checked against brute force
and cvxpy in test_superposition.py), the Gaussian-only SDP optimum (SCA's default
start, which it may only improve), and the problem's constraints.
"""

from __future__ import annotations

import numpy as np
import pytest

import beamopt
from beamopt.errors import InfeasibleError


def _scenario(seed=0, **kw):
    geo = {"n_tx": 6, "n_rx": 6, "n_symbols": 64, "dod_deg": 10.0, "user_angle_deg": -5.0}
    return beamopt.BistaticScenario.from_geometry(rng=seed, **{**geo, **kw})


def _two_users(seed=0, **kw):
    return _scenario(seed, user_angle_deg=[-20.0, 35.0], d_bs_user=[60.0, 90.0], **kw)


def _assert_feasible(sc, res, gamma, rtol=1e-7):
    assert np.all(np.atleast_1d(res.sinr) >= np.asarray(gamma) * (1 - rtol))
    power = np.trace(res.W_total + res.Rs).real
    assert power <= sc.power * (1 + 1e-9)
    for M in (res.W, res.Rs):
        assert np.allclose(M, M.conj().swapaxes(-1, -2), atol=1e-12 * sc.power)
        assert np.all(np.linalg.eigvalsh(M) >= -1e-10 * sc.power)


@pytest.mark.parametrize("frac", [0.05, 0.5, 0.95])
def test_history_is_monotone_and_result_feasible(frac):
    sc = _scenario(1, power_dbm=35.0)
    gamma = frac * sc.max_snr[0]
    res = beamopt.sca_superposition(sc, gamma)
    assert res.method == "sca" and res.status == "converged" and res.success
    assert res.history.shape == (res.iterations + 1,) or res.history.size <= res.iterations + 1
    assert np.all(np.diff(res.history) <= 0)  # CRB never increases
    assert res.crb == pytest.approx(res.history[-1], rel=1e-9)
    assert res.crb == pytest.approx(beamopt.crb_doa(sc, res.W, res.Rs), rel=1e-12)
    _assert_feasible(sc, res, gamma)
    # the tangent slopes are the SCA weights nu = 1 - (1 + Nr g0 cW)^-2 in [0, 1)
    assert np.all((res.extras["nu"] >= 0) & (res.extras["nu"] < 1))


def test_sca_never_beats_the_certified_optimum_and_reaches_it_from_default():
    sc = _scenario(2, power_dbm=30.0)
    for frac in (0.1, 0.6):
        gamma = frac * sc.max_snr[0]
        glob = beamopt.superposition_design(sc, gamma)
        res = beamopt.sca_superposition(sc, gamma, tolerance=1e-10)
        assert res.crb >= glob.crb_lower_bound * (1 - 1e-9)
        assert res.crb == pytest.approx(float(glob.crb), rel=1e-5)


def test_full_space_sdp_equals_reduced_sdp():
    """The span{a, h} reduction is exact: both SCA variants reach the same CRB."""
    sc = _scenario(3, n_tx=4)
    gamma = 0.4 * sc.max_snr[0]
    reduced = beamopt.sca_superposition(sc, gamma, reduce=True)
    full = beamopt.sca_superposition(sc, gamma, reduce=False)
    assert full.crb == pytest.approx(reduced.crb, rel=1e-5)
    _assert_feasible(sc, full, gamma, rtol=1e-6)


def test_initial_point_and_iteration_options():
    sc = _scenario(4)
    gamma = 0.3 * sc.max_snr[0]
    # a feasible start: all power toward the user
    u = sc.channel / np.linalg.norm(sc.channel)
    x0 = (sc.power * np.outer(u, u.conj()), np.zeros((sc.n_tx, sc.n_tx), complex))
    res = beamopt.sca_superposition(sc, gamma, initial_point=x0, max_iterations=1)
    assert res.iterations == 1 and res.history.size <= 2
    assert res.history[0] == pytest.approx(beamopt.crb_doa(sc, *x0), rel=1e-12)
    via = beamopt.minimize_crb(
        sc, gamma, "superposition", "sca", options={"initial_point": x0, "max_iterations": 1}
    )
    assert via.crb == pytest.approx(res.crb, rel=1e-9)


def test_largest_target_returns_the_only_feasible_design():
    sc = _scenario(5)
    res = beamopt.sca_superposition(sc, sc.max_snr[0])
    u = sc.channel / np.linalg.norm(sc.channel)
    np.testing.assert_allclose(res.W, sc.power * np.outer(u, u.conj()), atol=1e-12 * sc.power)
    assert np.all(res.Rs == 0) and res.iterations == 0


# ------------------------------------------------------------------ users
def test_multi_user_sca_is_feasible_and_improves_on_gaussian_only():
    sc = _two_users(6)
    gamma = 0.2 * sc.max_snr
    gauss = beamopt.minimize_crb(sc, gamma, signal="gaussian")
    res = beamopt.minimize_crb(sc, gamma, signal="superposition")  # auto -> SCA
    assert res.method == "sca" and res.W.shape == (2, sc.n_tx, sc.n_tx)
    assert np.all(np.diff(res.history) <= 0)
    assert res.crb <= gauss.crb * (1 + 1e-7)  # starts from the Gaussian optimum
    _assert_feasible(sc, res, gamma)
    np.testing.assert_allclose(res.sinr, beamopt.communication_sinr(sc, res.W, res.Rs))


def test_multi_user_infeasible_targets_report_largest():
    sc = _two_users(7)
    with pytest.raises(InfeasibleError) as err:
        beamopt.minimize_crb(sc, 2 * sc.max_snr, signal="superposition")
    assert err.value.parameter == "snr_min" and np.all(err.value.max_achievable < sc.max_snr)


# ----------------------------------------------------------- error paths
def test_infeasible_single_user_target():
    sc = _scenario()
    with pytest.raises(InfeasibleError, match="largest achievable SINR") as err:
        beamopt.sca_superposition(sc, 1.5 * sc.max_snr[0])
    assert err.value.max_achievable == pytest.approx(sc.max_snr[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_iterations": 0}, "max_iterations"),
        ({"max_iterations": 2.5}, "max_iterations"),
        ({"tolerance": 0.0}, "tolerance"),
        ({"reduce": "yes"}, "reduce"),
        ({"initial_point": "start"}, "initial_point"),
        ({"initial_point": (np.eye(3), np.eye(3))}, "initial_point W"),
    ],
)
def test_bad_options(kwargs, match):
    sc = _scenario()
    with pytest.raises(ValueError, match=match):
        beamopt.sca_superposition(sc, 0.2 * sc.max_snr[0], **kwargs)


def test_infeasible_initial_point_is_rejected():
    sc = _scenario()
    Rs = beamopt.mrt_covariance(sc.a, sc.power)  # sensing only: the user gets nothing
    with pytest.raises(ValueError, match="must be feasible"):
        beamopt.sca_superposition(sc, 0.2 * sc.max_snr[0], initial_point=(0 * Rs, Rs))
    with pytest.raises(ValueError, match="snr_min"):
        beamopt.sca_superposition(sc, [1.0, 2.0])
