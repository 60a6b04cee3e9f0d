import numpy as np
import pytest

pytest.importorskip("cvxpy")

from beamopt.metrics.design import data_fim_operator, fim_of_covariance, minimize_bcrb_trace
from beamopt.metrics.nearfield import NearFieldArray


def test_design_beats_every_feasible_random_covariance_and_the_beam():
    arr = NearFieldArray(n_antennas=8, aperture=0.05)
    rng = np.random.default_rng(0)
    r = 20 + rng.standard_normal((30, 2))
    D = data_fim_operator(arr.channel_derivatives(r), 1e-9, 4)
    Jp, P = np.eye(2) / 5, 1e-3
    res = minimize_bcrb_trace(Jp, D, P, rank=None)
    assert np.trace(res.covariance).real <= P * (1 + 1e-6)

    def tr(R):
        return np.trace(np.linalg.inv(Jp + fim_of_covariance(D, R)))

    assert tr(res.covariance) == pytest.approx(res.bcrb_trace)
    b = arr.beam([20.0, 20.0], P)
    assert res.bcrb_trace <= tr(np.outer(b, b.conj())) * (1 + 1e-4)
    for _ in range(20):
        G = rng.standard_normal((8, 3)) + 1j * rng.standard_normal((8, 3))
        R = G @ G.conj().T
        assert res.bcrb_trace <= tr(R * P / np.trace(R).real) * (1 + 1e-4)
    with pytest.raises(ValueError, match="power"):
        minimize_bcrb_trace(Jp, D, 0.0)


def _case(n=12, m=40, seed=0):
    arr = NearFieldArray(n_antennas=n, aperture=0.08)
    r = 20 + np.random.default_rng(seed).standard_normal((m, 2))
    return arr, arr.channel_derivatives(r)


def test_subspace_design_is_certified_and_matches_the_full_covariance_sdp():
    import warnings

    _, dH = _case()
    D = data_fim_operator(dH, 1e-9, 4)
    Jp, P = np.eye(2) / 5, 1e-3
    full = minimize_bcrb_trace(Jp, D, P, rank=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "optimal_inaccurate", no gap warning
        for rank in ("auto", 1):  # rank 1: the column generation must find the rest
            res = minimize_bcrb_trace(Jp, D, P, rank=rank)
            assert res.status == "optimal"
            assert res.relative_gap <= 1e-4
            assert res.bcrb_trace == pytest.approx(full.bcrb_trace, rel=5e-3)
            assert res.bcrb_trace >= full.bcrb_trace * (1 - 1e-6) - full.gap
    assert full.status == "optimal" and "gap" in repr(full)


def test_learned_noise_fisher_information_gives_the_same_design_operator():
    from beamopt.metrics.fim import fisher_from_scores

    _, dH = _case(n=6, m=5)
    s2 = 0.3
    z = np.sqrt(s2 / 2) * np.random.default_rng(1).standard_normal((40000, 2 * dH.shape[2]))
    # the score of [Re z; Im z] for CN(0, s2 I) is -2 z / s2 (an exact "learned" score)
    G = fisher_from_scores(-2 * z / s2).matrix
    D_exact = data_fim_operator(dH, s2, 2)
    D_learned = data_fim_operator(dH, n_snapshots=2, noise_fim=G)
    np.testing.assert_allclose(D_learned, D_exact, rtol=0.03, atol=0.03 * np.abs(D_exact).max())
    with pytest.raises(ValueError, match="exactly one"):
        data_fim_operator(dH, s2, noise_fim=G)
    with pytest.raises(ValueError, match="noise_fim"):
        data_fim_operator(dH, noise_fim=np.eye(3))
