"""The seed paper's (003) qualitative claims of Section V, checked numerically.

Each test states the claim it checks. References are limits and scaling laws (log-log
slopes fitted here), orderings between signal models and schemes at equal rate, never
numbers copied from the implementation.
"""

from __future__ import annotations

import numpy as np
import pytest

import beamopt

GEOMETRY = {"n_tx": 8, "n_rx": 8, "n_symbols": 128}


def _scenario(seed=0, **kw):
    return beamopt.BistaticScenario.from_geometry(rng=seed, **{**GEOMETRY, **kw})


def _slope(x, y) -> float:
    """Least-squares slope of log10(y) against log10(x)."""
    return float(np.polyfit(np.log10(x), np.log10(y), 1)[0])


def test_gaussian_crb_approaches_deterministic_at_high_snr():
    """Remark 2 / Fig. 2: the Gaussian-only CRB exceeds the deterministic one at equal
    transmit covariance, and the gap closes as the sensing SNR grows."""
    snr_db = np.linspace(-10, 60, 15)
    sweep = beamopt.crb_sweep(
        beamopt.with_sensing_snr(_scenario(), snr_db), snr_db, signals=("gaussian", "deterministic")
    )
    ratio = sweep.crb[0] / sweep.crb[1]
    assert np.all(ratio > 1) and np.all(np.diff(ratio) < 0)
    assert ratio[0] > 2  # a visible gap at low SNR
    assert ratio[-1] - 1 < 1e-5  # closed at 60 dB
    # the excess decays like 1/SNR: slope -1 in log-log at high SNR
    high = snr_db >= 30
    assert _slope(10 ** (snr_db[high] / 10), ratio[high] - 1) == pytest.approx(-1, abs=0.01)


@pytest.mark.parametrize(("snr_range_db", "gaussian_slope"), [((-70, -50), -2), ((50, 70), -1)])
def test_minimum_crb_power_scaling(snr_range_db, gaussian_slope):
    """Remark 3 / Fig. 3: with the optimal (MRT) design the Gaussian-only CRB falls as
    1/P^2 at low sensing SNR and 1/P at high SNR; the deterministic one as 1/P throughout."""
    sc = _scenario()
    snr = 10 ** (np.linspace(*snr_range_db, 9) / 10)
    powers = sc.power * snr / sc.sensing_snr  # the sensing SNR is proportional to P
    gauss = [beamopt.minimize_crb(sc.replace(power=p), None, signal="gaussian").crb for p in powers]
    determ = [
        beamopt.minimize_crb(sc.replace(power=p), None, signal="superposition").crb for p in powers
    ]
    assert _slope(powers, gauss) == pytest.approx(gaussian_slope, abs=0.01)
    assert _slope(powers, determ) == pytest.approx(-1, abs=1e-9)


def test_sensing_only_optimum_is_all_deterministic():
    """Proposition 2: with both signal types, the sensing-only CRB is smallest when all
    power goes to the deterministic signal."""
    sc = _scenario()
    fractions = np.linspace(0, 1, 21)
    crb = [
        beamopt.crb_doa(sc, *beamopt.sensing_only_design(sc, "superposition", f)) for f in fractions
    ]
    assert np.all(np.diff(crb) < 0)
    assert crb[-1] == pytest.approx(beamopt.minimize_crb(sc, None, "superposition").crb)


def test_crb_grows_with_target_receiver_distance():
    """Fig. 4: the CRB increases with the target-receiver distance, for every signal, and
    the Gaussian-only signal needs more SNR for the same CRB."""
    dist = np.linspace(10, 300, 12)
    scs = [_scenario(d_target_rx=float(d)) for d in dist]
    sweep = beamopt.crb_sweep(scs, dist, deterministic_fraction=0.1)
    assert np.all(np.diff(sweep.crb, axis=1) > 0)
    assert np.all(sweep.crb[0] >= sweep.crb[2]) and np.all(sweep.crb[2] >= sweep.crb[1])


@pytest.mark.parametrize("seed", [0, 1])
def test_superposition_boundary_between_gaussian_and_known(seed):
    """Fig. 5: adding deterministic sensing signals lowers the CRB-rate boundary of
    Gaussian-only signalling, and known realisations lower it further."""
    sc = _scenario(seed=seed)
    rates = np.linspace(0, beamopt.max_rate(sc), 9)
    gauss, sup, known = (
        beamopt.crb_rate_boundary(sc, signal=s, rates=rates).crb
        for s in ("gaussian", "superposition", "known")
    )
    tol = 1e-5
    assert np.all(known <= sup * (1 + tol))
    assert np.all(sup <= gauss * (1 + tol))
    assert np.any(sup < gauss * (1 - 1e-3))  # a real gain somewhere


def _scheme_points(sc, scheme, signal):
    """(rate, CRB) pairs of a benchmark along its own parameter, sorted by rate."""
    if scheme == "time_switching":
        design = beamopt.time_switching(sc, np.linspace(0.02, 1, 25), signal)
    else:
        design = beamopt.power_splitting(sc, np.linspace(0, sc.power, 25), signal)
    order = np.argsort(design.rate)
    return np.minimum(design.rate[order], beamopt.max_rate(sc)), design.crb[order]


@pytest.mark.parametrize("scheme", ["time_switching", "power_splitting"])
@pytest.mark.parametrize("signal", ["gaussian", "known", "superposition"])
@pytest.mark.parametrize("seed", [0, 3])
def test_optimal_boundary_dominates_benchmarks(scheme, signal, seed):
    """Fig. 6: the optimised design reaches a lower CRB than time switching and power
    splitting at the same rate, with a visible gain at moderate rates."""
    sc = _scenario(seed=seed)
    rate, crb = _scheme_points(sc, scheme, signal)
    best = beamopt.crb_rate_boundary(sc, signal=signal, rates=rate).crb
    assert np.all(best <= crb * (1 + 1e-6))
    assert np.max(crb / best) > 1.001
