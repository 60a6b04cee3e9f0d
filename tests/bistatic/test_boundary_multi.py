"""CRB-rate boundaries of several users (beamopt.bistatic._boundary_multi via crb_rate_boundary).

References: the cvxpy Gaussian-only SDP of `minimize_crb(method="sdp")` at every point's
targets, an independent cvxpy power-minimisation SDP for the largest sum rate, stand-alone
certified designs, and the ordering known symbols <= superposition <= Gaussian only.
"""

from __future__ import annotations

import numpy as np
import pytest

import beamopt
from beamopt.bistatic._boundary_multi import DEFAULT_TOP, max_sum_rate
from beamopt.bistatic._sca_engine import Engine
from beamopt.errors import InfeasibleError

from ._multiuser import min_power_sdp


def _scenario(**kw):
    geo = {"n_tx": 8, "n_rx": 8, "n_symbols": 64, "user_angle_deg": [-25.0, 30.0],
           "d_bs_user": [60.0, 90.0]}  # fmt: skip
    return beamopt.BistaticScenario.from_geometry(rng=3, **{**geo, **kw})


@pytest.fixture(scope="module")
def fronts():
    sc = _scenario()
    out = {
        s: beamopt.crb_rate_boundary(sc, signal=s, n_points=6)
        for s in ("gaussian", "superposition", "known")
    }
    return sc, out


def test_every_point_is_certified_and_meets_its_rates(fronts):
    sc, out = fronts
    front = out["superposition"]
    d = np.asarray(front.metadata["rate_direction"])
    assert d == pytest.approx([0.5, 0.5])
    assert front.rate[0] == 0 and front.rate[-1] == pytest.approx(
        DEFAULT_TOP * front.metadata["max_rate"]
    )
    assert np.all(front.bound_gap <= 1e-5) and np.all(front.bound_gap >= 0)
    assert np.all(front.user_rates >= front.rate[:, None] * d - 1e-9)
    assert front.achieved_rate == pytest.approx(front.user_rates.sum(axis=1))
    assert np.all(np.diff(front.crb) >= -1e-9 * front.crb[1:])  # the least CRB cannot fall
    assert front.W_factor.shape[:2] == (6, sc.n_tx) and np.all(np.isnan(front.parameter))


def test_models_are_ordered_and_the_gaussian_points_match_the_cvxpy_sdp(fronts):
    sc, out = fronts
    gauss, sup, known = out["gaussian"], out["superposition"], out["known"]
    assert np.all(sup.crb <= gauss.crb * (1 + 1e-7))  # superposition includes Gaussian-only
    assert np.all(known.crb <= gauss.crb * (1 + 1e-9))  # known symbols help at equal W
    d = np.asarray(gauss.metadata["rate_direction"])
    for r, crb in zip(gauss.rate[1:], gauss.crb[1:]):
        ref = beamopt.minimize_crb(sc, 2 ** (d * r) - 1, "gaussian", "sdp")
        assert crb == pytest.approx(ref.crb, rel=1e-5)


def test_points_equal_stand_alone_certified_designs(fronts):
    sc, out = fronts
    front = out["superposition"]
    d = np.asarray(front.metadata["rate_direction"])
    for i in (2, 5):
        res = beamopt.sca_superposition(sc, 2 ** (d * front.rate[i]) - 1)
        assert front.crb[i] == pytest.approx(res.crb, rel=2e-5)
        assert front.crb[i] >= res.extras["crb_lower_bound"] * (1 - 1e-9)


def test_largest_sum_rate_is_where_the_least_power_reaches_the_budget():
    sc = _scenario()
    d = np.array([0.3, 0.7])
    top = max_sum_rate(Engine(sc), d)
    assert min_power_sdp(sc, 2 ** (d * top * (1 - 1e-4)) - 1) <= 1.0
    assert min_power_sdp(sc, 2 ** (d * top * (1 + 1e-4)) - 1) > 1.0
    front = beamopt.crb_rate_boundary(
        sc, signal="gaussian", rates=[0.0, top], rate_direction=[3, 7]
    )
    assert front.metadata["max_rate"] == pytest.approx(top)
    with pytest.raises(InfeasibleError, match="unreachable") as err:
        beamopt.crb_rate_boundary(sc, signal="gaussian", rates=[1.01 * top], rate_direction=d)
    assert err.value.max_achievable == pytest.approx(top)


def test_a_direction_steers_the_users_rates():
    sc = _scenario()
    front = beamopt.crb_rate_boundary(sc, signal="superposition", n_points=3, rate_direction=[1, 3])
    r = front.rate[-1]
    assert np.all(front.user_rates[-1] >= np.array([0.25, 0.75]) * r - 1e-9)
    only = beamopt.crb_rate_boundary(sc, signal="gaussian", n_points=3, rate_direction=[0, 1])
    assert only.user_rates[-1, 1] >= only.rate[-1] - 1e-9  # user 0 has no target


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate_direction": [1.0]}, "rate_direction"),
        ({"rate_direction": [1.0, -1.0]}, "rate_direction"),
        ({"rate_direction": [0.0, 0.0]}, "rate_direction"),
        ({"scheme": "time_switching"}, "single-user benchmark"),
        ({"method": "global"}, "method"),
        ({"rates": [1.0, 0.5]}, "rates"),
        ({"n_points": 1}, "n_points"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        beamopt.crb_rate_boundary(_scenario(), signal="superposition", **kwargs)


def test_single_user_accepts_only_a_trivial_direction():
    sc = beamopt.BistaticScenario.default()
    front = beamopt.crb_rate_boundary(sc, signal="gaussian", n_points=3, rate_direction=[2.0])
    assert front.user_rates is None and front.bound_gap is None
    with pytest.raises(ValueError, match="rate_direction"):
        beamopt.crb_rate_boundary(sc, signal="gaussian", n_points=3, rate_direction=[1.0, 1.0])


def test_plot_labels_the_sum_rate(fronts):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, out = fronts
    ax = beamopt.plots.plot_boundaries([out["gaussian"], out["superposition"]])
    assert ax.get_xlabel() == "sum rate (bit/s/Hz)" and len(ax.get_lines()) == 2
    plt.close(ax.figure)
