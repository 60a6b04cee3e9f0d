"""Plot functions (beamopt.plots) on the Agg backend."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

import beamopt

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def scenario():
    return beamopt.BistaticScenario.from_geometry(n_tx=6, n_rx=4, rng=0)


def test_plot_boundary_new_axes(scenario):
    front = beamopt.crb_rate_boundary(
        scenario, signal="gaussian", scheme="time_switching", n_points=6
    )
    ax = beamopt.plots.plot_boundary(front)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert len(ax.get_lines()) == 1
    assert ax.get_yscale() == "log" and ax.get_lines()[0].get_label() == front.label
    y = ax.get_lines()[0].get_ydata()
    assert np.isnan(y[-1]) and np.all(np.isfinite(y[:-1]))  # inf CRB is left out


def test_plot_boundaries_on_given_axes(scenario):
    fronts = [
        beamopt.crb_rate_boundary(scenario, signal="gaussian", scheme=s, n_points=5)
        for s in ("optimal", "time_switching", "power_splitting")
    ]
    _, ax = plt.subplots()
    out = beamopt.plots.plot_boundaries(fronts, ax, labels=["a", "b", "c"])
    assert out is ax
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b", "c"]
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="labels"):
        beamopt.plots.plot_boundaries(fronts, ax, labels=["a"])


def test_front_plot_method(scenario):
    front = beamopt.crb_rate_boundary(scenario, signal="known", n_points=4)
    ax = front.plot(color="k")
    assert len(ax.get_lines()) == 1


@pytest.mark.parametrize("n_trials", [0, 3])
def test_plot_crb_sweep_line_count(scenario, n_trials):
    snr = np.array([10.0, 20.0, 30.0])
    sweep = beamopt.crb_sweep(
        beamopt.with_sensing_snr(scenario, snr), snr, x_label="SNR (dB)", n_trials=n_trials, rng=0
    )
    ax = sweep.plot()
    n_signals = len(sweep.signals)
    assert len(ax.get_lines()) == (2 * n_signals if n_trials else n_signals)
    assert ax.get_xlabel() == "SNR (dB)"
    ax2 = beamopt.plots.plot_crb_sweep(sweep, show_mse=False)
    assert len(ax2.get_lines()) == n_signals


def test_import_beamopt_plots_does_not_import_matplotlib():
    code = "import sys, beamopt, beamopt.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------ figures a paper could use
def _style_key(line):
    return (str(line.get_linestyle()), str(line.get_marker()))


@pytest.fixture(scope="module")
def default_fronts():
    sc = beamopt.BistaticScenario.default()
    pairs = [("gaussian", "optimal"), ("superposition", "optimal"), ("known", "optimal"),
             ("gaussian", "time_switching"), ("gaussian", "power_splitting")]  # fmt: skip
    return sc, [beamopt.crb_rate_boundary(sc, signal=s, scheme=k, n_points=40) for s, k in pairs]


def test_boundaries_have_distinct_styles_and_human_labels(default_fronts):
    _, fronts = default_fronts
    ax = beamopt.plots.plot_boundaries(fronts)
    lines = ax.get_lines()
    assert len({_style_key(line) for line in lines}) == len(fronts)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "Gaussian only, optimal",
        "Gaussian + deterministic, optimal",
        "known symbols, optimal",
        "Gaussian only, time switching",
        "Gaussian only, power splitting",
    ]
    assert ax.get_ylabel() == "CRB of DoA (rad$^2$)" and "MSE" not in ax.get_ylabel()


def test_y_range_follows_the_data_of_interest(default_fronts):
    sc, fronts = default_fronts
    ax = beamopt.plots.plot_boundaries(fronts)
    lo, hi = ax.get_ylim()
    smallest = min(np.nanmin(f.crb) for f in fronts)
    # the steep end point at R_max (about 1e6 times the smallest CRB) runs off the top ...
    assert max(f.crb[-1] for f in fronts if np.isfinite(f.crb[-1])) > 1e5 * smallest
    assert hi < 1.5e3 * smallest and lo <= smallest
    # ... while everything below 99 % of R_max, where the curves differ, stays inside
    bulk = np.concatenate([f.crb[f.rate <= 0.99 * beamopt.max_rate(sc)] for f in fronts])
    assert np.all(bulk < hi)
    ax2 = beamopt.plots.plot_boundaries(fronts, max_ratio=None)
    assert ax2.get_ylim()[1] >= max(f.crb[-1] for f in fronts if np.isfinite(f.crb[-1]))
    ax3 = beamopt.plots.plot_boundaries(fronts, ylim=(1e-6, 1e-4))
    assert ax3.get_ylim() == pytest.approx((1e-6, 1e-4))
    with pytest.raises(ValueError, match="max_ratio"):
        beamopt.plots.plot_boundaries(fronts, max_ratio=0.5)


def test_rmse_in_degrees(default_fronts):
    _, fronts = default_fronts
    ax = beamopt.plots.plot_boundary(fronts[0], rmse_deg=True)
    y = ax.get_lines()[0].get_ydata()
    assert y == pytest.approx(np.sqrt(fronts[0].crb) * 180 / np.pi, rel=1e-12)
    assert "(deg)" in ax.get_ylabel()


def test_front_plot_draws_a_legend_and_passes_style(default_fronts):
    _, fronts = default_fronts
    ax = fronts[1].plot(color="k", linewidth=3, marker="*")
    line = ax.get_lines()[0]
    assert ax.get_legend() is not None
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [fronts[1].label]
    assert (line.get_color(), line.get_linewidth(), line.get_marker()) == ("k", 3, "*")
    ax2 = beamopt.plots.plot_boundaries(fronts[:2], styles=[{"color": "r"}, {"color": "b"}])
    assert [line.get_color() for line in ax2.get_lines()] == ["r", "b"]


def test_repeated_plot_boundary_takes_the_next_style(default_fronts):
    _, fronts = default_fronts
    ax = fronts[0].plot()
    fronts[1].plot(ax=ax)
    a, b = ax.get_lines()
    assert _style_key(a) != _style_key(b)
    assert len(ax.get_legend().get_texts()) == 2


def test_sweep_names_the_deterministic_share_and_what_is_drawn(scenario):
    snr = np.array([0.0, 10.0, 20.0])
    scs = beamopt.with_sensing_snr(scenario, snr)
    sweep = beamopt.crb_sweep(scs, snr, x_label="SNR (dB)", deterministic_fraction=0.25)
    ax = sweep.plot()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["Gaussian only", "deterministic only", "Gaussian + 25 % deterministic"]
    assert ax.get_ylabel() == "CRB of DoA (rad$^2$)"
    assert len({_style_key(line) for line in ax.get_lines()}) == 3
    with_mse = beamopt.crb_sweep(scs, snr, n_trials=3, rng=0)
    ax2 = with_mse.plot()
    assert "MSE" in ax2.get_ylabel()
    ax3 = with_mse.plot(rmse_deg=True)
    crb_line = ax3.get_lines()[0]
    assert crb_line.get_ydata() == pytest.approx(np.rad2deg(np.sqrt(with_mse.crb[0])))
    assert "RMSE" in ax3.get_ylabel() and "(deg)" in ax3.get_ylabel()
