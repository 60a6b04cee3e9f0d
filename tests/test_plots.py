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
    front = beamopt.crb_rate_boundary(scenario, "gaussian", "time_switching", n_points=6)
    ax = beamopt.plots.plot_boundary(front)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert len(ax.get_lines()) == 1
    assert ax.get_yscale() == "log" and ax.get_lines()[0].get_label() == front.label
    y = ax.get_lines()[0].get_ydata()
    assert np.isnan(y[-1]) and np.all(np.isfinite(y[:-1]))  # inf CRB is left out


def test_plot_boundaries_on_given_axes(scenario):
    fronts = [
        beamopt.crb_rate_boundary(scenario, "gaussian", s, n_points=5)
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
    front = beamopt.crb_rate_boundary(scenario, "known", n_points=4)
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
