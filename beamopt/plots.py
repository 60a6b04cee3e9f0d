"""Matplotlib figures of CRB sweeps and CRB-rate boundaries.

Every function takes `ax=None` (a new figure through `matplotlib.pyplot` when
omitted), draws on it and returns the Axes; none saves files. matplotlib is imported
inside the functions so `import beamopt` stays light. CRBs are drawn on a log axis in
rad^2; non-finite values (e.g. time switching with no sensing symbols) are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_boundary", "plot_boundaries", "plot_crb_sweep"]

_SIGNAL_LABELS = {
    "gaussian": "Gaussian only",
    "deterministic": "deterministic only",
    "superposition": "Gaussian + deterministic",
    "known": "known realisations",
}


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _finite(y) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    return np.where(np.isfinite(y), y, np.nan)


def plot_boundary(front, ax=None, *, label: str | None = None, **kwargs):
    """Draw one CRB-rate boundary (rate on x, CRB on a log y axis).

    Parameters
    ----------
    front : ParetoFront
        The boundary ([`beamopt.crb_rate_boundary`][beamopt.bistatic.boundary.crb_rate_boundary] or
        [`beamopt.average_boundary`][beamopt.bistatic.boundary.average_boundary]).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    label : str, optional
        Legend label; defaults to `front.label`.
    **kwargs
        Passed to `matplotlib.axes.Axes.plot`.

    Returns
    -------
    matplotlib.axes.Axes
        With one new line.
    """
    ax = _axes(ax)
    ax.plot(front.rate, _finite(front.crb), label=front.label if label is None else label, **kwargs)
    ax.set_yscale("log")
    ax.set_xlabel("rate (bit/s/Hz)")
    ax.set_ylabel("CRB of DoA (rad$^2$)")
    ax.grid(True, which="both", alpha=0.3)
    return ax


def plot_boundaries(fronts: Sequence, ax=None, *, labels: Sequence[str] | None = None):
    """Draw several CRB-rate boundaries on one Axes, with a legend.

    Parameters
    ----------
    fronts : sequence of ParetoFront
    ax : matplotlib.axes.Axes, optional
    labels : sequence of str, optional
        One legend label per front; defaults to each `front.label`.

    Returns
    -------
    matplotlib.axes.Axes
        With one new line per front.
    """
    ax = _axes(ax)
    if labels is not None and len(labels) != len(fronts):
        raise ValueError(f"labels must have one entry per front ({len(fronts)}); got {len(labels)}")
    for i, front in enumerate(fronts):
        plot_boundary(front, ax, label=None if labels is None else labels[i])
    ax.legend()
    return ax


def plot_crb_sweep(sweep, ax=None, *, show_mse: bool = True):
    """Draw the CRB (solid lines) and, when present, the estimator MSE (markers) of a sweep.

    Parameters
    ----------
    sweep : CrbSweep
        From [`beamopt.crb_sweep`][beamopt.bistatic.sweeps.crb_sweep].
    ax : matplotlib.axes.Axes, optional
    show_mse : bool
        Also draw `sweep.mse` when it is not None.

    Returns
    -------
    matplotlib.axes.Axes
        With one line per signal, plus one per signal for the MSE.
    """
    ax = _axes(ax)
    for i, s in enumerate(sweep.signals):
        (line,) = ax.plot(sweep.x, _finite(sweep.crb[i]), label=f"CRB, {_SIGNAL_LABELS[s]}")
        if show_mse and sweep.mse is not None:
            ax.plot(
                sweep.x,
                _finite(sweep.mse[i]),
                linestyle="none",
                marker="o",
                color=line.get_color(),
                label=f"MSE, {_SIGNAL_LABELS[s]}",
            )
    ax.set_yscale("log")
    ax.set_xlabel(sweep.x_label)
    ax.set_ylabel("CRB / MSE of DoA (rad$^2$)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax
