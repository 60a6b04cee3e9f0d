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
