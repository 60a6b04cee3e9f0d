"""Figures of beampatterns and ISAC trade-off curves.

Like the figures of `beamopt.plots`, every function takes `ax=None` (a new figure when
omitted), draws and returns the Axes; none saves files; matplotlib is imported inside.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice

__all__ = ["plot_beampattern", "plot_isac_tradeoff"]


def plot_beampattern(
    angles, pattern, ax=None, *, kind: str = "cartesian", db: bool = True, label=None, **kwargs
):
    """Draw a beampattern against angle, on cartesian or polar axes.

    Parameters
    ----------
    angles : array_like, shape (n,)
        Angles in radians.
    pattern : array_like, shape (n,)
        Power pattern, e.g. [`beampattern`][beamopt.beampattern.beampattern].
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (a polar Axes for `kind="polar"`); a new figure when omitted.
    kind : {"cartesian", "polar"}
    db : bool
        Draw `10 log10` of the pattern normalised to its peak (floored at -40 dB).
    label : str, optional
    **kwargs
        Passed to `ax.plot`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_choice(kind, "kind", ("cartesian", "polar"))
    angles = np.asarray(angles, dtype=float)
    p = np.asarray(pattern, dtype=float)
    if db:
        p = np.maximum(10 * np.log10(np.maximum(p / p.max(), 1e-300)), -40.0)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(subplot_kw={"projection": "polar"} if kind == "polar" else {})
    if kind == "polar":
        ax.plot(angles, p - p.min() if db else p, label=label, **kwargs)
        ax.set_theta_zero_location("N")
        ax.set_theta_direction(-1)
        ax.set_thetamin(-90)
        ax.set_thetamax(90)
    else:
        ax.plot(np.rad2deg(angles), p, label=label, **kwargs)
        ax.set_xlabel("angle (deg)")
        ax.set_ylabel("normalised power (dB)" if db else "power")
        ax.grid(True, alpha=0.3)
    return ax


def plot_isac_tradeoff(tradeoff, ax=None, *, metric: str = "p_md", **kwargs):
    """Draw a sensing metric against SER along a [`IsacTradeoff`][beamopt.beampattern.IsacTradeoff].

    Parameters
    ----------
    tradeoff : IsacTradeoff
    ax : matplotlib.axes.Axes, optional
    metric : {"p_md", "rmse_deg"}
        Missed-detection probability or angle RMSE (degrees), both on log axes.
    **kwargs
        Passed to `ax.plot`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_choice(metric, "metric", ("p_md", "rmse_deg"))
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    kwargs = {"marker": "o", "linestyle": "-", **kwargs}
    ax.plot(tradeoff.ser, getattr(tradeoff, metric), label=tradeoff.label or None, **kwargs)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("symbol error rate")
    ax.set_ylabel("missed-detection probability" if metric == "p_md" else "angle RMSE (deg)")
    ax.grid(True, which="both", alpha=0.3)
    return ax
