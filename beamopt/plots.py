"""Every figure of the package in one namespace.

Each function takes `ax=None` (a new figure through `matplotlib.pyplot` when omitted),
draws on it and returns the Axes; none saves files. matplotlib is imported inside the
functions, so importing this module stays light. The figures live with their families
([`beamopt.bistatic.plots`][], [`beamopt.beampattern.plots`][]); this module gathers them,
as `beamopt/__init__.py` gathers the public API.
"""

from __future__ import annotations

from .beampattern.plots import plot_beampattern, plot_dictionary_correlation, plot_isac_tradeoff
from .bistatic.plots import CURVE_STYLES, plot_boundaries, plot_boundary, plot_crb_sweep

__all__ = [
    "CURVE_STYLES",
    "plot_boundary",
    "plot_boundaries",
    "plot_crb_sweep",
    "plot_beampattern",
    "plot_isac_tradeoff",
    "plot_dictionary_correlation",
]
