"""Closed-form designs against the cvxpy SDP, and every error path of minimize_crb."""

from __future__ import annotations

import numpy as np
import pytest

import beamopt
from beamopt import BistaticScenario, InfeasibleError


def _random_scenario(seed, n_users=1):
    rng = np.random.default_rng(seed)
    n_tx = int(rng.integers(2, 9))
    return BistaticScenario.default(
        n_tx=n_tx,
        n_rx=int(rng.integers(2, 9)),
        dod_deg=rng.uniform(-70, 70),
        doa_deg=rng.uniform(-70, 70),
        user_angle_deg=rng.uniform(-70, 70, size=n_users) if n_users > 1 else rng.uniform(-70, 70),
        k_factor=rng.uniform(0, 5),
        d_bs_user=rng.uniform(20, 120),
        power_dbm=rng.uniform(20, 40),
        rng=rng,
    )


def _check_design(sc, res, gamma=None):
    W = res.W_total
    power = np.trace(W + res.Rs).real
    assert power <= sc.power * (1 + 1e-6)
    for M in (W, res.Rs):
        assert np.min(np.linalg.eigvalsh(M)) >= -1e-7 * sc.power
    if gamma is not None:
        assert np.all(np.asarray(res.sinr) >= np.asarray(gamma) * (1 - 1e-6))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("signal", ["gaussian", "known"])
def test_proposition1_matches_sdp(seed, signal):
    sc = _random_scenario(seed)
    gamma = np.random.default_rng(seed + 100).uniform(0.01, 0.999) * sc.max_snr[0]
    cf = beamopt.minimize_crb(sc, gamma, signal=signal, method="closed_form")
    # the full n_tx x n_tx SDP: no use of the span{a, h} structure behind the closed form
    sdp = beamopt.minimize_crb(sc, gamma, signal=signal, method="sdp", options={"reduce": False})
    reduced = beamopt.minimize_crb(sc, gamma, signal=signal, method="sdp")
    assert cf.method == "closed_form" and sdp.method == "sdp"
    assert np.isclose(cf.crb, sdp.crb, rtol=1e-6)
    assert np.isclose(reduced.crb, sdp.crb, rtol=1e-6)
    _check_design(sc, cf, gamma)
    _check_design(sc, sdp, gamma)
    _check_design(sc, reduced, gamma)
    # the optimum is rank one and uses the whole budget
    lam = np.linalg.eigvalsh(cf.W)
    assert lam[-2] <= 1e-12 * lam[-1]
    assert np.isclose(np.trace(cf.W).real, sc.power, rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("signal", ["gaussian", "known", "superposition"])
def test_mrt_matches_sdp(seed, signal):
    sc = _random_scenario(seed)
    cf = beamopt.minimize_crb(sc, signal=signal, method="closed_form")
    sdp = beamopt.minimize_crb(sc, signal=signal, method="sdp")
    assert np.isclose(cf.crb, sdp.crb, rtol=1e-6)
    _check_design(sc, cf)


def test_superposition_sensing_only_puts_all_power_in_rs():
    sc = BistaticScenario.default()
    res = beamopt.minimize_crb(sc, signal="superposition")
    assert np.allclose(res.W, 0) and np.isclose(np.trace(res.Rs).real, sc.power)
    # Proposition 2: nothing beats the deterministic MRT with any Gaussian share
    Z = np.zeros_like(res.Rs)
    for rho in np.linspace(0.05, 1, 8):
        assert res.crb <= beamopt.crb_doa(sc, rho * res.Rs, (1 - rho) * res.Rs) + 0 * Z.sum()


@pytest.mark.parametrize("geometry", ["orthogonal", "parallel"])
def test_proposition1_degenerate_geometries_match_sdp(geometry):
    sc = BistaticScenario.default(n_tx=6, n_rx=4)
    a = sc.a
    if geometry == "parallel":
        h = 3e-5 * a * np.exp(0.7j)
    else:  # a vector orthogonal to a: h^H a = 0
        v = np.random.default_rng(0).standard_normal(6) + 0j
        h = 3e-5 * (v - (a.conj() @ v) / 6 * a)
    sc = sc.replace(channel=h)
    for frac in (0.3, 0.9):
        gamma = frac * sc.max_snr[0]
        cf = beamopt.minimize_crb(sc, gamma, method="closed_form")
        sdp = beamopt.minimize_crb(sc, gamma, method="sdp", options={"reduce": False})
        assert np.all(np.isfinite(cf.W))
        assert np.isclose(cf.crb, sdp.crb, rtol=1e-6)
        _check_design(sc, cf, gamma)


def test_batched_closed_form_matches_scalar_calls():
    sc = BistaticScenario.default(n_tx=6, n_rx=6)
    H = beamopt.rician_channel(6, 0.3, gain=1e-8, size=50, rng=4)
    gamma = np.linspace(0.0, 0.9, 50) * sc.power * np.sum(np.abs(H) ** 2, -1) / sc.comm_noise_power
    w = beamopt.gaussian_isac_beamformer(sc.a, H, sc.power, gamma, sc.comm_noise_power)
    for i in (0, 17, 49):
        one = beamopt.minimize_crb(sc.replace(channel=H[i]), gamma[i])
        np.testing.assert_allclose(np.outer(w[i], w[i].conj()), one.W, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_multiuser_sdp_is_optimal_against_single_user_bounds(seed):
    sc = _random_scenario(seed, n_users=3)
    gamma = 0.05 * sc.max_snr
    res = beamopt.minimize_crb(sc, gamma)
    assert res.method == "sdp" and res.W.shape == (3, sc.n_tx, sc.n_tx)
    _check_design(sc, res, gamma)
    # restricting to span{a, h_1, h_2, h_3} loses nothing against the full-space SDP
    full = beamopt.minimize_crb(sc, gamma, method="sdp", options={"reduce": False})
    assert np.isclose(res.crb, full.crb, rtol=1e-6)
    # the sensing-only MRT bounds every design from below
    assert res.crb >= beamopt.minimize_crb(sc).crb * (1 - 1e-9)
    # scalar snr_min broadcasts to every user
    res2 = beamopt.minimize_crb(sc, float(gamma.min()), method="sdp")
    _check_design(sc, res2, np.full(3, gamma.min()))


def test_multiuser_sdp_satisfies_kkt_against_perturbation():
    """No feasible rank-one perturbation improves the SDP objective (local certificate)."""
    sc = _random_scenario(7, n_users=2)
    gamma = 0.1 * sc.max_snr
    res = beamopt.minimize_crb(sc, gamma)
    base = np.real(sc.a.conj() @ res.W_total @ sc.a)
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = rng.integers(2)
        v = rng.standard_normal(sc.n_tx) + 1j * rng.standard_normal(sc.n_tx)
        Wp = res.W.copy()
        Wp[k] = Wp[k] + 1e-3 * sc.power * np.outer(v, v.conj()) / np.vdot(v, v).real
        Wp *= sc.power / np.trace(Wp.sum(0)).real
        if np.all(beamopt.communication_sinr(sc, Wp) >= gamma):
            assert np.real(sc.a.conj() @ Wp.sum(0) @ sc.a) <= base * (1 + 1e-6)


def test_result_is_frozen_and_complete():
    res = beamopt.minimize_crb(BistaticScenario.default(), 10.0)
    with pytest.raises(AttributeError):
        res.crb = 0.0
    assert res.success and res.status == "optimal" and res.objective == res.crb
    assert np.isclose(res.rate, np.log2(1 + res.sinr))
    assert res.solve_time >= 0 and res.iterations == 0


# ------------------------------------------------------------------- errors
def test_infeasible_single_user_names_largest_snr():
    sc = BistaticScenario.default()
    best = sc.power * np.linalg.norm(sc.channel) ** 2 / sc.comm_noise_power
    for method in ("closed_form", "sdp"):
        with pytest.raises(InfeasibleError, match="largest achievable SINR is P") as info:
            beamopt.minimize_crb(sc, 1.01 * best, method=method)
        assert np.isclose(info.value.max_achievable, best)
        assert info.value.parameter == "snr_min"
        assert f"{best:.6g}" in str(info.value)
    assert issubclass(InfeasibleError, ValueError)


def test_target_at_the_limit_is_feasible():
    sc = BistaticScenario.default()
    res = beamopt.minimize_crb(sc, sc.max_snr[0])
    assert np.isclose(res.sinr, sc.max_snr[0], rtol=1e-9)


def test_infeasible_multiuser_reports_largest_common_targets():
    sc = _random_scenario(3, n_users=2)
    gamma = np.array([0.9, 0.9]) * sc.max_snr
    with pytest.raises(InfeasibleError, match="largest achievable targets") as info:
        beamopt.minimize_crb(sc, gamma)
    best = info.value.max_achievable
    assert np.all(best < gamma)
    # the reported targets are (just) achievable, and slightly more is not
    res = beamopt.minimize_crb(sc, best * (1 - 1e-4))
    _check_design(sc, res, best * (1 - 1e-4))
    with pytest.raises(InfeasibleError):
        beamopt.minimize_crb(sc, best * (1 + 1e-3))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"signal": "radar"}, ValueError, "signal must be one of"),
        ({"method": "newton"}, ValueError, "method must be one of"),
        ({"snr_min": -1.0}, ValueError, "snr_min must be >= 0"),
        ({"snr_min": np.nan}, ValueError, "snr_min must be finite"),
        ({"snr_min": [1.0, 2.0]}, ValueError, r"snr_min must be a scalar or have shape \(1,\)"),
        ({"snr_min": [[1.0]]}, ValueError, "snr_min must have"),
        ({"method": "sdp", "options": {"tol": 1.0}}, ValueError, r"unknown options \['tol'\]"),
        ({"method": "sca"}, ValueError, "applies to signal='superposition' only"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        beamopt.minimize_crb(BistaticScenario.default(), **kwargs)


def test_closed_form_unavailable_for_multiuser_targets():
    sc = _random_scenario(1, n_users=2)
    with pytest.raises(ValueError, match="closed_form"):
        beamopt.minimize_crb(sc, 1.0, method="closed_form")


def test_scenario_type_checked():
    with pytest.raises(ValueError, match="scenario must be a BistaticScenario"):
        beamopt.minimize_crb({"n_tx": 4})
