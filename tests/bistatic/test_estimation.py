"""DoA estimators against independent references.

The reference log-likelihood is built from scratch from the echo model,

    y_t ~ CN(G s_t, G W G^H + s2 I),   G = alpha b(theta) a(phi)^H,

with an explicit log-determinant and quadratic form (no closed forms of the estimator).
It is maximised numerically (scipy) at fixed theta and over brute-force dense grids;
Monte Carlo MSEs are compared with the CRB.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

import beamopt
from beamopt import BistaticScenario


def _ula(n, angle):
    k = np.arange(n) - (n - 1) / 2
    return np.exp(1j * np.pi * np.multiply.outer(np.sin(angle), k))


def reference_loglik(Y, sc, W, S, theta, alpha):
    """Full log-likelihood of one trial ``Y`` (n_rx, L) at arrays of (theta, alpha)."""
    theta, alpha = np.broadcast_arrays(np.asarray(theta, float), np.asarray(alpha, complex))
    shape = theta.shape
    theta, alpha = theta.ravel(), alpha.ravel()
    a = _ula(sc.n_tx, sc.dod)
    G = alpha[:, None, None] * _ula(sc.n_rx, theta)[:, :, None] * a.conj()  # (K, n_rx, n_tx)
    C = G @ W @ np.conj(np.swapaxes(G, -1, -2)) + sc.noise_power * np.eye(sc.n_rx)
    mean = G @ S if S is not None else np.zeros((len(theta), *Y.shape), complex)
    resid = Y - mean
    L = Y.shape[-1]
    quad = np.einsum("knt,knt->k", resid.conj(), np.linalg.solve(C, resid)).real
    logdet = np.linalg.slogdet(C)[1]
    return (-L * (sc.n_rx * np.log(np.pi) + logdet) - quad).reshape(shape)


def _scenario(snr_db, **kw):
    """Small scenario with the full-power MRT sensing SNR ``g0 P Nt Nr`` set to ``snr_db``."""
    sc = BistaticScenario.default(**kw)
    return sc.replace(noise_power=sc.noise_power * sc.sensing_snr / 10 ** (snr_db / 10))


def _designs(sc):
    M = beamopt.mrt_covariance(sc.a, sc.power)
    return {"gaussian": (M, None), "deterministic": (0 * M, M), "superposition": (M / 2, M / 2)}


# ------------------------------------------------------------- efficiency
@pytest.mark.parametrize(
    "signal, method",
    [
        ("gaussian", "phase_magnitude"),
        ("deterministic", "phase_magnitude"),
        ("deterministic", "ml"),
        ("superposition", "phase_magnitude"),
        ("superposition", "ml"),
    ],
)
def test_mse_attains_crb_at_high_snr(signal, method):
    # 4000 trials: the MSE's relative standard deviation is about sqrt(2/4000) = 2.2%,
    # so the 20% tolerance is about nine standard errors (checked on the sample below).
    sc = _scenario(20.0, n_tx=8, n_rx=8, n_symbols=64)
    W, Rs = _designs(sc)[signal]
    res = beamopt.doa_mse(sc, W, Rs, n_trials=4000, rng=2024, method=method)
    assert res.crb == pytest.approx(beamopt.crb_doa(sc, W, Rs))
    assert res.std_error < 0.05 * res.mse
    assert abs(res.ratio - 1.0) < 0.2
    assert abs(res.bias) < 0.2 * np.sqrt(res.crb)


# ---------------------------------------------- closed forms vs numerical ML
def _one_trial(sc, signal, seed=3):
    W, Rs = _designs(sc)[signal]
    Y, S = beamopt.simulate_echoes(sc, W, Rs, n_trials=1, rng=seed)
    return Y[0], S, W


def _fixed_theta(Y, sc, W, S, theta, method):
    """The estimator restricted to a single DoA (a degenerate search range)."""
    return beamopt.estimate_doa(
        Y, sc, W, S, method=method, search_range=(theta - 1e-12, theta + 1e-12), grid_size=3
    )


@pytest.mark.parametrize("offset", [0.0, 0.02, -0.05])
def test_gaussian_magnitude_closed_form_matches_numerical_ml(offset):
    sc = _scenario(5.0, n_tx=4, n_rx=6, n_symbols=16)
    Y, _, W = _one_trial(sc, "gaussian")
    theta = sc.doa + offset
    est = _fixed_theta(Y, sc, W, None, theta, "ml")
    scale = abs(sc.alpha)
    res = minimize_scalar(
        lambda x: -reference_loglik(Y, sc, W, None, theta, x * scale),
        bounds=(0.0, 10.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert est.doa == pytest.approx(theta, abs=1e-11)
    assert abs(est.alpha) == pytest.approx(res.x * scale, rel=1e-6)
    assert est.log_likelihood == pytest.approx(-res.fun, rel=1e-10)


@pytest.mark.parametrize("signal", ["deterministic", "superposition"])
@pytest.mark.parametrize("offset", [0.0, 0.03])
def test_complex_gain_ml_matches_numerical_ml(signal, offset):
    sc = _scenario(0.0, n_tx=4, n_rx=6, n_symbols=16)
    Y, S, W = _one_trial(sc, signal)
    theta = sc.doa + offset
    est = _fixed_theta(Y, sc, W, S, theta, "ml")
    scale = abs(sc.alpha)

    def neg(x):
        return -reference_loglik(Y, sc, W, S, theta, (x[0] + 1j * x[1]) * scale)

    x0 = np.array([sc.alpha.real, sc.alpha.imag]) / scale
    res = minimize(neg, x0, method="Nelder-Mead", options={"xatol": 1e-11, "fatol": 1e-13})
    assert est.alpha == pytest.approx(complex(*res.x) * scale, rel=1e-5)
    assert est.log_likelihood == pytest.approx(-res.fun, rel=1e-10)
    # The seed's heuristic shares the ML phase and can only do worse in likelihood.
    heuristic = _fixed_theta(Y, sc, W, S, theta, "phase_magnitude")
    assert np.angle(heuristic.alpha) == pytest.approx(np.angle(est.alpha), abs=1e-9)
    assert heuristic.log_likelihood <= est.log_likelihood + 1e-9 * abs(est.log_likelihood)


def test_gaussian_argmax_matches_brute_force_grid():
    sc = _scenario(3.0, n_tx=4, n_rx=6, n_symbols=16)
    Y, _, W = _one_trial(sc, "gaussian", seed=11)
    est = beamopt.estimate_doa(Y, sc, W)
    # global coarse grid over the whole half-plane and a wide range of |alpha|
    thetas = np.linspace(-np.pi / 2 + 1e-3, np.pi / 2 - 1e-3, 721)
    mags = np.geomspace(0.05, 20.0, 120) * abs(sc.alpha)
    ll = reference_loglik(Y, sc, W, None, thetas[:, None], mags[None, :])
    i, j = np.unravel_index(np.argmax(ll), ll.shape)
    assert est.log_likelihood >= ll.max() - 1e-10 * abs(ll.max())
    # dense grid around the coarse maximum
    step = thetas[1] - thetas[0]
    fine_t = np.linspace(thetas[i] - step, thetas[i] + step, 401)
    fine_m = np.linspace(0.7, 1.3, 301) * mags[j]
    ll = reference_loglik(Y, sc, W, None, fine_t[:, None], fine_m[None, :])
    i, j = np.unravel_index(np.argmax(ll), ll.shape)
    assert abs(est.doa - fine_t[i]) <= fine_t[1] - fine_t[0]
    assert abs(abs(est.alpha) - fine_m[j]) <= fine_m[1] - fine_m[0]
    assert est.log_likelihood == pytest.approx(
        reference_loglik(Y, sc, W, None, est.doa, est.alpha), rel=1e-10
    )


def test_superposition_ml_argmax_matches_brute_force_grid():
    sc = _scenario(0.0, n_tx=4, n_rx=6, n_symbols=16)
    Y, S, W = _one_trial(sc, "superposition", seed=5)
    est = beamopt.estimate_doa(Y, sc, W, S, method="ml")
    sd = np.sqrt(beamopt.crb_doa(sc, *_designs(sc)["superposition"]))
    # 3-D grid (theta, Re alpha, Im alpha) centred on the estimate; the argmax must be
    # the centre to within one step in every coordinate
    t = est.doa + np.linspace(-3, 3, 41) * sd
    r = est.alpha.real + np.linspace(-0.15, 0.15, 41) * abs(est.alpha)
    m = est.alpha.imag + np.linspace(-0.15, 0.15, 41) * abs(est.alpha)
    T, R, M = np.meshgrid(t, r, m, indexing="ij")
    ll = reference_loglik(Y, sc, W, S, T, R + 1j * M)
    idx = np.unravel_index(np.argmax(ll), ll.shape)
    assert all(abs(k - 20) <= 1 for k in idx)
    assert est.log_likelihood >= ll.max() - 1e-10 * abs(ll.max())
    assert est.log_likelihood == pytest.approx(
        reference_loglik(Y, sc, W, S, est.doa, est.alpha), rel=1e-10
    )


# ------------------------------------------------------------- vectorisation
def test_batch_matches_single_trials():
    sc = _scenario(5.0, n_tx=4, n_rx=6, n_symbols=16)
    W, Rs = _designs(sc)["superposition"]
    Y, S = beamopt.simulate_echoes(sc, W, Rs, n_trials=6, rng=0)
    batch = beamopt.estimate_doa(Y.reshape(2, 3, sc.n_rx, -1), sc, W, S)
    assert batch.doa.shape == batch.alpha.shape == batch.log_likelihood.shape == (2, 3)
    for i, y in enumerate(Y):
        single = beamopt.estimate_doa(y, sc, W, S)
        assert isinstance(single.doa, float) and isinstance(single.alpha, complex)
        assert single.doa == pytest.approx(batch.doa.ravel()[i], abs=1e-10)
        assert single.alpha == pytest.approx(batch.alpha.ravel()[i], rel=1e-8)


def test_search_range_restricts_estimate():
    sc = _scenario(20.0, n_tx=4, n_rx=6, n_symbols=16)
    W, _ = _designs(sc)["gaussian"]
    Y, _ = beamopt.simulate_echoes(sc, W, n_trials=5, rng=1)
    est = beamopt.estimate_doa(Y, sc, W, search_range=(-0.5, 0.0))
    assert np.all((est.doa >= -0.5) & (est.doa <= 0.0))
    wide = beamopt.estimate_doa(Y, sc, W, search_range=(0.0, 1.0))
    assert np.allclose(wide.doa, sc.doa, atol=0.05)


# ----------------------------------------------------------------- bad input
@pytest.fixture
def setup():
    sc = BistaticScenario.default(n_tx=4, n_rx=6, n_symbols=16)
    W, Rs = _designs(sc)["superposition"]
    Y, S = beamopt.simulate_echoes(sc, W, Rs, n_trials=2, rng=0)
    return sc, W, Y, S


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda sc, W, Y, S: (Y[:, :-1], S, W, {}), "Y must have shape"),
        (lambda sc, W, Y, S: (Y[0, 0], S, W, {}), "Y must have shape"),
        (lambda sc, W, Y, S: (np.where(np.arange(16) == 3, np.nan, Y), S, W, {}), "Y must be"),
        (lambda sc, W, Y, S: (Y, S[:, :-1], W, {}), "S must have shape"),
        (lambda sc, W, Y, S: (Y, S[:-1], W, {}), "S must have shape"),
        (lambda sc, W, Y, S: (Y, S * np.inf, W, {}), "S must be finite"),
        (lambda sc, W, Y, S: (Y, S, W[:-1], {}), "W must have shape"),
        (lambda sc, W, Y, S: (Y, S, -W, {}), "W must be positive semidefinite"),
        (lambda sc, W, Y, S: (Y, None, 0 * W, {}), "not identifiable"),
        (lambda sc, W, Y, S: (Y, S, W, {"method": "music"}), "method must be one of"),
        (lambda sc, W, Y, S: (Y, S, W, {"grid_size": 2}), "grid_size"),
        (lambda sc, W, Y, S: (Y, S, W, {"search_range": (0.5, 0.1)}), "search_range"),
        (lambda sc, W, Y, S: (Y, S, W, {"search_range": (-2.0, 0.1)}), "search_range"),
        (lambda sc, W, Y, S: (Y, S, W, {"xtol": 0.0}), "xtol"),
    ],
)
def test_bad_inputs_raise(setup, change, match):
    sc, W, Y, S = setup
    Y, S, W, kw = change(sc, W, Y, S)
    with pytest.raises(ValueError, match=match):
        beamopt.estimate_doa(Y, sc, W, S, **kw)
