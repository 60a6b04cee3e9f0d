"""CRBs of a scenario with non-ideal element positions against a numerical FIM.

The reference model uses the raw (uncentred) positions of an impaired array,
b_k(theta) = exp(j 2 pi p_k sin theta), and differentiates the echo mean and
covariance by central differences, as tests/bistatic/test_crb.py does for the ULA.
"""

from __future__ import annotations

import numpy as np
import pytest

import beamopt
from beamopt import BistaticScenario
from beamopt.beampattern import ideal_positions, impaired_positions


def _steer(pos, angle):
    return np.exp(2j * np.pi * np.asarray(pos) * np.sin(angle))


def numerical_crb(sc, tx_pos, rx_pos, W, S, kind, step=1e-6):
    """Inverse numerical Slepian-Bangs FIM, DoA entry."""

    def model(p):
        if kind == "gaussian":  # (theta, |alpha|), true phase held fixed
            alpha = p[1] * np.exp(1j * np.angle(sc.alpha))
        else:  # (theta, Re alpha, Im alpha)
            alpha = p[1] + 1j * p[2]
        G = alpha * np.outer(_steer(rx_pos, p[0]), _steer(tx_pos, sc.dod).conj())
        C = G @ W @ G.conj().T + sc.noise_power * np.eye(sc.n_rx)
        mu = G @ S if S is not None else np.zeros((sc.n_rx, sc.n_symbols))
        return mu, C

    if kind == "gaussian":
        p0 = np.array([sc.doa, abs(sc.alpha)])
    else:
        p0 = np.array([sc.doa, sc.alpha.real, sc.alpha.imag])
    steps = np.maximum(step * np.abs(p0), step * 1e-3 * abs(sc.alpha))
    steps[0] = step
    d = []
    for i in range(p0.size):
        e = np.zeros_like(p0)
        e[i] = steps[i]
        (mp, Cp), (mm, Cm) = model(p0 + e), model(p0 - e)
        d.append(((mp - mm) / (2 * steps[i]), (Cp - Cm) / (2 * steps[i])))
    Ci = np.linalg.inv(model(p0)[1])
    J = np.array([[sc.n_symbols * np.trace(Ci @ dCi @ Ci @ dCj).real
                   + 2 * np.sum((dmi.conj() * (Ci @ dmj)).real)
                   for dmj, dCj in d] for dmi, dCi in d])  # fmt: skip
    return np.linalg.inv(J)[0, 0]


def _case(seed):
    rng = np.random.default_rng(seed)
    n_tx, n_rx, L = 6, 8, 5
    # raw positions from the first element (not centred), sigma larger than the paper's
    tx = impaired_positions(n_tx, rng=seed, sigma=0.1) + 0.37
    rx = impaired_positions(n_rx, rng=seed + 100, sigma=0.1)
    rx = rx - rx[0]
    sc = BistaticScenario(
        n_tx=n_tx, n_rx=n_rx, dod=0.3, doa=rng.uniform(-1.2, 1.2),
        alpha=complex(rng.standard_normal(), rng.standard_normal()), noise_power=0.5,
        n_symbols=L, power=1.0, channel=np.ones(n_tx), comm_noise_power=1.0,
        tx_positions=tx, rx_positions=rx,
    )  # fmt: skip
    X = rng.standard_normal((n_tx, 3)) + 1j * rng.standard_normal((n_tx, 3))
    W = X @ X.conj().T / 6
    S = (rng.standard_normal((n_tx, L)) + 1j * rng.standard_normal((n_tx, L))) * 0.5
    return sc, tx, rx, W, S


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["gaussian", "superposition", "deterministic"])
def test_crb_with_impaired_positions_matches_numerical_fim(seed, kind):
    sc, tx, rx, W, S = _case(seed)
    if kind == "deterministic":
        W = np.zeros_like(W)
    Rs = None if kind == "gaussian" else S @ S.conj().T / sc.n_symbols
    ref = numerical_crb(sc, tx, rx, W, None if kind == "gaussian" else S, kind)
    assert np.isclose(beamopt.crb_doa(sc, W, Rs), ref, rtol=1e-6, atol=0)
    # and the impairment matters: the ideal-array CRB is a different number
    ideal = sc.replace(tx_positions=None, rx_positions=None)
    assert not np.isclose(beamopt.crb_doa(ideal, W, Rs), ref, rtol=1e-3)


def test_ideal_positions_reproduce_the_default_scenario():
    sc = BistaticScenario.default()
    same = sc.replace(tx_positions=ideal_positions(sc.n_tx), rx_positions=ideal_positions(sc.n_rx))
    np.testing.assert_allclose(same.a, sc.a, atol=1e-12)
    np.testing.assert_allclose(same.b, sc.b, atol=1e-12)
    np.testing.assert_allclose(same.db, sc.db, atol=1e-12)
    assert np.isclose(same.db_norm2, sc.db_norm2, rtol=1e-12)
    assert sc.tx_positions is None and sc.rx_positions is None
    W = np.outer(sc.a, sc.a.conj()) * sc.power / sc.n_tx
    assert np.isclose(beamopt.crb_doa(same, W), beamopt.crb_doa(sc, W), rtol=1e-10)


def test_design_for_the_impaired_array_beats_the_ideal_design_on_it():
    sc = BistaticScenario.default(n_tx=8, n_rx=8)
    imp = sc.replace(tx_positions=impaired_positions(8, rng=3, sigma=0.1),
                     rx_positions=impaired_positions(8, rng=4, sigma=0.1))  # fmt: skip
    mine = beamopt.minimize_crb(imp, snr_min=10**1.5)
    naive = beamopt.minimize_crb(sc, snr_min=10**1.5)  # same channel: feasible on imp too
    assert np.isclose(mine.crb, beamopt.crb_doa(imp, mine.W, mine.Rs), rtol=1e-6)
    assert mine.crb < beamopt.crb_doa(imp, naive.W, naive.Rs)


@pytest.mark.parametrize("name", ["tx_positions", "rx_positions"])
def test_bad_positions_raise(name):
    sc = BistaticScenario.default(n_tx=4, n_rx=4)
    with pytest.raises(ValueError, match=name):
        sc.replace(**{name: np.zeros(5)})
    with pytest.raises(ValueError, match=name):
        sc.replace(**{name: np.array([0.0, np.nan, 1.0, 2.0])})


def test_positions_survive_the_dict_round_trip():
    sc = BistaticScenario.default().replace(
        tx_positions=impaired_positions(16, rng=3), rx_positions=impaired_positions(16, rng=4)
    )
    back = BistaticScenario.from_dict(sc.to_dict())
    # re-centring the stored (already centred) positions moves them by round-off only
    np.testing.assert_allclose(back.a, sc.a, rtol=0, atol=1e-13)
    np.testing.assert_allclose(back.db, sc.db, rtol=0, atol=1e-12)
    W = beamopt.mrt_covariance(sc.a, sc.power)
    np.testing.assert_allclose(beamopt.crb_doa(back, W), beamopt.crb_doa(sc, W), rtol=1e-12)
    assert not np.allclose(sc.a, BistaticScenario.default().a)
