"""Frozen result objects shared by every beamopt solver.

Modelled on `scipy.optimize.OptimizeResult` and pymanopt's
`OptimizerResult`: one solution, its objective, how the solver stopped and
what it cost. Subclasses add the quantities specific to a problem family.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._repr import short_repr, summary_repr

__all__ = ["SolverResult", "BeamformingResult", "PrecoderResult"]

#: Status strings every solver maps its own outcome onto.
OPTIMAL = "optimal"
OPTIMAL_INACCURATE = "optimal_inaccurate"
CONVERGED = "converged"
MAX_ITERATIONS = "max_iterations"
SUCCESS_STATUSES = frozenset({OPTIMAL, OPTIMAL_INACCURATE, CONVERGED})


def _empty() -> np.ndarray:
    return np.empty(0)


@dataclass(frozen=True, kw_only=True)
class SolverResult:
    """Outcome of a beamopt solver.

    Attributes
    ----------
    objective : float
        Objective value at the returned solution.
    status : str
        `"optimal"`, `"optimal_inaccurate"`, `"converged"` or
        `"max_iterations"`.
    method : str
        The method that produced the solution (e.g. `"closed_form"`).
    iterations : int
        Solver iterations (0 for closed forms).
    solve_time : float
        Wall-clock seconds spent in the solver.
    message : str
        Human-readable detail (back-end used, fallbacks taken).
    history : ndarray, shape (iterations + 1,)
        Objective after each outer iteration, when the method is iterative.
    extras : Mapping
        Method-specific diagnostics (e.g. a bound gap).
    """

    objective: float
    status: str
    method: str
    iterations: int = 0
    solve_time: float = 0.0
    message: str = ""
    history: np.ndarray = field(default_factory=_empty)
    extras: Mapping = field(default_factory=dict)

    __repr__ = summary_repr

    @property
    def success(self) -> bool:
        """Whether the solver reports a usable solution."""
        return self.status in SUCCESS_STATUSES

    def _stats(self) -> dict:
        """How the solver stopped, for the reprs (arrays and messages stay attributes)."""
        return {"status": self.status, "method": self.method, "iterations": self.iterations,
                "solve_time": self.solve_time}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class BeamformingResult(SolverResult):
    """Outcome of a CRB-minimising transmit design.

    Attributes
    ----------
    W : ndarray, shape (n_tx, n_tx) or (n_users, n_tx, n_tx), complex
        Covariance of the Gaussian information signal (one per user when the
        scenario has several users).
    Rs : ndarray, shape (n_tx, n_tx), complex
        Sample covariance of the deterministic sensing signal (zero for
        Gaussian-only designs).
    crb : float
        DoA CRB of the design (rad^2) under the requested signal model.
    rate : float or ndarray, shape (n_users,)
        Achievable rate `log2(1 + sinr)` in bit/s/Hz.
    sinr : float or ndarray, shape (n_users,)
        Communication SINR (linear).
    """

    W: np.ndarray
    Rs: np.ndarray
    crb: float
    rate: float | np.ndarray
    sinr: float | np.ndarray

    def __repr__(self) -> str:
        gap = self.extras.get("bound_gap") if isinstance(self.extras, Mapping) else None
        return short_repr(self, {
            "crb": self.crb, "rate": self.rate, "sinr": self.sinr, **self._stats(),
            "bound_gap": gap, "W": self.W, "Rs": self.Rs,
        })  # fmt: skip

    @property
    def W_total(self) -> np.ndarray:
        """Sum of the per-user information covariances, shape (n_tx, n_tx)."""
        return self.W if self.W.ndim == 2 else self.W.sum(axis=0)


@dataclass(frozen=True, kw_only=True)
class PrecoderResult(SolverResult):
    r"""Outcome of a Bayesian (posterior-sample based) precoder design.

    Attributes
    ----------
    F : ndarray, shape (n_tx, n_streams) or (n_subcarriers, n_tx, n_streams), complex
        Precoder with orthonormal columns.
    objective : float
        What the method maximises, at `F`: the received energy
        $\mathrm{tr}(F^H \hat G F)$ for the Gramian-based precoders, the
        Monte Carlo average spectral efficiency (bit/s/Hz) for the manifold precoder.
    history : ndarray
        Objective after each iteration (the warm start first); empty for closed forms.
    """

    F: np.ndarray

    def __repr__(self) -> str:
        return short_repr(self, {"objective": self.objective, **self._stats(), "F": self.F})
