"""Human names of the signal models and schemes, shared by sweeps, boundaries and figures.

One table, so that a model is named the same way in every legend, title and CSV comment.
"""

from __future__ import annotations

__all__ = ["SIGNAL_NAMES", "SCHEME_NAMES", "signal_name", "scheme_name", "front_name"]

#: Legend name of each signal model (sensing-only sweeps and CRB-rate boundaries).
SIGNAL_NAMES = {
    "gaussian": "Gaussian only",
    "deterministic": "deterministic only",
    "superposition": "Gaussian + deterministic",
    "known": "known symbols",
}
#: Legend name of each boundary scheme.
SCHEME_NAMES = {
    "optimal": "optimal",
    "time_switching": "time switching",
    "power_splitting": "power splitting",
}


def signal_name(signal: str, deterministic_fraction: float | None = None) -> str:
    """Name of `signal`; with a fixed deterministic power share, the share in percent.

    E.g. `"Gaussian + 10 % deterministic"`: a tenth of the power on the deterministic signal.
    """
    name = SIGNAL_NAMES.get(signal, signal)
    if signal == "superposition" and deterministic_fraction is not None:
        return f"Gaussian + {100 * deterministic_fraction:g} % deterministic"
    return name


def scheme_name(scheme: str) -> str:
    """Name of a boundary scheme, e.g. `"time switching"`."""
    return SCHEME_NAMES.get(scheme, scheme.replace("_", " "))


def front_name(signal: str, scheme: str) -> str:
    """Legend name of a boundary, e.g. `"Gaussian only, time switching"`."""
    return f"{signal_name(signal)}, {scheme_name(scheme)}"
