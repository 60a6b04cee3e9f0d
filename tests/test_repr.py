"""Short reprs (beamopt._repr): headline numbers and shapes, never whole arrays."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import beamopt
from beamopt._repr import short_repr, short_value, span, summary_repr

LIMIT = 300  # characters: one line a user reads at a glance
#: configurations print every field on purpose (all scalars); they are not results
CONFIGS = {"ScoreConfig", "ChannelConfig", "NearFieldArray"}


def test_short_value_forms():
    assert short_value(np.zeros((16, 16), complex)) == "<16x16 complex array>"
    assert short_value(np.zeros(100)) == "<100 array>"
    assert short_value(np.array([1.0, 2.5])) == "[1, 2.5]"
    assert short_value(np.float64(3.14159265)) == "3.142"
    assert short_value(np.array(7.0)) == "7"
    assert short_value("x" * 100).endswith("...'") and len(short_value("x" * 100)) == 42
    assert short_value({"a": 1, "b": 2}) == "{2 keys}"
    assert short_value((1.0, 2.0)) == "(1, 2)"
    assert short_value(list(range(10))) == "<10 items>"
    assert short_value(None) == "None" and short_value(True) == "True"
    assert span([3.0, np.inf, 1.0]) == (1.0, 3.0) and span([2.0, 2.0]) == 2.0
    assert span([np.inf]) is None


def test_summary_repr_skips_empty_fields():
    @dataclasses.dataclass
    class Result:
        value: float
        big: np.ndarray
        empty: np.ndarray
        note: str = ""
        meta: dict = dataclasses.field(default_factory=dict)
        __repr__ = summary_repr

    text = repr(Result(0.5, np.ones((1000, 3)), np.empty(0)))
    assert text == "Result(value=0.5, big=<1000x3 array>)"
    assert short_repr(Result(1, np.ones(2), np.ones(0)), {"a": None, "b": 2}) == "Result(b=2)"


def _public_record_classes():
    """Every public dataclass or NamedTuple of beamopt (flat API and subpackage __all__)."""
    found = {}
    names = [n for n in dir(beamopt) if not n.startswith("_")]
    objects = [getattr(beamopt, n) for n in names]
    for info in pkgutil.walk_packages(beamopt.__path__, "beamopt."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or ".cli" in info.name:
            continue
        module = importlib.import_module(info.name)
        objects += [getattr(module, n) for n in getattr(module, "__all__", [])]
    for obj in objects:
        record = inspect.isclass(obj) and (
            dataclasses.is_dataclass(obj) or (issubclass(obj, tuple) and hasattr(obj, "_fields"))
        )
        if record and obj.__name__ not in CONFIGS:
            found[obj.__name__] = obj
    return found


def test_every_public_result_type_has_a_short_repr():
    classes = _public_record_classes()
    assert len(classes) > 25  # the scan found the families' results
    generated = []
    for name, cls in classes.items():
        code = getattr(inspect.unwrap(cls.__repr__), "__code__", None)
        # dataclasses and namedtuple write their __repr__ from a string: it prints every array
        if code is None or code.co_filename == "<string>" or "collections" in code.co_filename:
            generated.append(name)
    assert not generated, f"these print their arrays in full: {generated}"


@pytest.fixture(scope="module")
def big():
    """A scenario at the sizes users run: 256 transmit antennas."""
    return beamopt.BistaticScenario.default(n_tx=256, n_rx=64)


def _check(obj, *needles):
    text = repr(obj)
    assert len(text) < LIMIT, text
    for needle in needles:
        assert needle in text, (needle, text)
    return text


def test_scenario_repr(big):
    multi = beamopt.BistaticScenario.default(n_tx=1024, user_angle_deg=np.linspace(-60, 60, 8),
                                             d_bs_user=np.full(8, 80.0))  # fmt: skip
    _check(big, "n_tx=256", "n_rx=64", "doa_deg=30", "power_dbm=30")
    _check(multi, "n_tx=1024", "n_users=8")


def test_design_and_boundary_reprs(big):
    res = beamopt.minimize_crb(big, snr_min=1e3)
    _check(res, f"crb={res.crb:.4g}", "method='closed_form'", "W=<256x256 complex array>")
    sup = beamopt.minimize_crb(big, snr_min=1e3, signal="superposition")
    _check(sup, "method='global'", "bound_gap=")
    design = beamopt.superposition_design(big, np.linspace(1.0, 1e3, 200))
    _check(design, "n_targets=200", "n_tx=256", "max_bound_gap=")
    _check(beamopt.time_switching(big, np.linspace(0, 1, 100)), "scheme='time_switching'")
    avg = beamopt.average_boundary({"n_tx": 64}, n_draws=3, rng=0, n_points=30)
    _check(avg, "n_draws=3", "n_points=30")


def test_estimate_and_posterior_reprs():
    sc = beamopt.BistaticScenario.default(n_tx=8, n_rx=8, n_symbols=64)
    W = beamopt.mrt_covariance(sc.a, sc.power)
    echoes = beamopt.simulate_echoes(sc, W, n_trials=500, rng=0)
    _check(echoes, "Y=<500x8x64 complex array>")
    _check(beamopt.estimate_doa(echoes.Y, sc, W), "doa=<500 array>")
    obs = beamopt.LinearObservation(np.eye(256, dtype=complex), (16, 16), 0.1)
    post = beamopt.GaussianPosterior(np.eye(256, dtype=complex), obs)
    _check(obs, "A=<256x256 complex array>", "channel_shape=(16, 16)")
    _check(post, "prior_cov=<256x256 complex array>", "pilot_model=<LinearObservation>")
