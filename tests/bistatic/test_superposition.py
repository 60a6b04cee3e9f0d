"""Certified global superposition design (`bistatic.superposition`, `bistatic._frontier`).

Independent references: cvxpy SDPs of the support problem and of the inner
problem max c_S s.t. c_W >= t over the full n_tx-dimensional space, a brute-force
grid over the rank-one parametrisation of span{a, h}, SCA from random starts,
random feasible designs, and the Gaussian-only optimum.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize, minimize_scalar

import beamopt
from beamopt.bistatic import _frontier as fr
from beamopt.bistatic._sdp import (
    HermitianPSD,  # real-embedded PSD variables: accurate with Clarabel
)
from beamopt.errors import InfeasibleError

RTOL = 1e-10


def _scenario(seed=0, **kw):
    geo = {"n_tx": 4, "n_rx": 6, "n_symbols": 64, "dod_deg": 10.0, "user_angle_deg": -5.0}
    return beamopt.BistaticScenario.from_geometry(rng=seed, **{**geo, **kw})


def _information(sc, W, Rs):
    return 1.0 / beamopt.crb_doa(sc, W, Rs)


def random_feasible(sc, gamma, rng):
    """A random feasible design: rank-one beams in span{a, h, z} blended with MRT-to-user."""
    u = sc.channel / np.linalg.norm(sc.channel)

    def beam():
        c = rng.standard_normal(3) + 1j * rng.standard_normal(3)
        z = rng.standard_normal(sc.n_tx) + 1j * rng.standard_normal(sc.n_tx)
        v = c[0] * sc.a + c[1] * u + c[2] * z
        return v / np.linalg.norm(v)

    p = rng.uniform()
    w, r = beam(), beam()
    W = sc.power * p * np.outer(w, w.conj())
    Rs = sc.power * (1 - p) * np.outer(r, r.conj())
    h, s2c = sc.channel, sc.comm_noise_power
    g0 = np.vdot(h, W @ h).real - gamma * (np.vdot(h, Rs @ h).real + s2c)
    g1 = sc.power * np.linalg.norm(h) ** 2 - gamma * s2c
    lam = 0.0 if g0 >= 0 else min(1.0, -g0 / (g1 - g0) * (1 + 1e-9))
    return (1 - lam) * W + lam * sc.power * np.outer(u, u.conj()), (1 - lam) * Rs


# ------------------------------------------------------------- support points
def test_frontier_point_matches_support_sdp(rng):
    import cvxpy as cp

    n = 4
    for _ in range(6):
        a = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        h = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        rho, sigma, e1, e2 = fr.span_basis(a, h)
        a_hat, h_hat = a / np.linalg.norm(a), h / np.linalg.norm(h)
        gamma, beta, nu = 10 ** rng.uniform(-1, 2), rng.uniform(0.05, 0.95), rng.uniform(0, 0.95)
        W, R = HermitianPSD(n), HermitianPSD(n)
        cons = [W.trace() + R.trace() <= 1, W.quad(h_hat) >= gamma * R.quad(h_hat) + beta]
        prob = cp.Problem(cp.Maximize(R.quad(a_hat) + nu * W.quad(a_hat)), cons)
        prob.solve(solver="CLARABEL")
        p = fr.frontier_point(nu, rho, sigma, gamma, beta)
        primal = float(p.s + nu * p.w)
        assert primal == pytest.approx(prob.value, rel=1e-6)
        # weak duality: the closed-form dual value bounds the support function
        assert primal <= float(p.dual) + 1e-14 and float(p.dual) - primal < 1e-12
        # the exposed point is a feasible design with the stated gains
        uw = np.cos(p.theta_w) * e1 + np.sin(p.theta_w) * e2
        ur = np.cos(p.theta_r) * e1 + np.sin(p.theta_r) * e2
        assert abs(np.vdot(a_hat, uw)) ** 2 * p.p == pytest.approx(float(p.w), abs=1e-14)
        slack = p.p * abs(np.vdot(h_hat, uw)) ** 2 - gamma * p.q * abs(np.vdot(h_hat, ur)) ** 2
        assert slack >= beta * (1 - 1e-12)


def test_frontier_dual_gap_is_rounding_on_random_inputs(rng):
    """Primal and dual closed forms agree over a wide sweep, including degenerate cases."""
    N = 20_000
    rho = rng.uniform(0, 1, N)
    rho[:100], rho[100:200] = 0.0, 1.0
    gamma = 10 ** rng.uniform(-4, 4, N)
    beta = rng.uniform(0, 1, N)
    beta[200:300], beta[300:400] = 1.0, 0.0
    nu = rng.uniform(0, 1, N)
    nu[400:500] = 0.0
    p = fr.frontier_point(nu, rho, np.sqrt(1 - rho**2), gamma, beta)
    gap = p.dual - (p.s + nu * p.w)
    assert np.all(np.isfinite(gap)) and np.all(gap > -1e-13) and np.all(gap < 1e-11)
    assert np.all((p.p >= 0) & (p.p <= 1))


# ------------------------------------------------------------ brute force
def _brute_force(sc, gamma, n=600):
    """Best rank-one design in span{a, h} over a (theta_w, theta_r) grid, then polished.

    With the SINR met with equality the power split follows from the two beam
    angles, ``p cos^2 theta_w = gamma (1 - p) cos^2 theta_r + beta``.
    """
    a = sc.a / np.sqrt(sc.n_tx)
    rho = abs(np.vdot(sc.channel / np.linalg.norm(sc.channel), a))
    ta = np.arctan2(np.sqrt(1 - rho**2), rho)
    beta = gamma / sc.max_snr[0]

    def info(tw, tr):
        cw, cr = np.cos(tw) ** 2, np.cos(tr) ** 2
        with np.errstate(all="ignore"):
            p = (gamma * cr + beta) / (cw + gamma * cr)
        w, s = p * np.cos(tw - ta) ** 2, (1 - p) * np.cos(tr - ta) ** 2
        J = beamopt.doa_information(
            w * sc.power * sc.n_tx, s * sc.power * sc.n_tx, g0=sc.g0, n_rx=sc.n_rx,
            n_symbols=sc.n_symbols, db_norm2=sc.db_norm2,
        )  # fmt: skip
        return np.where((p >= 0) & (p <= 1), J, -np.inf)

    t = np.linspace(0, np.pi / 2, n)
    grid = info(*np.meshgrid(t, t, indexing="ij"))
    i, j = np.unravel_index(np.argmax(grid), grid.shape)
    res = minimize(lambda z: -info(*z), [t[i], t[j]], method="Nelder-Mead",
                   options={"xatol": 1e-12, "fatol": 1e-18, "maxiter": 4000})  # fmt: skip
    # all power to the information beam: the best such beam has h-gain beta (or is MRT)
    cw = np.clip(np.cos(t) ** 2, beta, 1)
    w_only = (rho * np.sqrt(cw) + np.sqrt(1 - rho**2) * np.sqrt(1 - cw)) ** 2
    J_w = beamopt.doa_information(w_only * sc.power * sc.n_tx, 0.0, g0=sc.g0, n_rx=sc.n_rx,
                                  n_symbols=sc.n_symbols, db_norm2=sc.db_norm2)  # fmt: skip
    return max(-res.fun, grid.max(), J_w.max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_global_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    sc = _scenario(seed, n_tx=8, dod_deg=rng.uniform(-40, 40), power_dbm=rng.uniform(20, 40),
                   user_angle_deg=rng.uniform(-40, 40))  # fmt: skip
    gammas = sc.max_snr[0] * np.array([0.05, 0.4, 0.85])
    d = beamopt.superposition_design(sc, gammas, rtol=RTOL)
    for k, g in enumerate(gammas):
        J_brute = _brute_force(sc, g)
        assert d.information[k] >= J_brute * (1 - RTOL)  # never worse than the scan
        assert J_brute >= d.information[k] * (1 - 1e-8)  # and the scan finds it
        assert d.information_upper[k] >= J_brute * (1 - 1e-13)  # the bound holds


def test_global_equals_cvxpy_scan_over_cw():
    """Full-space check of the reduction: scan t = c_W with the inner SDP in cvxpy."""
    import cvxpy as cp

    sc = _scenario(3, power_dbm=35.0)
    n = sc.n_tx
    a_hat, u = sc.a / np.sqrt(n), sc.channel / np.linalg.norm(sc.channel)
    kappa = sc.g0 * sc.power * n
    scale = 2 * sc.n_symbols * sc.db_norm2
    for frac in (0.2, 0.7):
        gamma = frac * sc.max_snr[0]
        W, R = HermitianPSD(n), HermitianPSD(n)
        t = cp.Parameter(nonneg=True)
        cons = [W.trace() + R.trace() <= 1, W.quad(a_hat) >= t,
                W.quad(u) / frac - sc.max_snr[0] * R.quad(u) >= 1]  # fmt: skip
        prob = cp.Problem(cp.Maximize(R.quad(a_hat)), cons)

        def V(tv, prob=prob, t=t):
            t.value = tv
            with warnings.catch_warnings():  # near t_max the SDP is nearly degenerate
                warnings.simplefilter("ignore", UserWarning)
                prob.solve(solver="CLARABEL")
            s = prob.value if prob.status.startswith("optimal") else -np.inf
            return scale * float(fr.information_shape(tv, s, kappa, sc.n_rx))

        # largest feasible c_W: the Gaussian-only optimum (Proposition 1)
        gauss = beamopt.minimize_crb(sc, gamma, signal="gaussian")
        t_max = np.vdot(a_hat, gauss.W @ a_hat).real / sc.power
        grid = t_max * np.linspace(0, 1 - 1e-9, 25) ** 2  # finer near t = 0
        vals = [V(x) for x in grid]
        k = int(np.argmax(vals))
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
        res = minimize_scalar(lambda x: -V(x), bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-9})  # fmt: skip
        J_scan = max(max(vals), -res.fun)
        d = beamopt.superposition_design(sc, gamma)
        assert float(d.information) >= J_scan * (1 - 1e-6)
        assert J_scan >= float(d.information) * (1 - 1e-5)


def test_global_never_worse_than_sca_from_random_starts():
    rng = np.random.default_rng(7)
    for seed in range(3):
        sc = _scenario(seed, n_tx=6, dod_deg=rng.uniform(-40, 40), power_dbm=rng.uniform(20, 40))
        gamma = rng.uniform(0.05, 0.95) * sc.max_snr[0]
        crb = float(beamopt.superposition_design(sc, gamma).crb)
        starts = [None] + [random_feasible(sc, gamma, rng) for _ in range(3)]
        for x0 in starts:
            res = beamopt.sca_superposition(sc, gamma, initial_point=x0)
            assert crb <= res.crb * (1 + 1e-9)


@given(
    seed=st.integers(0, 2**16),
    frac=st.floats(0.0, 1.0),
    dod=st.floats(-60, 60),
    power_dbm=st.floats(0, 45),
)
def test_certificate_bounds_random_feasible_designs(seed, frac, dod, power_dbm):
    """No feasible design beats the certified upper bound on the information."""
    sc = _scenario(seed, dod_deg=dod, power_dbm=power_dbm)
    gamma = frac * sc.max_snr[0]
    d = beamopt.superposition_design(sc, gamma)
    assert d.bound_gap <= d.rtol and d.crb_lower_bound <= d.crb
    rng = np.random.default_rng(seed)
    for _ in range(5):
        W, Rs = random_feasible(sc, gamma, rng)
        assert _information(sc, W, Rs) <= d.information_upper * (1 + 1e-12)


# ------------------------------------------------------ feasibility and limits
def test_global_design_is_feasible_psd_and_consistent():
    sc = beamopt.BistaticScenario.default(n_tx=8, n_rx=8)
    gammas = np.linspace(0, sc.max_snr[0], 21)
    d = beamopt.superposition_design(sc, gammas)
    assert np.all(d.sinr >= gammas * (1 - 1e-9))
    assert np.all(np.trace(d.W + d.Rs, axis1=-2, axis2=-1).real <= sc.power * (1 + 1e-12))
    for M in (d.W, d.Rs):
        assert np.allclose(M, M.conj().swapaxes(-1, -2), atol=1e-15 * sc.power)
        assert np.all(np.linalg.eigvalsh(M) >= -1e-12 * sc.power)
    np.testing.assert_allclose(d.crb, beamopt.crb_doa(sc, d.W, d.Rs), rtol=1e-12)
    np.testing.assert_allclose(d.rate, np.log2(1 + beamopt.communication_sinr(sc, d.W, d.Rs)))
    np.testing.assert_allclose(
        d.power_fraction, np.trace(d.W, axis1=-2, axis2=-1).real / sc.power, atol=1e-12
    )
    assert d.converged and np.all(np.diff(d.crb) >= 0)  # a higher target never helps


def test_minimize_crb_global_matches_batched_design():
    sc = beamopt.BistaticScenario.default(n_tx=8)
    gammas = sc.max_snr[0] * np.array([0.1, 0.5])
    d = beamopt.superposition_design(sc, gammas)
    for k, g in enumerate(gammas):
        res = beamopt.minimize_crb(sc, float(g), signal="superposition")
        assert res.method == "global" and res.success
        assert res.crb == pytest.approx(d.crb[k], rel=1e-13)
        assert res.crb == pytest.approx(beamopt.crb_doa(sc, res.W, res.Rs), rel=1e-12)
        assert res.extras["bound_gap"] <= res.extras["rtol"] == RTOL
        assert res.extras["crb_lower_bound"] <= res.crb
    loose = beamopt.minimize_crb(sc, float(gammas[0]), "superposition", options={"rtol": 1e-3})
    assert loose.extras["bound_gap"] <= 1e-3 and loose.crb >= d.crb[0] * (1 - 1e-12)


def test_zero_target_is_sensing_only_optimum():
    """gamma -> 0: all power to the deterministic signal, MRT toward the target (Proposition 2)."""
    sc = beamopt.BistaticScenario.default(n_tx=8)
    sensing = beamopt.minimize_crb(sc, None, signal="superposition")
    d = beamopt.superposition_design(sc, [0.0, 1e-9 * sc.max_snr[0]])
    np.testing.assert_allclose(d.crb, sensing.crb, rtol=1e-6)
    assert d.crb[0] == pytest.approx(sensing.crb, rel=1e-12)
    mrt = beamopt.mrt_covariance(sc.a, sc.power)
    np.testing.assert_allclose(d.Rs[0], mrt, atol=1e-12 * sc.power)
    np.testing.assert_allclose(d.W[0], 0, atol=1e-12 * sc.power)


def test_max_target_is_mrt_to_user():
    sc = beamopt.BistaticScenario.default(n_tx=8)
    d = beamopt.superposition_design(sc, sc.max_snr[0])
    u = sc.channel / np.linalg.norm(sc.channel)
    np.testing.assert_allclose(d.W, sc.power * np.outer(u, u.conj()), atol=1e-9 * sc.power)
    np.testing.assert_allclose(d.Rs, 0, atol=1e-9 * sc.power)
    assert d.sinr == pytest.approx(sc.max_snr[0], rel=1e-9)


@pytest.mark.parametrize("seed", [0, 5])
def test_superposition_never_worse_than_gaussian_only(seed):
    sc = _scenario(seed, n_tx=8, power_dbm=30.0)
    gammas = np.linspace(0, sc.max_snr[0], 9)
    d = beamopt.superposition_design(sc, gammas)
    for k, g in enumerate(gammas):
        gauss = beamopt.minimize_crb(sc, float(g), signal="gaussian")
        assert d.crb[k] <= gauss.crb * (1 + 1e-12)


def test_batch_shape_follows_targets():
    sc = _scenario()
    g = sc.max_snr[0] * np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    d = beamopt.superposition_design(sc, g)
    assert d.crb.shape == (2, 3) and d.W.shape == (2, 3, sc.n_tx, sc.n_tx)
    flat = beamopt.superposition_design(sc, g.ravel())
    np.testing.assert_array_equal(d.crb.ravel(), flat.crb)
    scalar = beamopt.superposition_design(sc, float(g[0, 0]))
    assert scalar.crb.shape == () and scalar.crb == flat.crb[0]


# --------------------------------------------------------------- error paths
def test_infeasible_target_names_largest_sinr():
    sc = _scenario()
    with pytest.raises(InfeasibleError, match="largest achievable SINR") as err:
        beamopt.superposition_design(sc, [0.5 * sc.max_snr[0], 2 * sc.max_snr[0]])
    assert err.value.parameter == "snr_min"
    assert err.value.max_achievable == pytest.approx(sc.power * np.linalg.norm(sc.channel) ** 2
                                                     / sc.comm_noise_power)  # fmt: skip
    with pytest.raises(InfeasibleError):
        beamopt.minimize_crb(sc, 1.01 * sc.max_snr[0], signal="superposition")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "closed_form"}, "no closed form"),
        ({"method": "sdp"}, "not a single SDP"),
        ({"options": {"bogus": 1}}, "unknown options"),
        ({"method": "global", "options": {"max_iterations": 3}}, "unknown options"),
        ({"options": {"rtol": -1.0}}, "rtol"),
        ({"options": {"n_initial": 0}}, "n_initial"),
        ({"options": "fast"}, "options must be a dict"),
    ],
)
def test_bad_methods_and_options(kwargs, match):
    sc = _scenario()
    with pytest.raises(ValueError, match=match):
        beamopt.minimize_crb(sc, 0.3 * sc.max_snr[0], signal="superposition", **kwargs)


def test_other_error_paths():
    sc = _scenario()
    with pytest.raises(ValueError, match="superposition' only"):
        beamopt.minimize_crb(sc, 1.0, signal="gaussian", method="global")
    with pytest.raises(ValueError, match=r"unknown options \[.rtol.\] for method=.auto."):
        beamopt.minimize_crb(sc, 1.0, signal="gaussian", options={"rtol": 1e-3})
    with pytest.raises(ValueError, match="snr_min"):
        beamopt.superposition_design(sc, [-1.0])
    two = sc.replace(channel=np.stack([sc.channel, sc.channel[::-1]]))
    with pytest.raises(ValueError, match="single communication user"):
        beamopt.superposition_design(two, 1.0)
    with pytest.raises(ValueError, match="single communication user"):
        beamopt.minimize_crb(two, 1.0, signal="superposition", method="global")
    with pytest.raises(ValueError, match="BistaticScenario"):
        beamopt.superposition_design("scenario", 1.0)
