"""CRB-rate boundaries (beamopt.bistatic.boundary): shape, monotonicity, CSV, averaging."""

from __future__ import annotations

import os
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import beamopt
from beamopt.bistatic.boundary import SCHEMES
from beamopt.errors import InfeasibleError

CLOSED_FORM_SIGNALS = ("gaussian", "known")
GEOMETRY = {"n_tx": 6, "n_rx": 4, "n_symbols": 64}


def _scenario(seed=0, **kw):
    return beamopt.BistaticScenario.from_geometry(rng=seed, **{**GEOMETRY, **kw})


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("signal", (*CLOSED_FORM_SIGNALS, "superposition"))
def test_boundary_is_monotone_and_feasible(signal, scheme):
    sc = _scenario(seed=1)
    front = beamopt.crb_rate_boundary(sc, signal=signal, scheme=scheme, n_points=12)
    assert len(front) == 12 and front.signal == signal and front.scheme == scheme
    assert front.rate[0] == 0 and front.rate[-1] == pytest.approx(beamopt.max_rate(sc))
    assert np.all(front.achieved_rate >= front.rate - 1e-9)
    # CRB non-decreasing in the rate target (inf allowed at the end of time switching)
    finite = np.isfinite(front.crb)
    assert np.all(np.diff(front.crb[finite]) >= -1e-6 * front.crb[finite][:-1])
    assert front.W.shape == (12, sc.n_tx, sc.n_tx) and front.Rs.shape == front.W.shape
    power = np.trace(front.W + front.Rs, axis1=-2, axis2=-1).real
    assert np.all(power <= sc.power * (1 + 1e-9))


@pytest.mark.parametrize("signal", CLOSED_FORM_SIGNALS)
def test_vectorised_boundary_matches_sdp(signal):
    """The batched closed form against cvxpy's SDP, point by point."""
    sc = _scenario(seed=2, n_tx=4)
    rates = np.linspace(0, beamopt.max_rate(sc) * 0.95, 4)
    fast = beamopt.crb_rate_boundary(sc, signal=signal, rates=rates)
    sdp = beamopt.crb_rate_boundary(sc, signal=signal, rates=rates, method="sdp")
    assert fast.crb == pytest.approx(sdp.crb, rel=1e-5)
    assert fast.parameter == pytest.approx(2**rates - 1)


def test_boundary_ends_are_the_single_purpose_designs():
    sc = _scenario(seed=5)
    front = beamopt.crb_rate_boundary(sc, signal="gaussian", n_points=5)
    assert front.crb[0] == pytest.approx(beamopt.minimize_crb(sc, None).crb, rel=1e-12)
    # at the largest rate the only design is MRT to the user
    h = sc.channel
    W_user = sc.power * np.outer(h, h.conj()) / np.vdot(h, h).real
    assert front.crb[-1] == pytest.approx(beamopt.crb_doa(sc, W_user), rel=1e-6)


def test_csv_round_trip(tmp_path):
    sc = _scenario(seed=3)
    front = beamopt.crb_rate_boundary(sc, signal="known", scheme="time_switching", n_points=7)
    assert np.isinf(front.crb[-1])  # inf survives the round trip too
    with pytest.raises(ValueError, match="read-only"):
        front.crb[0] = 0.0
    path = tmp_path / "sub" / "front.csv"
    assert front.to_csv(path) == path
    front.to_csv(path)  # overwrite in place
    back = beamopt.ParetoFront.from_csv(path)
    for name in ("rate", "crb", "achieved_rate", "parameter"):
        assert np.array_equal(getattr(back, name), getattr(front, name))
    assert (back.signal, back.scheme) == ("known", "time_switching")
    assert back.metadata == front.metadata
    assert back.W is None and back.Rs is None
    assert os.listdir(path.parent) == ["front.csv"]  # no temporary files left behind
    bad = tmp_path / "bad.csv"
    bad.write_text("rate,crb\n0,1\n")
    with pytest.raises(ValueError, match="not a ParetoFront"):
        beamopt.ParetoFront.from_csv(bad)


def test_crb_at_interpolates_log_crb():
    front = beamopt.crb_rate_boundary(_scenario(), signal="gaussian", n_points=9)
    assert front.crb_at(front.rate) == pytest.approx(front.crb, rel=1e-12)
    mid = 0.5 * (front.rate[3] + front.rate[4])
    assert front.crb_at(mid) == pytest.approx(np.sqrt(front.crb[3] * front.crb[4]), rel=1e-12)
    assert np.isnan(front.crb_at(front.rate[-1] + 1))


def test_boundary_errors():
    sc = _scenario()
    with pytest.raises(ValueError, match="scheme"):
        beamopt.crb_rate_boundary(sc, scheme="tdma")
    with pytest.raises(ValueError, match="signal"):
        beamopt.crb_rate_boundary(sc, signal="deterministic")
    with pytest.raises(ValueError, match="n_points"):
        beamopt.crb_rate_boundary(sc, n_points=1)
    with pytest.raises(ValueError, match="non-decreasing"):
        beamopt.crb_rate_boundary(sc, rates=[1.0, 0.5])
    with pytest.raises(InfeasibleError):
        beamopt.crb_rate_boundary(sc, rates=[0.0, beamopt.max_rate(sc) + 1])
    # several users: the optimal boundary exists (test_boundary_multi.py), the benchmarks not
    two = beamopt.BistaticScenario.from_geometry(n_tx=4, user_angle_deg=[-10.0, 40.0])
    with pytest.raises(ValueError, match="single-user benchmark"):
        beamopt.crb_rate_boundary(two, scheme="power_splitting")


# ----------------------------------------------------------------------- averaging
def _factory(rng):
    return beamopt.BistaticScenario.from_geometry(rng=rng, **GEOMETRY)


def test_average_is_the_mean_at_fixed_rate_targets():
    n_draws = 4
    avg = beamopt.average_boundary(
        _factory, n_draws=n_draws, rng=7, scheme="power_splitting", n_points=6, spacing="even"
    )
    draws = [_factory(g) for g in np.random.default_rng(7).spawn(n_draws)]
    top = min(beamopt.max_rate(sc) for sc in draws)
    assert avg.rate == pytest.approx(np.linspace(0, top, 6))
    for d, sc in enumerate(draws):
        ref = beamopt.crb_rate_boundary(
            sc, signal="gaussian", scheme="power_splitting", rates=avg.rate
        )
        assert np.array_equal(avg.crb_draws[d], ref.crb)
    assert avg.crb == pytest.approx(avg.crb_draws.mean(axis=0), rel=1e-15)
    assert avg.metadata["n_draws"] == n_draws and np.all(np.isnan(avg.parameter))


def test_average_with_thread_pool_equals_serial(capsys):
    kw = {"n_draws": 5, "rng": 11, "scheme": "optimal", "n_points": 8}
    serial = beamopt.average_boundary(GEOMETRY, progress=False, **kw)
    with ThreadPoolExecutor(max_workers=2) as ex:
        threaded = beamopt.average_boundary(GEOMETRY, executor=ex, progress=True, **kw)
    assert np.array_equal(serial.crb, threaded.crb)
    assert np.array_equal(serial.crb_draws, threaded.crb_draws)
    assert np.array_equal(serial.achieved_rate, threaded.achieved_rate)
    assert "draws" in capsys.readouterr().err  # the tqdm bar


def test_average_from_mapping_matches_factory():
    a = beamopt.average_boundary(GEOMETRY, n_draws=3, rng=2, n_points=5, progress=False)
    b = beamopt.average_boundary(_factory, n_draws=3, rng=2, n_points=5, progress=False)
    assert np.array_equal(a.crb, b.crb)


def test_average_errors():
    with pytest.raises(ValueError, match="rng"):
        beamopt.average_boundary({**GEOMETRY, "rng": 1}, n_draws=2, progress=False)
    with pytest.raises(ValueError, match="callable"):
        beamopt.average_boundary(42, n_draws=2, progress=False)
    with pytest.raises(ValueError, match="n_draws"):
        beamopt.average_boundary(GEOMETRY, n_draws=0, progress=False)
    with pytest.raises(InfeasibleError, match="weakest draw"):
        beamopt.average_boundary(GEOMETRY, n_draws=2, rates=[0.0, 100.0], progress=False)


def test_scenarios_pickle_for_process_pools():
    sc = _scenario()
    sc.a  # populate the cached steering vector
    back = pickle.loads(pickle.dumps(sc))
    assert np.array_equal(back.a, sc.a) and back.alpha == sc.alpha


@pytest.mark.slow
def test_average_with_process_pool_equals_serial():
    from concurrent.futures import ProcessPoolExecutor

    kw = {"n_draws": 3, "rng": 5, "n_points": 6, "progress": False}
    serial = beamopt.average_boundary(GEOMETRY, **kw)
    with ProcessPoolExecutor(max_workers=2) as ex:
        pooled = beamopt.average_boundary(GEOMETRY, executor=ex, **kw)
    assert np.array_equal(serial.crb, pooled.crb)


def test_batched_superposition_boundary_is_certified():
    from beamopt.bistatic.superposition import superposition_design

    sc = _scenario(seed=4)
    rates = np.linspace(0, beamopt.max_rate(sc), 6)
    front = beamopt.crb_rate_boundary(sc, signal="superposition", rates=rates)
    lower = superposition_design(sc, 2**rates - 1).crb_lower_bound
    assert np.all(front.crb >= lower * (1 - 1e-9)) and front.crb == pytest.approx(lower, rel=1e-8)
    # superposition includes both single-signal designs: never worse than Gaussian-only
    gauss = beamopt.crb_rate_boundary(sc, signal="gaussian", rates=rates)
    assert np.all(front.crb <= gauss.crb * (1 + 1e-9))


def test_per_point_sca_boundary_is_no_better_than_global():
    sc = _scenario(seed=4)
    rates = np.linspace(0, beamopt.max_rate(sc), 4)
    best = beamopt.crb_rate_boundary(sc, signal="superposition", rates=rates)
    sca = beamopt.crb_rate_boundary(sc, signal="superposition", rates=rates, method="sca")
    assert np.all(best.crb <= sca.crb * (1 + 1e-6))
    assert sca.crb == pytest.approx(best.crb, rel=1e-2)  # SCA is local but close here


# ------------------------------------------------------------------ rate grid and CSV
def test_default_grid_draws_the_knee_smoothly():
    """Near R_max the least CRB rises like 1/(R_max - r); the knee grid follows it."""
    sc = beamopt.BistaticScenario.default()
    top = beamopt.max_rate(sc)
    knee = beamopt.crb_rate_boundary(sc, signal="superposition", n_points=50)
    even = beamopt.crb_rate_boundary(sc, signal="superposition", n_points=50, spacing="even")
    assert even.rate == pytest.approx(np.linspace(0, top, 50))
    assert knee.rate[0] == 0 and knee.rate[-1] == top and np.all(np.diff(knee.rate) > 0)
    steps = np.diff(knee.rate)
    # even steps on the flat part, geometric ones toward R_max, meeting without a jump
    assert steps[:26] == pytest.approx(np.full(26, steps[0]), rel=1e-9)
    ratios = steps[26:-1] / steps[25:-2]
    assert ratios == pytest.approx(np.full(ratios.size, ratios[0]), rel=1e-6)
    assert ratios[0] < 1
    assert top - knee.rate[-2] == pytest.approx(1e-4 * (top - knee.rate[25]), rel=1e-6)

    # the knee of a figure (2 to 1000 times the flat start) gets many points, not two or three
    def in_knee(front):
        return int(np.sum((front.crb > 2 * front.crb[0]) & (front.crb < 1e3 * front.crb[0])))

    assert in_knee(knee) >= 10 and in_knee(even) <= 3
    # and up to the last target before R_max the curve climbs in small steps
    assert np.max(np.diff(np.log10(knee.crb[:-1]))) < 0.6


def test_spacing_checked_and_explicit_rates_kept():
    sc = _scenario()
    with pytest.raises(ValueError, match="spacing"):
        beamopt.crb_rate_boundary(sc, spacing="log")
    rates = np.linspace(0, beamopt.max_rate(sc), 5)
    assert np.array_equal(beamopt.crb_rate_boundary(sc, rates=rates, spacing="knee").rate, rates)


def test_csv_carries_the_scenario(tmp_path):
    sc = _scenario(seed=4)
    front = beamopt.crb_rate_boundary(sc, signal="superposition", n_points=8)
    back = beamopt.ParetoFront.from_csv(front.to_csv(tmp_path / "f.csv"))
    rebuilt = back.scenario()
    for name in ("n_tx", "n_rx", "dod", "doa", "alpha", "noise_power", "n_symbols", "power",
                 "comm_noise_power"):  # fmt: skip
        assert getattr(rebuilt, name) == getattr(sc, name), name
    assert np.array_equal(rebuilt.channel, sc.channel)
    # the rebuilt scenario reproduces the boundary exactly
    again = beamopt.crb_rate_boundary(rebuilt, signal="superposition", rates=back.rate)
    assert np.array_equal(again.crb, front.crb)
    avg = beamopt.average_boundary(GEOMETRY, n_draws=2, rng=7, n_points=4, progress=False)
    with pytest.raises(ValueError, match="no 'scenario'"):
        avg.scenario()
    # an averaged boundary records how its draws were made, and that recipe repeats it
    meta = beamopt.ParetoFront.from_csv(avg.to_csv(tmp_path / "avg.csv")).metadata
    assert meta["geometry"] == GEOMETRY and meta["seed"] == 7
    redo = beamopt.average_boundary(meta["geometry"], n_draws=2, rng=meta["seed"], rates=avg.rate,
                                    progress=False)  # fmt: skip
    assert np.array_equal(redo.crb, avg.crb)


# ------------------------------------------------------------- one calling convention
def _options(fn):
    """Keyword-only options of a boundary function: name -> default, in order."""
    import inspect

    params = inspect.signature(fn).parameters.values()
    return {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY}


def test_boundaries_share_one_calling_convention():
    one, avg = _options(beamopt.crb_rate_boundary), _options(beamopt.average_boundary)
    one.pop("rate_direction")  # several users only; average_boundary draws one-user scenarios
    shared = [name for name in one if name in avg]
    assert shared == list(one)  # every option of crb_rate_boundary, in the same order
    assert [n for n in avg if n in one] == shared
    assert all(avg[n] == one[n] for n in shared)  # with the same defaults
    assert one["progress"] is False and one["spacing"] == "knee"
    assert list(_options(beamopt.crb_sweep))[-2:] == ["executor", "progress"]


def test_one_draw_average_is_the_boundary_of_that_draw(capsys):
    sc = _scenario()
    avg = beamopt.average_boundary(lambda g: sc, n_draws=1, n_points=12, signal="known")
    front = beamopt.crb_rate_boundary(sc, n_points=12, signal="known")
    np.testing.assert_array_equal(avg.rate, front.rate)  # the same (knee) rate grid
    np.testing.assert_array_equal(avg.crb, front.crb)
    assert capsys.readouterr().err == ""  # no progress lines from library calls


def test_positional_options_still_work_with_a_deprecation_warning():
    sc = _scenario()
    with pytest.warns(DeprecationWarning, match=r"signal='gaussian', scheme='time_switching'"):
        old = beamopt.crb_rate_boundary(sc, "gaussian", "time_switching", 6)
    new = beamopt.crb_rate_boundary(sc, signal="gaussian", scheme="time_switching", n_points=6)
    np.testing.assert_array_equal(old.crb, new.crb)
    with pytest.warns(DeprecationWarning, match="n_draws=2, rng=3"):
        old = beamopt.average_boundary(GEOMETRY, 2, 3, n_points=4)
    assert old.metadata["n_draws"] == 2 and old.metadata["seed"] == 3
    with pytest.raises(TypeError, match="multiple values for 'signal'"):
        beamopt.crb_rate_boundary(sc, "gaussian", signal="known")


def test_bad_geometry_key_is_a_value_error_with_a_suggestion():
    with pytest.raises(ValueError, match=r"has no parameter 'doa_degs'; did you mean 'doa_deg'"):
        beamopt.average_boundary({**GEOMETRY, "doa_degs": 10.0}, n_draws=2)


def test_boundary_repr_is_short_at_scale():
    sc = beamopt.BistaticScenario.default(n_tx=256, n_rx=16)
    front = beamopt.crb_rate_boundary(sc, signal="superposition", n_points=100)
    text = repr(front)
    assert len(text) < 300, text
    assert "n_points=100" in text and "n_tx=256" in text and "signal='superposition'" in text
    assert f"{front.crb.min():.4g}" in text  # the headline numbers, not the arrays
    assert front.W_factor.shape[:2] == (100, 256)  # which stay attributes
