"""CRBs against a numerical Slepian-Bangs Fisher information matrix.

The reference builds the echo model from scratch: G = alpha b(theta) a(phi)^H,
per-symbol covariance C = G W G^H + s2 I and mean mu_t = G s_t with an explicit
deterministic sequence S, differentiates mean and covariance by central
differences and evaluates

    J_ij = L tr(C^-1 dC_i C^-1 dC_j) + 2 Re sum_t dmu_t,i^H C^-1 dmu_t,j.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import beamopt
from beamopt import BistaticScenario


def _ula(n, angle):
    k = np.arange(n) - (n - 1) / 2
    return np.exp(1j * np.pi * k * np.sin(angle))


def _model(params, kind, sc, W, S):
    """Mean (n_rx, L) and covariance (n_rx, n_rx) of the echo at ``params``."""
    if kind == "gaussian":  # (theta, |alpha|) with the true phase held fixed
        theta, mag = params
        alpha = mag * np.exp(1j * np.angle(sc.alpha))
    else:  # (theta, Re alpha, Im alpha)
        theta, re, im = params
        alpha = re + 1j * im
    G = alpha * np.outer(_ula(sc.n_rx, theta), _ula(sc.n_tx, sc.dod).conj())
    C = G @ W @ G.conj().T + sc.noise_power * np.eye(sc.n_rx)
    mu = G @ S if S is not None else np.zeros((sc.n_rx, sc.n_symbols))
    return mu, C


def numerical_fim(sc, W, S=None, kind="superposition", step=1e-6):
    if kind == "gaussian":
        p0 = np.array([sc.doa, abs(sc.alpha)])
    else:
        p0 = np.array([sc.doa, sc.alpha.real, sc.alpha.imag])
    # relative step per parameter; the model is quadratic in alpha (exact differences)
    steps = step * np.maximum(np.abs(p0), 1e-3 * np.abs(sc.alpha))
    steps[0] = step
    derivs = []
    for i in range(len(p0)):
        e = np.zeros_like(p0)
        e[i] = steps[i]
        mu_p, C_p = _model(p0 + e, kind, sc, W, S)
        mu_m, C_m = _model(p0 - e, kind, sc, W, S)
        derivs.append(((mu_p - mu_m) / (2 * steps[i]), (C_p - C_m) / (2 * steps[i])))
    _, C = _model(p0, kind, sc, W, S)
    Ci = np.linalg.inv(C)
    J = np.zeros((len(p0), len(p0)))
    for i, (dmu_i, dC_i) in enumerate(derivs):
        for j, (dmu_j, dC_j) in enumerate(derivs):
            J[i, j] = sc.n_symbols * np.trace(Ci @ dC_i @ Ci @ dC_j).real + 2 * np.sum(
                (dmu_i.conj() * (Ci @ dmu_j)).real
            )
    return J


def _random_psd(rng, n, rank, scale):
    X = rng.standard_normal((n, rank)) + 1j * rng.standard_normal((n, rank))
    return scale * X @ X.conj().T / (n * rank)


def _random_case(seed):
    """A random scenario, Gaussian covariance W and deterministic sequence S."""
    rng = np.random.default_rng(seed)
    n_tx, n_rx = rng.integers(2, 9, size=2)
    L = int(rng.integers(1, 12))
    sc = BistaticScenario(
        n_tx=int(n_tx),
        n_rx=int(n_rx),
        dod=rng.uniform(-1.3, 1.3),
        doa=rng.uniform(-1.3, 1.3),
        alpha=complex(rng.standard_normal(), rng.standard_normal()) * 10 ** rng.uniform(-1, 0.5),
        noise_power=10 ** rng.uniform(-1, 1),
        n_symbols=L,
        power=1.0,
        channel=rng.standard_normal(n_tx) + 1j,
        comm_noise_power=1.0,
    )
    W = _random_psd(rng, sc.n_tx, int(rng.integers(1, sc.n_tx + 1)), rng.uniform(0.1, 2))
    S = (rng.standard_normal((sc.n_tx, L)) + 1j * rng.standard_normal((sc.n_tx, L))) * 0.5
    return sc, W, S


SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_gaussian_crb_matches_numerical_fim(seed):
    sc, W, _ = _random_case(seed)
    J = numerical_fim(sc, W, None, kind="gaussian")
    ref = np.linalg.inv(J)[0, 0]
    assert np.isclose(beamopt.crb_doa(sc, W), ref, rtol=1e-6, atol=0)
    np.testing.assert_allclose(beamopt.fisher_information(sc, W), J, rtol=1e-6, atol=1e-9 * J.max())


@pytest.mark.parametrize("seed", SEEDS)
def test_superposition_crb_matches_numerical_fim(seed):
    sc, W, S = _random_case(seed)
    Rs = S @ S.conj().T / sc.n_symbols
    J = numerical_fim(sc, W, S)
    ref = np.linalg.inv(J)[0, 0]
    assert np.isclose(beamopt.crb_doa(sc, W, Rs), ref, rtol=1e-6, atol=0)
    np.testing.assert_allclose(
        beamopt.fisher_information(sc, W, Rs), J, rtol=1e-6, atol=1e-9 * J.max()
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_deterministic_crb_matches_numerical_fim(seed):
    sc, _, S = _random_case(seed)
    Rs = S @ S.conj().T / sc.n_symbols
    Z = np.zeros((sc.n_tx, sc.n_tx))
    ref = np.linalg.inv(numerical_fim(sc, Z, S))[0, 0]
    assert np.isclose(beamopt.crb_doa(sc, Z, Rs), ref, rtol=1e-6, atol=0)
    # the classical conditional CRB: s2 / (2 L |alpha|^2 ||db||^2 a^H Rs a)
    a = _ula(sc.n_tx, sc.dod)
    D = np.pi**2 * np.cos(sc.doa) ** 2 * sc.n_rx * (sc.n_rx**2 - 1) / 12
    classic = sc.noise_power / (
        2 * sc.n_symbols * abs(sc.alpha) ** 2 * D * (a.conj() @ Rs @ a).real
    )
    assert np.isclose(beamopt.crb_doa(sc, Z, Rs), classic, rtol=1e-10)


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_known_realizations_crb_matches_numerical_fim(seed):
    # Known realisations: the information symbols act as a deterministic sequence.
    sc, W, S = _random_case(seed)
    rng = np.random.default_rng(seed)
    L = sc.n_symbols
    Wseq = np.linalg.cholesky(W + 1e-12 * np.eye(sc.n_tx)) @ (
        rng.standard_normal((sc.n_tx, L)) + 1j * rng.standard_normal((sc.n_tx, L))
    )
    X = Wseq + S
    Z = np.zeros((sc.n_tx, sc.n_tx))
    ref = np.linalg.inv(numerical_fim(sc, Z, X))[0, 0]
    Rx = X @ X.conj().T / L
    assert np.isclose(beamopt.crb_doa(sc, Rx, known_realizations=True), ref, rtol=1e-6)
    # only the total known covariance matters, however it is split
    got = beamopt.crb_doa(sc, 0.3 * Rx, 0.7 * Rx, known_realizations=True)
    assert np.isclose(got, ref, rtol=1e-6)


def test_crb_at_physical_scale_matches_numerical_fim():
    # watts and 1e-11 W noise: no loss of accuracy from the tiny magnitudes
    sc = BistaticScenario.default(n_tx=6, n_rx=5, n_symbols=8)
    rng = np.random.default_rng(3)
    W = _random_psd(rng, 6, 2, 0.5)
    S = 0.3 * (rng.standard_normal((6, 8)) + 1j * rng.standard_normal((6, 8)))
    ref = np.linalg.inv(numerical_fim(sc, W, S))[0, 0]
    assert np.isclose(beamopt.crb_doa(sc, W, S @ S.conj().T / 8), ref, rtol=1e-6)


def test_batched_covariances_broadcast():
    sc, W, S = _random_case(0)
    Rs = S @ S.conj().T / sc.n_symbols
    Wb = np.stack([W, 2 * W, 0.5 * W])
    crbs = beamopt.crb_doa(sc, Wb, Rs)
    assert crbs.shape == (3,)
    np.testing.assert_allclose(crbs, [beamopt.crb_doa(sc, M, Rs) for M in Wb], rtol=1e-14)
    assert beamopt.fisher_information(sc, Wb, Rs).shape == (3, 3, 3)
    assert beamopt.fisher_information(sc, Wb).shape == (3, 2, 2)


def test_no_power_toward_target_gives_infinite_crb():
    sc = BistaticScenario.default(n_tx=4, n_rx=4)
    assert beamopt.crb_doa(sc, np.zeros((4, 4))) == np.inf


# ---------------------------------------------------------------- properties
covs = st.integers(min_value=0, max_value=10_000)


@given(covs, st.floats(min_value=0.0, max_value=1.0))
def test_ordering_gaussian_superposition_deterministic(seed, rho):
    """At equal transmit covariance R: CRB_G >= CRB_superposition >= CRB_det (Remark 5)."""
    sc, R, _ = _random_case(seed)
    Z = np.zeros_like(R)
    g = beamopt.crb_doa(sc, R)
    s = beamopt.crb_doa(sc, rho * R, (1 - rho) * R)
    d = beamopt.crb_doa(sc, Z, R)
    assert g >= s * (1 - 1e-12)
    assert s >= d * (1 - 1e-12)


@given(covs)
def test_gaussian_deterministic_ratio_tends_to_one(seed):
    """CRB_G / CRB_det = 1 + 1/(g0 cW Nr) (Remark 2): -> 1 as the sensing SNR grows."""
    sc, R, _ = _random_case(seed)
    Z = np.zeros_like(R)
    ratios = []
    for gain in 10.0 ** np.arange(0, 12, 2):
        s = sc.replace(alpha=sc.alpha * np.sqrt(gain))
        ratios.append(beamopt.crb_doa(s, R) / beamopt.crb_doa(s, Z, R))
    ratios = np.array(ratios)
    assert np.all(ratios >= 1 - 1e-12)
    assert np.all(np.diff(ratios) <= 1e-12)
    # the excess is 1/(g0 cW Nr): inversely proportional to the echo power
    assert np.isclose((ratios[-1] - 1) / (ratios[0] - 1), 1e-10, rtol=1e-6)


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("W", "match"),
    [
        (np.ones((3, 3)), r"W must have shape \(\.\.\., 4, 4\)"),
        (np.full((4, 4), np.nan), "W must be finite"),
        (np.triu(np.ones((4, 4))), "W must be Hermitian"),
        (-np.eye(4), "W must be positive semidefinite"),
        ("abc", "W must be"),
    ],
)
def test_bad_covariance_rejected(W, match):
    sc = BistaticScenario.default(n_tx=4, n_rx=4)
    with pytest.raises(ValueError, match=match):
        beamopt.crb_doa(sc, W)


def test_bad_rs_rejected():
    sc = BistaticScenario.default(n_tx=4, n_rx=4)
    with pytest.raises(ValueError, match="Rs must be positive semidefinite"):
        beamopt.crb_doa(sc, np.eye(4), -np.eye(4))
