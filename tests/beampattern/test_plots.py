import matplotlib
import numpy as np
import pytest

from beamopt.beampattern import (
    IsacTradeoff,
    beampattern,
    plot_beampattern,
    plot_isac_tradeoff,
    sector_beam,
)

matplotlib.use("Agg")


@pytest.mark.parametrize("kind", ["cartesian", "polar"])
def test_plot_beampattern_returns_axes_with_one_line(kind):
    import matplotlib.pyplot as plt

    ang = np.linspace(-np.pi / 2, np.pi / 2, 181)
    ax = plot_beampattern(ang, beampattern(sector_beam((-40.0, -20.0), 8), ang), kind=kind)
    assert len(ax.lines) == 1
    assert (ax.name == "polar") == (kind == "polar")
    plt.close("all")


def test_plot_tradeoff_draws_the_requested_metric():
    import matplotlib.pyplot as plt

    t = IsacTradeoff(rho=np.array([0.0, 1.0]), p_md=np.array([0.9, 0.1]),
                     ser=np.array([1e-3, 0.5]), rmse=np.array([0.1, 0.01]),
                     threshold=1.0, p_fa=0.01, label="x")  # fmt: skip
    ax = plot_isac_tradeoff(t, metric="rmse_deg")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.rad2deg([0.1, 0.01]))
    plt.close("all")
    with pytest.raises(ValueError, match="metric"):
        plot_isac_tradeoff(t, metric="rate")


def test_tradeoff_keeps_zero_points_and_draws_error_bars_and_rho_labels():
    import matplotlib.pyplot as plt

    t = IsacTradeoff(rho=np.array([0.0, 0.5, 1.0]), p_md=np.array([0.9, 0.2, 0.0]),
                     ser=np.array([0.0, 0.01, 0.5]), rmse=np.array([0.1, 0.02, 0.01]),
                     threshold=1.0, p_fa=0.01, label="x", p_md_se=np.array([0.01, 0.01, 0.0]),
                     ser_se=np.array([0.0, 0.001, 0.005]), rmse_se=np.array([1e-3] * 3),
                     n_samples=1000)  # fmt: skip
    ax = plot_isac_tradeoff(t)
    x, y = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    # SER = 0 at rho = 0 and P_md = 0 at rho = 1 sit at the Monte Carlo floor 1/n
    np.testing.assert_allclose(x, [1e-3, 0.01, 0.5])
    np.testing.assert_allclose(y, [0.9, 0.2, 1e-3])
    assert len(ax.lines[1].get_xdata()) == 2  # hollow markers on the two zero points
    assert len(ax.containers) == 1  # one errorbar container
    assert [a.get_text() for a in ax.texts] == ["0", "0.5", "1"]
    plt.close("all")


def test_dictionary_correlation_plot_keeps_an_exact_model_visible():
    import matplotlib.pyplot as plt

    from beamopt.beampattern import plot_dictionary_correlation

    grid = np.linspace(-1.0, 1.0, 5)
    ax = plot_dictionary_correlation(grid, {"ideal": np.ones(5), "learned": np.full(5, 0.99)})
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 1e-16)
    assert "exact" in ax.lines[0].get_label() and ax.lines[1].get_label() == "learned"
    plt.close("all")
