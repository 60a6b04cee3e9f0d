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
