r"""Matplotlib figures of CRB sweeps and CRB-rate boundaries.

Every function takes `ax=None` (a new figure through `matplotlib.pyplot` when omitted),
draws on it and returns the Axes; none saves files. matplotlib is imported inside the
functions so `import beamopt` stays light.

The figures are meant to be usable as they are:

* each curve gets its own line style and (hollow) marker shape, so curves that coincide
  stay visible under each other; extra keyword arguments override the style;
* legends name the models in words ("Gaussian only", "Gaussian + deterministic (10 %
  deterministic)", "known symbols", "time switching", ...), the same in sweeps and
  boundaries;
* the quantity is the DoA CRB in rad$^2$ on a log axis, or with `rmse_deg=True` the bound
  on the root-mean-square error in degrees, $\tfrac{180}{\pi}\sqrt{\mathrm{CRB}}$;
* boundaries take their y-range from the region where the curves differ: the top is at most
  `max_ratio` times the smallest value drawn, so the steep end point at $R_{\max}$ (where the
  CRB can be a million times larger) runs off the top instead of squashing the rest.

Non-finite values (e.g. time switching with no sensing symbols) are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._labels import front_name, signal_name

__all__ = ["CURVE_STYLES", "plot_boundary", "plot_boundaries", "plot_crb_sweep"]

#: (line style, marker) of the i-th curve on an Axes; cycled when there are more curves.
CURVE_STYLES = (
    ("-", "o"),
    ("--", "s"),
    ("-.", "^"),
    (":", "D"),
    ((0, (5, 1.5, 1, 1.5, 1, 1.5)), "v"),
    ((0, (8, 2)), "P"),
    ((0, (1, 1)), "X"),
)
_CRB_LABEL = "CRB of DoA (rad$^2$)"
_RMSE_LABEL = r"RMSE bound $\sqrt{\mathrm{CRB}}$ of DoA (deg)"


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _rate_label(fronts) -> str:
    """x label: "rate", or "sum rate" for boundaries of several users (their metadata)."""
    labels = {getattr(f, "metadata", {}).get("rate_label", "rate (bit/s/Hz)") for f in fronts}
    return labels.pop() if len(labels) == 1 else "rate (bit/s/Hz)"


def _values(y, rmse_deg: bool) -> np.ndarray:
    """CRB/MSE in rad^2 -> what is drawn; non-finite values become NaN (left out)."""
    y = np.asarray(y, dtype=float)
    y = np.where(np.isfinite(y), y, np.nan)
    return np.rad2deg(np.sqrt(y)) if rmse_deg else y


def _style(i: int, *, line: bool = True, marker: bool = True) -> dict:
    linestyle, shape = CURVE_STYLES[i % len(CURVE_STYLES)]
    style = {"linestyle": linestyle if line else "none"}
    if marker:
        # hollow markers spread evenly along the drawn line (not per data point, so a grid
        # that is dense near R_max does not pile them up); a per-curve offset keeps markers
        # of coinciding curves apart
        style.update(marker=shape, markersize=6, markerfacecolor="none")
        if line:
            style["markevery"] = (0.013 * (i % 7), 0.09)
    return style


def _n_curves(ax) -> int:
    return sum(1 for line in ax.get_lines() if not line.get_label().startswith("_"))


def _set_y_range(ax, ylim, max_ratio, rmse_deg: bool) -> None:
    if ylim is not None:
        ax.set_ylim(ylim)
        return
    if max_ratio is None:
        return
    if not max_ratio > 1:
        raise ValueError(f"max_ratio must be > 1 (a ratio of CRBs) or None; got {max_ratio!r}")
    y = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()])
    y = y[np.isfinite(y) & (y > 0)]
    if y.size == 0:
        return
    ratio = np.sqrt(max_ratio) if rmse_deg else max_ratio
    lo = float(y.min())
    hi = min(float(y.max()), lo * ratio)
    pad = max((hi / lo) ** 0.04, 1.15)  # a few percent of the (log) range on either side
    ax.set_ylim(lo / pad, hi * pad)


def _finish(ax, ylabel: str, legend: bool) -> None:
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.15)
    if legend:
        ax.legend(framealpha=0.85)


def _draw_front(ax, front, label, rmse_deg, kwargs):
    style = _style(_n_curves(ax))
    label = front_name(front.signal, front.scheme) if label is None else label
    ax.plot(front.rate, _values(front.crb, rmse_deg), label=label, **{**style, **kwargs})


def plot_boundary(
    front,
    ax=None,
    *,
    label: str | None = None,
    rmse_deg: bool = False,
    max_ratio: float | None = 1e3,
    ylim=None,
    legend: bool = True,
    **kwargs,
):
    r"""Draw one CRB-rate boundary (rate on x, CRB or RMSE bound on a log y axis).

    Called repeatedly on one Axes, each boundary takes the next style of
    `beamopt.plots.CURVE_STYLES` and the y-range covers all of them.

    Parameters
    ----------
    front : ParetoFront
        The boundary ([`beamopt.crb_rate_boundary`][] or [`beamopt.average_boundary`][]).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    label : str, optional
        Legend label; defaults to `front.label` (e.g. "Gaussian only, optimal").
    rmse_deg : bool
        Draw $\tfrac{180}{\pi}\sqrt{\mathrm{CRB}}$ in degrees instead of the CRB in rad$^2$.
    max_ratio : float or None
        Top of the y-range at most `max_ratio` times the smallest CRB drawn (applied to CRBs,
        i.e. $\sqrt{\text{max\_ratio}}$ on the RMSE scale); None shows every point.
    ylim : (float, float), optional
        Explicit y-range (overrides `max_ratio`).
    legend : bool
        Draw a legend.
    **kwargs
        Passed to `matplotlib.axes.Axes.plot`, overriding the default style (e.g. `color`,
        `linestyle`, `marker`, `linewidth`).

    Returns
    -------
    matplotlib.axes.Axes
        With one new line.
    """
    ax = _axes(ax)
    _draw_front(ax, front, label, rmse_deg, kwargs)
    ax.set_xlabel(_rate_label([front]))
    _finish(ax, _RMSE_LABEL if rmse_deg else _CRB_LABEL, legend)
    _set_y_range(ax, ylim, max_ratio, rmse_deg)
    return ax


def plot_boundaries(
    fronts: Sequence,
    ax=None,
    *,
    labels: Sequence[str] | None = None,
    styles: Sequence[Mapping] | None = None,
    rmse_deg: bool = False,
    max_ratio: float | None = 1e3,
    ylim=None,
    legend: bool = True,
    **kwargs,
):
    r"""Draw several CRB-rate boundaries on one Axes, each in its own style, with a legend.

    Parameters
    ----------
    fronts : sequence of ParetoFront
    ax : matplotlib.axes.Axes, optional
    labels : sequence of str, optional
        One legend label per front; defaults to each `front.label`.
    styles : sequence of dict, optional
        One dict of `Axes.plot` keyword arguments per front, applied over `kwargs`.
    rmse_deg, max_ratio, ylim, legend
        As in [`plot_boundary`][beamopt.plots.plot_boundary].
    **kwargs
        Passed to `Axes.plot` for every front.

    Returns
    -------
    matplotlib.axes.Axes
        With one new line per front.
    """
    ax = _axes(ax)
    for name, given in (("labels", labels), ("styles", styles)):
        if given is not None and len(given) != len(fronts):
            raise ValueError(
                f"{name} must have one entry per front ({len(fronts)}); got {len(given)}"
            )
    for i, front in enumerate(fronts):
        style = {**kwargs, **(styles[i] if styles is not None else {})}
        _draw_front(ax, front, None if labels is None else labels[i], rmse_deg, style)
    ax.set_xlabel(_rate_label(fronts))
    _finish(ax, _RMSE_LABEL if rmse_deg else _CRB_LABEL, legend)
    _set_y_range(ax, ylim, max_ratio, rmse_deg)
    return ax


def plot_crb_sweep(
    sweep,
    ax=None,
    *,
    show_mse: bool = True,
    rmse_deg: bool = False,
    ylim=None,
    legend: bool = True,
    **kwargs,
):
    r"""Draw the CRB (lines) and, when present, the estimator MSE (filled markers) of a sweep.

    Each signal model has its own line style and marker shape; its MSE markers share the
    colour and shape of its CRB line. The superposition model is labelled with its
    deterministic power share.

    Parameters
    ----------
    sweep : CrbSweep
        From [`beamopt.crb_sweep`][].
    ax : matplotlib.axes.Axes, optional
    show_mse : bool
        Also draw `sweep.mse` when it is not None.
    rmse_deg : bool
        Draw $\tfrac{180}{\pi}\sqrt{\mathrm{CRB}}$ and the estimator RMSE in degrees instead
        of the CRB and MSE in rad$^2$.
    ylim : (float, float), optional
        Explicit y-range; by default every point is shown.
    legend : bool
        Draw a legend.
    **kwargs
        Passed to `Axes.plot` for the CRB lines, overriding the default style.

    Returns
    -------
    matplotlib.axes.Axes
        With one line per signal, plus one per signal for the MSE.
    """
    ax = _axes(ax)
    with_mse = show_mse and sweep.mse is not None
    share = sweep.metadata.get("deterministic_fraction")
    crb_word, mse_word = (r"$\sqrt{\mathrm{CRB}}$", "RMSE") if rmse_deg else ("CRB", "MSE")
    first = _n_curves(ax)
    crb_lines, mse_lines = [], []
    for i, s in enumerate(sweep.signals):
        name = signal_name(s, share)
        style = _style(first + i, marker=not with_mse)
        if with_mse:
            style["zorder"] = 3  # bounds over the estimates' markers
        (line,) = ax.plot(
            sweep.x,
            _values(sweep.crb[i], rmse_deg),
            label=f"{crb_word}, {name}" if with_mse else name,
            **{**style, **kwargs},
        )
        crb_lines.append(line)
        if with_mse:
            mse_lines += ax.plot(
                sweep.x,
                _values(sweep.mse[i], rmse_deg),
                color=line.get_color(),
                label=f"{mse_word}, {name}",
                **{
                    **_style(first + i, line=False),
                    "markerfacecolor": line.get_color(),
                    "markersize": 5,
                    "alpha": 0.8,
                },
            )
    ax.set_xlabel(sweep.x_label)
    if rmse_deg:
        ylabel = "RMSE of DoA (deg): bound and estimator" if with_mse else _RMSE_LABEL
    else:
        ylabel = "CRB and estimator MSE of DoA (rad$^2$)" if with_mse else _CRB_LABEL
    _finish(ax, ylabel, legend and not with_mse)
    if legend and with_mse:
        # bounds in one column, estimates in the other, below the axes: with MSE markers
        # everywhere there is no empty corner inside that a six-entry legend would fit in
        ax.legend(
            handles=crb_lines + mse_lines,
            ncols=2,
            fontsize="small",
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14),
        )
    _set_y_range(ax, ylim, None, rmse_deg)
    return ax
