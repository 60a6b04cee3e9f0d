"""Low-rank designs (beamopt.bistatic._lowrank): metrics from factors against the dense path."""

from __future__ import annotations

import sys
import tracemalloc
import types

import numpy as np
import pytest

import beamopt
from beamopt._threads import single_blas_thread
from beamopt.bistatic import _lowrank as lowrank
from beamopt.bistatic.estimation import _lags

SIGNALS = ("gaussian", "superposition", "known")


def _random_scenario(seed):
    rng = np.random.default_rng(seed)
    return beamopt.BistaticScenario.from_geometry(
        n_tx=int(rng.integers(2, 40)),
        n_rx=int(rng.integers(2, 12)),
        dod_deg=float(rng.uniform(-60, 60)),
        doa_deg=float(rng.uniform(-60, 60)),
        user_angle_deg=float(rng.uniform(-60, 60)),
        k_factor=float(rng.uniform(0, 5)),
        power_dbm=float(rng.uniform(20, 40)),
        rng=seed,
    )


def _dense_reference(sc, W, Rs, signal):
    """CRB and rate through the public, validating dense path."""
    Rs_model = Rs if signal == "superposition" else None
    crb = beamopt.crb_doa(sc, W, Rs_model, known_realizations=signal == "known")
    return crb, beamopt.communication_rate(sc, W, Rs)


def test_quad_and_dense_match_explicit_products(rng):
    V = rng.standard_normal((3, 7, 2)) + 1j * rng.standard_normal((3, 7, 2))
    x = rng.standard_normal(7) + 1j * rng.standard_normal(7)
    M = V @ np.conj(np.swapaxes(V, -1, -2))
    np.testing.assert_allclose(lowrank.dense(V), M, atol=1e-12)
    np.testing.assert_allclose(lowrank.quad(x, V), (x.conj() @ M @ x).real, rtol=1e-12)
    # rank zero is the zero matrix
    empty = np.zeros((3, 7, 0), dtype=complex)
    assert np.all(lowrank.dense(empty) == 0) and np.all(lowrank.quad(x, empty) == 0)


def test_from_dense_recovers_psd_stack(rng):
    V = rng.standard_normal((4, 9, 3)) + 1j * rng.standard_normal((4, 9, 3))
    M = V @ np.conj(np.swapaxes(V, -1, -2))
    F = lowrank.from_dense(M)
    assert F.shape == (4, 9, 3)
    np.testing.assert_allclose(F @ np.conj(np.swapaxes(F, -1, -2)), M, atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("scheme", ("optimal", "power_splitting"))
def test_boundary_metrics_from_factors_equal_dense_path(seed, signal, scheme):
    sc = _random_scenario(seed)
    front = beamopt.crb_rate_boundary(sc, signal=signal, scheme=scheme, n_points=9)
    crb, rate = _dense_reference(sc, front.W, front.Rs, signal)
    np.testing.assert_allclose(front.crb, crb, rtol=1e-10)
    np.testing.assert_allclose(front.achieved_rate, rate, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("signal", SIGNALS)
def test_time_switching_factors_are_the_time_average(signal):
    sc = _random_scenario(11)
    front = beamopt.crb_rate_boundary(sc, signal=signal, scheme="time_switching", n_points=7)
    rho = front.parameter[:, None, None]
    mrt = beamopt.mrt_covariance(sc.a, sc.power)
    W_s, R_s = (0 * mrt, mrt) if signal == "superposition" else (mrt, 0 * mrt)
    W_c = beamopt.mrt_covariance(sc.channel, sc.power)
    np.testing.assert_allclose(front.W, rho * W_s + (1 - rho) * W_c, atol=1e-12 * sc.power)
    np.testing.assert_allclose(front.Rs, rho * R_s, atol=1e-12 * sc.power)


@pytest.mark.parametrize("seed", range(4))
def test_superposition_design_factors_equal_dense_path(seed):
    sc = _random_scenario(seed)
    gamma = np.linspace(0, sc.max_snr[0], 6).reshape(2, 3)
    d = beamopt.superposition_design(sc, gamma)
    assert d.W_factor.shape == (2, 3, sc.n_tx, 1) and d.W.shape == (2, 3, sc.n_tx, sc.n_tx)
    np.testing.assert_allclose(d.crb, beamopt.crb_doa(sc, d.W, d.Rs), rtol=1e-10)
    np.testing.assert_allclose(d.sinr, beamopt.communication_sinr(sc, d.W, d.Rs), rtol=1e-10)


def test_sdp_boundary_factors_reproduce_the_solver_designs():
    sc = _random_scenario(3).replace(n_tx=4, channel=_random_scenario(3).channel[:4])
    rates = np.linspace(0, beamopt.max_rate(sc) * 0.9, 3)
    front = beamopt.crb_rate_boundary(sc, signal="gaussian", rates=rates, method="sdp")
    for i, g in enumerate(front.parameter):
        res = beamopt.minimize_crb(sc, float(g), method="sdp")
        np.testing.assert_allclose(front.W[i], res.W, atol=1e-7 * sc.power)
    crb, _ = _dense_reference(sc, front.W, front.Rs, "gaussian")
    np.testing.assert_allclose(front.crb, crb, rtol=1e-9)


def test_large_boundary_stores_factors_not_dense_stacks():
    sc = beamopt.BistaticScenario.from_geometry(n_tx=256)
    tracemalloc.start()
    front = beamopt.crb_rate_boundary(sc, signal="superposition", n_points=100)
    gauss = beamopt.crb_rate_boundary(sc, signal="gaussian", n_points=100)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert front.W_factor.shape == (100, 256, 1) and front.Rs_factor.shape == (100, 256, 1)
    assert gauss.W_factor.shape == (100, 256, 1) and gauss.Rs_factor.shape == (100, 256, 0)
    # one dense (100, 256, 256) complex stack alone would be 105 MB
    assert peak < 20 * 2**20
    assert "W" not in vars(front) and "Rs" not in vars(front)  # nothing materialised yet
    assert front.W.shape == (100, 256, 256) and front.W is front.W  # formed once, then cached


def test_crb_sweep_crbs_equal_dense_path():
    sc = _random_scenario(5)
    scenarios = beamopt.with_sensing_snr(sc, [-10.0, 0.0, 10.0])
    sweep = beamopt.crb_sweep(scenarios, [-10.0, 0.0, 10.0], deterministic_fraction=0.3)
    for i, s in enumerate(sweep.signals):
        for j, scj in enumerate(scenarios):
            W, Rs = beamopt.sensing_only_design(scj, s, 0.3)
            ref = beamopt.crb_doa(scj, W, None if s == "gaussian" else Rs)
            assert sweep.crb[i, j] == pytest.approx(ref, rel=1e-12)


def test_lags_are_the_diagonal_sums_of_the_sample_covariance(rng):
    Y = rng.standard_normal((5, 7, 11)) + 1j * rng.standard_normal((5, 7, 11))
    R = Y @ np.conj(np.swapaxes(Y, -1, -2)) / 11
    ref = np.stack([np.trace(R, offset=k, axis1=-2, axis2=-1) for k in range(7)], axis=-1)
    np.testing.assert_allclose(_lags(Y), ref, atol=1e-13)


def test_single_blas_thread_uses_threadpoolctl_when_present(monkeypatch):
    calls = []
    fake = types.ModuleType("threadpoolctl")
    fake.threadpool_limits = lambda **kw: calls.append(kw) or _Null()
    monkeypatch.setitem(sys.modules, "threadpoolctl", fake)
    with single_blas_thread():
        pass
    assert calls == [{"limits": 1, "user_api": "blas"}]
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails: a no-op
    with single_blas_thread():
        pass
    assert len(calls) == 1


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
