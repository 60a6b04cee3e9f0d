"""Benchmark schemes of the seed's Section V (beamopt.bistatic.schemes).

References are direct formulae evaluated here with numpy (rates from h, W, Rs; the
CRB's 1/L scaling checked by changing the scenario's symbol count) and brute-force
searches over the scheme parameter.
"""

from __future__ import annotations

import numpy as np
import pytest

import beamopt
from beamopt.bistatic.schemes import BOUNDARY_SIGNALS
from beamopt.errors import InfeasibleError

SIGNALS = BOUNDARY_SIGNALS


def _scenario(seed=0, **kw):
    kw = {"n_tx": 8, "n_rx": 6, "n_symbols": 64, **kw}
    return beamopt.BistaticScenario.from_geometry(rng=seed, **kw)


def _rate(sc, W, Rs):
    """log2(1 + h^H W h / (h^H Rs h + s2c)) computed directly."""
    h = sc.channel
    num = np.einsum("i,...ij,j->...", h.conj(), W, h).real
    den = np.einsum("i,...ij,j->...", h.conj(), Rs, h).real + sc.comm_noise_power
    return np.log2(1 + num / den)


def _crb(sc, W, Rs, signal):
    return beamopt.crb_doa(
        sc, W, Rs if signal == "superposition" else None, known_realizations=signal == "known"
    )


# ------------------------------------------------------------------- time switching
@pytest.mark.parametrize("signal", SIGNALS)
def test_time_switching_end_points(signal):
    sc = _scenario()
    ts = beamopt.time_switching(sc, [1.0, 0.0], signal)
    sensing = beamopt.minimize_crb(sc, None, signal=signal)
    # rho = 1: the sensing-optimal design (MRT toward the target) and its rate
    M = sc.power / sc.n_tx * np.outer(sc.a, sc.a.conj())
    assert ts.crb[0] == pytest.approx(sensing.crb, rel=1e-12)
    if signal == "superposition":  # all power to the known sequence: no data
        assert ts.crb[0] == pytest.approx(beamopt.crb_doa(sc, 0 * M, Rs=M), rel=1e-12)
        assert ts.rate[0] == pytest.approx(0.0, abs=1e-12)
    else:
        assert ts.crb[0] == pytest.approx(_crb(sc, M, 0 * M, signal), rel=1e-12)
        assert ts.rate[0] == pytest.approx(_rate(sc, M, 0 * M), rel=1e-12)
    # rho = 0: the rate-optimal design (MRT to the user), no sensing symbols
    h2 = np.vdot(sc.channel, sc.channel).real
    assert ts.rate[1] == pytest.approx(np.log2(1 + sc.power * h2 / sc.comm_noise_power))
    assert np.isinf(ts.crb[1])
    assert np.allclose(ts.W[1], sc.power * np.outer(sc.channel, sc.channel.conj()) / h2)


@pytest.mark.parametrize("signal", SIGNALS)
def test_time_switching_uses_sensing_symbols_only(signal):
    sc = _scenario(n_symbols=256)
    ts = beamopt.time_switching(sc, [0.25, 0.5], signal)
    full = beamopt.time_switching(sc, 1.0, signal)
    for rho, crb in zip((0.25, 0.5), ts.crb):
        short = beamopt.time_switching(sc.replace(n_symbols=int(rho * 256)), 1.0, signal)
        assert crb == pytest.approx(short.crb[0], rel=1e-12)
    # rate is the symbol-weighted average of the two blocks
    r_max = beamopt.time_switching(sc, 0.0, signal).rate[0]
    assert ts.rate == pytest.approx(
        np.array([0.25, 0.5]) * full.rate[0] + np.array([0.75, 0.5]) * r_max
    )
    # time-averaged covariances spend exactly the power budget
    assert np.trace(ts.W + ts.Rs, axis1=-2, axis2=-1).real == pytest.approx(sc.power)


@pytest.mark.parametrize("signal", SIGNALS)
def test_time_switching_at_rate_is_largest_feasible_fraction(signal):
    sc = _scenario(seed=3)
    r_max = beamopt.max_rate(sc)
    targets = np.linspace(0, r_max, 9)
    ts = beamopt.time_switching_at_rate(sc, targets, signal)
    assert np.all(ts.rate >= targets - 1e-9)
    # brute force over a fine grid of fractions: the best feasible CRB
    grid = beamopt.time_switching(sc, np.linspace(0, 1, 20001), signal)
    for r, crb in zip(targets, ts.crb):
        feasible = grid.rate >= r - 1e-12
        assert crb <= grid.crb[feasible].min() * (1 + 1e-12)
        assert crb >= grid.crb[feasible].min() * (1 - 1e-3)


# ------------------------------------------------------------------- power splitting
@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_power_splitting_respects_power_and_models(signal, seed):
    sc = _scenario(seed=seed)
    p_c = np.linspace(0, sc.power, 11)
    ps = beamopt.power_splitting(sc, p_c, signal)
    total = np.trace(ps.W + ps.Rs, axis1=-2, axis2=-1)
    assert total.real == pytest.approx(np.full(11, sc.power), rel=1e-12)
    assert np.abs(total.imag).max() < 1e-12 * sc.power
    for M in (ps.W, ps.Rs):  # PSD
        assert np.linalg.eigvalsh(M).min() >= -1e-12 * sc.power
    u = sc.channel / np.linalg.norm(sc.channel)
    beam_c = np.outer(u, u.conj())
    beam_s = np.outer(sc.a, sc.a.conj()) / sc.n_tx
    if signal == "superposition":
        assert np.allclose(ps.W, p_c[:, None, None] * beam_c)
        assert np.allclose(ps.Rs, (sc.power - p_c)[:, None, None] * beam_s)
    else:
        W = p_c[:, None, None] * beam_c + (sc.power - p_c)[:, None, None] * beam_s
        assert np.allclose(ps.W, W) and np.allclose(ps.Rs, 0)
    assert ps.rate == pytest.approx(_rate(sc, ps.W, ps.Rs), rel=1e-12)
    # the tradeoff the rate-target inversion relies on: more comm power, more rate, worse CRB
    assert np.all(np.diff(ps.rate) > 0)
    assert np.all(np.diff(ps.crb) >= -1e-12 * ps.crb[:-1])


@pytest.mark.parametrize("signal", SIGNALS)
def test_power_splitting_at_rate_matches_bisection(signal):
    sc = _scenario(seed=4)
    targets = np.linspace(0, beamopt.max_rate(sc), 7)
    ps = beamopt.power_splitting_at_rate(sc, targets, signal)
    assert np.all(ps.rate >= targets - 1e-9)
    for r, p in zip(targets, ps.parameter):
        lo, hi = 0.0, sc.power  # bisection for the least p_c reaching rate r
        if beamopt.power_splitting(sc, 0.0, signal).rate[0] >= r:
            hi = 0.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (
                (lo, mid) if beamopt.power_splitting(sc, mid, signal).rate[0] >= r else (mid, hi)
            )
        assert p == pytest.approx(hi, rel=1e-9, abs=1e-12 * sc.power)


def test_power_splitting_end_points_are_the_single_purpose_designs():
    sc = _scenario()
    for signal in SIGNALS:
        ps = beamopt.power_splitting(sc, [0.0, sc.power], signal)
        sensing = beamopt.minimize_crb(sc, None, signal=signal)
        assert ps.crb[0] == pytest.approx(sensing.crb, rel=1e-12)
        assert ps.rate[1] == pytest.approx(beamopt.max_rate(sc), rel=1e-12)


# ---------------------------------------------------------------------- validation
def test_scheme_errors():
    sc = _scenario()
    with pytest.raises(ValueError, match="fraction"):
        beamopt.time_switching(sc, 1.5)
    with pytest.raises(ValueError, match="comm_power"):
        beamopt.power_splitting(sc, -1.0)
    with pytest.raises(ValueError, match="signal"):
        beamopt.power_splitting(sc, 0.1, "deterministic")
    with pytest.raises(InfeasibleError, match="rate"):
        beamopt.time_switching_at_rate(sc, beamopt.max_rate(sc) + 0.1)
    with pytest.raises(ValueError, match="rate"):
        beamopt.power_splitting_at_rate(sc, -0.1)
    two = beamopt.BistaticScenario.from_geometry(n_tx=4, user_angle_deg=[-10.0, 40.0])
    with pytest.raises(ValueError, match="single communication user"):
        beamopt.time_switching(two, 0.5)


# -------------------------------------------------------------- sensing-only (V-A)
def test_sensing_only_designs_split_the_power():
    sc = _scenario()
    M = sc.power / sc.n_tx * np.outer(sc.a, sc.a.conj())
    for signal, share in (("gaussian", 0.0), ("deterministic", 1.0), ("superposition", 0.3)):
        W, Rs = beamopt.sensing_only_design(sc, signal, deterministic_fraction=0.3)
        assert np.allclose(W, (1 - share) * M) and np.allclose(Rs, share * M)
    with pytest.raises(ValueError, match="deterministic_fraction"):
        beamopt.sensing_only_design(sc, "superposition", deterministic_fraction=1.2)


def test_with_sensing_snr_sets_the_snr():
    sc = _scenario()
    snr_db = np.array([-10.0, 0.0, 25.0])
    scs = beamopt.with_sensing_snr(sc, snr_db)
    got = [10 * np.log10(s.g0 * s.power * s.n_tx * s.n_rx) for s in scs]
    assert got == pytest.approx(snr_db)
    assert all(s.power == sc.power and s.alpha == sc.alpha for s in scs)


def test_crb_sweep_orders_signals_at_equal_power(tmp_path):
    sc = _scenario()
    snr = np.linspace(-20, 30, 6)
    sweep = beamopt.crb_sweep(beamopt.with_sensing_snr(sc, snr), snr, x_label="SNR (dB)")
    g, d, s = sweep.crb
    # equal power: Gaussian >= superposition >= deterministic (the seed's Fig. 2)
    assert np.all(g >= s) and np.all(s >= d)
    assert sweep.sensing_snr_db == pytest.approx(snr)
    assert sweep.mse is None
    path = sweep.to_csv(tmp_path / "sweep.csv")
    data = np.loadtxt(path, delimiter=",", skiprows=2)
    assert np.array_equal(data[:, 2:5], sweep.crb.T)


def test_crb_sweep_with_estimator_mse():
    sc = _scenario()
    snr = np.array([30.0, 40.0])
    sweep = beamopt.crb_sweep(beamopt.with_sensing_snr(sc, snr), snr, n_trials=200, rng=1)
    assert sweep.mse.shape == sweep.crb.shape
    # at high SNR the estimators are efficient; 200 trials give about +-20 % (2 sigma)
    assert np.all(np.abs(sweep.mse / sweep.crb - 1) < 0.35)


def test_crb_sweep_errors():
    sc = _scenario()
    with pytest.raises(ValueError, match="same non-zero length"):
        beamopt.crb_sweep([sc, sc], [1.0])
    with pytest.raises(ValueError, match="signals"):
        beamopt.crb_sweep([sc], [1.0], signals=("known",))
    with pytest.raises(ValueError, match="n_trials"):
        beamopt.crb_sweep([sc], [1.0], n_trials=2.5)
