"""Figures of beampatterns and ISAC trade-off curves.

Like the figures of `beamopt.plots`, every function takes `ax=None` (a new figure when
omitted), draws and returns the Axes; none saves files; matplotlib is imported inside.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice

__all__ = ["plot_beampattern", "plot_isac_tradeoff", "plot_dictionary_correlation"]


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


def plot_isac_tradeoff(
    tradeoff,
    ax=None,
    *,
    metric: str = "p_md",
    errorbars: bool = True,
    annotate: bool = True,
    **kwargs,
):
    r"""Draw a sensing metric against SER along an
    [`IsacTradeoff`][beamopt.beampattern.IsacTradeoff].

    Both axes are logarithmic. A value of exactly 0 (no error in `n_samples` draws) is drawn
    at the Monte Carlo floor $1/n$ with a hollow marker, so it does not vanish from the
    axes; error bars are $\pm 1$ standard error where the trade-off carries them; each point
    is labelled with its $\rho$.

    Parameters
    ----------
    tradeoff : IsacTradeoff
    ax : matplotlib.axes.Axes, optional
    metric : {"p_md", "rmse_deg"}
        Missed-detection probability or angle RMSE (degrees).
    errorbars : bool
        Draw $\pm 1$ SE bars (`p_md_se`, `ser_se`, `rmse_se`) when present.
    annotate : bool
        Label every point with its $\rho$.
    **kwargs
        Passed to `ax.plot` (`marker`, `linestyle`, `color`, ...).

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_choice(metric, "metric", ("p_md", "rmse_deg"))
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    kwargs = {"marker": "o", "linestyle": "-", **kwargs}
    x = np.asarray(tradeoff.ser, dtype=float)
    y = np.asarray(getattr(tradeoff, metric), dtype=float)
    x_se = tradeoff.ser_se
    y_se = tradeoff.p_md_se if metric == "p_md" else tradeoff.rmse_deg_se
    n = getattr(tradeoff, "n_samples", 0)
    xs, x_zero = _floored(x, n)
    ys, y_zero = _floored(y, n) if metric == "p_md" else (y, np.zeros(y.shape, bool))
    (line,) = ax.plot(xs, ys, label=tradeoff.label or None, **kwargs)
    color = line.get_color()
    zero = x_zero | y_zero
    if zero.any():
        ax.plot(xs[zero], ys[zero], linestyle="none", marker=kwargs["marker"], color=color,
                markerfacecolor="white", zorder=line.get_zorder() + 1)  # fmt: skip
    if errorbars and (x_se is not None or y_se is not None):
        ax.errorbar(xs, ys, xerr=_log_bars(xs, x_se), yerr=_log_bars(ys, y_se), fmt="none",
                    ecolor=color, alpha=0.5, capsize=2, linewidth=0.8)  # fmt: skip
    if annotate:
        for r, xi, yi in zip(tradeoff.rho, xs, ys):
            if np.isfinite(xi) and np.isfinite(yi):
                ax.annotate(f"{r:g}", (xi, yi), textcoords="offset points", xytext=(3, 3),
                            fontsize=6, color=color)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("symbol error rate" + (" (hollow: 0 observed, drawn at 1/n)" if zero.any()
                                          else ""))  # fmt: skip
    ax.set_ylabel("missed-detection probability" if metric == "p_md" else "angle RMSE (deg)")
    ax.grid(True, which="both", alpha=0.3)
    return ax


def _floored(values, n_samples):
    """Zeros replaced by the Monte Carlo floor 1/n (or a tenth of the smallest positive)."""
    positive = values[values > 0]
    if n_samples:
        floor = 1.0 / n_samples
    else:
        floor = positive.min() / 10 if positive.size else 1e-6
    zero = values == 0
    return np.where(zero, floor, values), zero


def _log_bars(values, se):
    """Asymmetric (2, n) error bars that stay above zero on a log axis."""
    if se is None:
        return None
    se = np.nan_to_num(np.asarray(se, dtype=float), nan=0.0)
    lower = np.minimum(se, 0.9 * values)
    return np.vstack([lower, se])


def plot_dictionary_correlation(grid, correlations, ax=None, *, floor: float = 1e-16, **kwargs):
    r"""Draw $1 - c_i$ of [`dictionary_correlation`][beamopt.beampattern.dictionary_correlation]
    against the grid angle on a log axis, one curve per entry of `correlations`.

    A perfect model ($c_i = 1$ exactly, e.g. the ideal dictionary of an ideal array) would
    vanish from a log axis; values below `floor` are drawn at `floor` and the label says so.

    Parameters
    ----------
    grid : array_like, shape (n_grid,)
        Grid angles in radians.
    correlations : dict of str to array_like, shape (n_grid,)
        Curves by label.
    ax : matplotlib.axes.Axes, optional
    floor : float
        Smallest value drawn.
    **kwargs
        Passed to every `ax.plot`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    deg = np.rad2deg(np.asarray(grid, dtype=float))
    for label, c in correlations.items():
        gap = 1.0 - np.asarray(c, dtype=float)
        shown = np.maximum(gap, floor)
        if np.all(gap < floor):
            label = f"{label} (exact: 1 - c < {floor:g})"
        ax.plot(deg, shown, label=label, **kwargs)
    ax.set_yscale("log")
    ax.set_xlabel("grid angle (deg)")
    ax.set_ylabel("1 - correlation with the true steering vector")
    ax.grid(True, which="both", alpha=0.3)
    return ax
