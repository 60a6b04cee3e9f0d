"""Echo simulation and the Monte Carlo helper.

Statistical checks use tolerances scaled to the sample count: an entry of a sample
covariance of n independent complex Gaussian vectors has standard deviation
sqrt(C_ii C_jj / n); we allow five of them.
"""

from __future__ import annotations

import numpy as np
import pytest

import beamopt
from beamopt import BistaticScenario


def _random_psd(rng, n, rank):
    A = rng.standard_normal((n, rank)) + 1j * rng.standard_normal((n, rank))
    return A @ A.conj().T / n


@pytest.mark.parametrize("n_tx, rank, L", [(4, 4, 16), (8, 1, 3), (8, 2, 2), (6, 6, 6)])
def test_sequence_sample_covariance_is_exact(n_tx, rank, L):
    Rs = _random_psd(np.random.default_rng(n_tx + rank), n_tx, rank)
    S = beamopt.sensing_sequence(Rs, L, rng=1)
    assert S.shape == (n_tx, L)
    np.testing.assert_allclose(S @ S.conj().T / L, Rs, atol=1e-12 * np.abs(Rs).max())


def test_sequence_too_short_for_rank():
    Rs = _random_psd(np.random.default_rng(0), 6, 3)
    with pytest.raises(ValueError, match=r"n_symbols \(L=2\) must be >= rank\(Rs\) = 3"):
        beamopt.sensing_sequence(Rs, 2)
    sc = BistaticScenario.default(n_tx=6, n_rx=4, n_symbols=2)
    with pytest.raises(ValueError, match="rank"):
        beamopt.simulate_echoes(sc, 0 * Rs, Rs, n_trials=1)


def test_simulated_echoes_match_the_model():
    sc = BistaticScenario.default(n_tx=4, n_rx=5, n_symbols=32)
    gen = np.random.default_rng(7)
    W, Rs = _random_psd(gen, 4, 2), _random_psd(gen, 4, 4)
    Y, S = beamopt.simulate_echoes(sc, W, Rs, n_trials=2000, rng=gen)
    assert Y.shape == (2000, 5, 32)
    np.testing.assert_allclose(S @ S.conj().T / 32, Rs, atol=1e-12)
    # random part: alpha b a^H w_t + n_t ~ CN(0, |alpha|^2 (a^H W a) b b^H + s2 I)
    G = sc.alpha * np.outer(sc.b, sc.a.conj())
    X = np.moveaxis(Y - G @ S, 1, -1).reshape(-1, sc.n_rx)
    n = len(X)
    C = G @ W @ G.conj().T + sc.noise_power * np.eye(sc.n_rx)
    C_hat = X.T @ X.conj() / n
    d = np.sqrt(np.real(np.diag(C)))
    assert np.all(np.abs(C_hat - C) <= 5 * np.outer(d, d) / np.sqrt(n))
    assert np.all(np.abs(X.mean(axis=0)) <= 5 * d / np.sqrt(n))
    # pseudo-covariance of a circular Gaussian is zero
    assert np.all(np.abs(X.T @ X / n) <= 5 * np.outer(d, d) / np.sqrt(n))


def test_simulation_is_seeded():
    sc = BistaticScenario.default(n_tx=4, n_rx=4, n_symbols=8)
    W = beamopt.mrt_covariance(sc.a, sc.power)
    Y1, S1 = beamopt.simulate_echoes(sc, W / 2, W / 2, n_trials=3, rng=5)
    Y2, S2 = beamopt.simulate_echoes(sc, W / 2, W / 2, n_trials=3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(Y1, Y2)
    np.testing.assert_array_equal(S1, S2)
    Y3, S3 = beamopt.simulate_echoes(sc, W, n_trials=3, rng=6)
    assert S3 is None and not np.allclose(Y3, Y1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"W": np.eye(3)}, "W must have shape"),
        ({"W": np.full((4, 4), np.nan)}, "W must be finite"),
        ({"Rs": -np.eye(4)}, "Rs must be positive semidefinite"),
        ({"Rs": np.eye(5)}, "Rs must have shape"),
        ({"n_trials": 0}, "n_trials"),
        ({"rng": "seed"}, "rng"),
    ],
)
def test_simulation_bad_inputs(kwargs, match):
    sc = BistaticScenario.default(n_tx=4, n_rx=4, n_symbols=8)
    args = {"W": np.eye(4), "Rs": None, "n_trials": 2, "rng": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        beamopt.simulate_echoes(sc, args.pop("W"), args.pop("Rs"), **args)


def test_doa_mse_result_is_consistent():
    sc = BistaticScenario.default(n_tx=4, n_rx=6, n_symbols=16)
    W = beamopt.mrt_covariance(sc.a, sc.power)
    res = beamopt.doa_mse(sc, W / 2, W / 2, n_trials=50, rng=0, chunk_size=16)
    err = res.estimates - sc.doa
    assert res.n_trials == 50 and res.estimates.shape == (50,)
    assert res.mse == pytest.approx(np.mean(err**2))
    assert res.bias == pytest.approx(np.mean(err))
    assert res.std_error == pytest.approx(np.std(err**2, ddof=1) / np.sqrt(50))
    assert res.crb == pytest.approx(beamopt.crb_doa(sc, W / 2, W / 2))
    assert res.ratio == pytest.approx(res.mse / res.crb)
    with pytest.raises(AttributeError):
        res.mse = 0.0
    again = beamopt.doa_mse(sc, W / 2, W / 2, n_trials=50, rng=0, chunk_size=16)
    np.testing.assert_array_equal(res.estimates, again.estimates)


# ----------------------------------------------------------------------- executors
def _mse_setup():
    sc = BistaticScenario.default(n_tx=4, n_rx=4, n_symbols=16)
    return sc, beamopt.mrt_covariance(sc.a, sc.power), {"n_trials": 300, "rng": 4, "chunk_size": 64}


def test_doa_mse_is_the_same_on_any_thread_pool():
    from concurrent.futures import ThreadPoolExecutor

    sc, W, kw = _mse_setup()
    serial = beamopt.doa_mse(sc, W, **kw)
    for workers in (1, 3):
        with ThreadPoolExecutor(max_workers=workers) as ex:
            pooled = beamopt.doa_mse(sc, W, executor=ex, **kw)
        np.testing.assert_array_equal(pooled.estimates, serial.estimates)
        assert pooled.mse == serial.mse


def test_doa_mse_is_the_same_on_a_dask_cluster(dask_executor):
    sc, W, kw = _mse_setup()
    remote = beamopt.doa_mse(sc, W, executor=dask_executor, **kw)
    np.testing.assert_array_equal(remote.estimates, beamopt.doa_mse(sc, W, **kw).estimates)


def test_doa_mse_repr_is_short():
    sc, W, kw = _mse_setup()
    text = repr(beamopt.doa_mse(sc, W, **kw))
    assert len(text) < 300 and "n_trials=300" in text
