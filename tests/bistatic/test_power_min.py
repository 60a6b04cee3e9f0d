"""Least power for the SINR targets by uplink-downlink duality (beamopt.bistatic._power_min).

References: the power-minimisation SDP written here in cvxpy (full space, explicit real
embedding), whose feasibility also decides the largest common scaling of the targets, and
the package's cvxpy bisection `_sdp.max_common_snr_scale` (a different algorithm).
"""

from __future__ import annotations

import numpy as np
import pytest

from beamopt.bistatic import _sdp
from beamopt.bistatic._power_min import max_common_scale, min_power
from beamopt.bistatic._span import span_problem

from ._multiuser import min_power_sdp as _min_power_sdp
from ._multiuser import rayleigh_scenario

pytest.importorskip("cvxpy")


@pytest.mark.parametrize(("seed", "K", "share"), [(0, 2, 0.2), (1, 4, 0.05), (2, 6, 0.02)])
def test_least_power_matches_the_sdp(seed, K, share):
    sc = rayleigh_scenario(K, 8, np.random.default_rng(seed))
    gamma = share * sc.max_snr
    p = span_problem(sc, gamma)
    res = min_power(p)
    ref = _min_power_sdp(sc, gamma)
    assert res.power == pytest.approx(ref, rel=1e-6)
    assert res.lower <= res.power and res.lower == pytest.approx(ref, rel=1e-6)
    # the design meets every target (exactly, by construction) with rank-one blocks
    assert np.all(p.sinr(res.X, 0 * res.X[0]) >= gamma)
    assert np.all(np.linalg.matrix_rank(res.X, tol=1e-12) == 1)
    assert res.feasible == (res.power <= 1)


def test_unreachable_targets_are_certified():
    sc = rayleigh_scenario(4, 8, np.random.default_rng(3))
    p = span_problem(sc, 0.6 * sc.max_snr)
    res = min_power(p)
    assert not res.feasible and res.X is None and res.power > 1  # a certified lower bound


def test_largest_common_scale_matches_a_cvxpy_bisection():
    sc = rayleigh_scenario(3, 8, np.random.default_rng(4))
    gamma = 0.3 * sc.max_snr
    tau = max_common_scale(span_problem(sc, gamma))
    assert tau == pytest.approx(_sdp.max_common_snr_scale(sc, gamma, rtol=1e-8), rel=1e-5)
    # the SDP of the reference: just feasible below tau, and needs more than the budget above
    assert _min_power_sdp(sc, tau * (1 - 1e-4) * gamma) <= 1.0
    assert _min_power_sdp(sc, tau * (1 + 1e-4) * gamma) > 1.0


def test_users_without_a_target_get_no_power():
    sc = rayleigh_scenario(3, 8, np.random.default_rng(5))
    gamma = np.array([0.1, 0.0, 0.05]) * sc.max_snr
    res = min_power(span_problem(sc, gamma))
    assert np.all(res.X[1] == 0) and res.power == pytest.approx(_min_power_sdp(sc, gamma), rel=1e-6)
