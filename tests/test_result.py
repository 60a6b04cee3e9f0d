import dataclasses

import numpy as np
import pytest

from beamopt import BeamformingResult, PrecoderResult, SolverResult


def test_results_are_frozen_keyword_only_dataclasses():
    res = SolverResult(objective=1.0, status="optimal", method="x")
    assert res.success and res.history.size == 0 and dict(res.extras) == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.objective = 2.0
    with pytest.raises(TypeError):
        SolverResult(1.0, "optimal", "x")  # positional use is ambiguous, so it is refused


def test_status_drives_success():
    assert not SolverResult(objective=1.0, status="max_iterations", method="sca").success
    assert SolverResult(objective=1.0, status="converged", method="sca").success


def test_beamforming_result_total_covariance():
    W = np.stack([np.eye(2), 2 * np.eye(2)])
    res = BeamformingResult(
        objective=1.0, status="optimal", method="sdp", W=W, Rs=np.zeros((2, 2)),
        crb=1.0, rate=np.zeros(2), sinr=np.zeros(2),
    )  # fmt: skip
    np.testing.assert_array_equal(res.W_total, 3 * np.eye(2))
    assert isinstance(res, SolverResult)
    assert issubclass(PrecoderResult, SolverResult)
