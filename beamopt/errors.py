"""Exceptions raised by beamopt solvers."""

from __future__ import annotations

__all__ = ["InfeasibleError", "SolverError"]


class InfeasibleError(ValueError):
    """A communication target cannot be met under the power budget.

    Attributes
    ----------
    parameter : str
        Name of the offending argument (e.g. `"snr_min"`).
    requested : float or ndarray
        The target that was asked for (linear scale).
    max_achievable : float or ndarray
        The largest value of that target that the scenario can support
        (linear scale).
    """

    def __init__(self, message: str, *, parameter: str, requested, max_achievable):
        super().__init__(message)
        self.parameter = parameter
        self.requested = requested
        self.max_achievable = max_achievable


class SolverError(RuntimeError):
    """Every numerical back-end failed to return a usable solution."""
