"""Solve a cvxpy problem with Clarabel, falling back to SCS when Clarabel fails."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

from .errors import SolverError

__all__ = ["SolveInfo", "solve_with_fallback", "check_solver", "DEFAULT_SOLVERS"]

#: Back-ends tried in order when the caller names none.
DEFAULT_SOLVERS = ("CLARABEL", "SCS")
#: SCS is first order: ask for tight tolerances so its answer is usable.
_DEFAULT_OPTIONS = {"SCS": {"eps_abs": 1e-8, "eps_rel": 1e-8, "max_iters": 50_000}}
_USABLE = ("optimal", "optimal_inaccurate")
_INFEASIBLE = ("infeasible", "infeasible_inaccurate")


@dataclass(frozen=True)
class SolveInfo:
    """What happened inside `solve_with_fallback`."""

    status: str
    solver: str
    iterations: int
    solve_time: float
    message: str

    @property
    def infeasible(self) -> bool:
        return self.status in _INFEASIBLE


def check_solver(solver) -> str | None:
    """Require `solver` to be None or the name of an installed cvxpy solver.

    Checked before any problem is built, so a typo is a [`ValueError`][] naming `solver`
    and the allowed values rather than a failed solve. Imports cvxpy only for a name.
    """
    if solver is None:
        return None
    import cvxpy

    installed = tuple(cvxpy.installed_solvers())
    if not isinstance(solver, str) or solver.upper() not in installed:
        raise ValueError(
            f"solver must be None (Clarabel, then SCS) or an installed cvxpy solver, one of "
            f"{installed} (any case); got {solver!r}"
        )
    return solver


def solve_with_fallback(problem, solver=None, solver_options=None) -> SolveInfo:
    """Solve `problem`; try each back-end in turn until one gives a usable answer.

    Parameters
    ----------
    problem : cvxpy.Problem
    solver : str, optional
        A cvxpy solver name; `None` tries Clarabel then SCS.
    solver_options : dict, optional
        Keyword arguments forwarded to `problem.solve`.

    Returns
    -------
    SolveInfo
        Status `"optimal"`/`"optimal_inaccurate"` or `"infeasible"`.

    Raises
    ------
    SolverError
        If no back-end produced a usable or certified-infeasible answer.
    """

    names = (solver.upper(),) if solver else DEFAULT_SOLVERS
    notes = []
    t0 = time.perf_counter()
    for name in names:
        opts = {**_DEFAULT_OPTIONS.get(name, {}), **(solver_options or {})}
        try:
            # cvxpy warns on inaccurate solutions; the status already says so
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                problem.solve(solver=name, **opts)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            # Clarabel's Rust core can panic (pyo3 PanicException derives from
            # BaseException, not Exception); that is one back-end failing, not the run.
            notes.append(f"{name} failed: {type(exc).__name__}: {exc}")
            continue
        notes.extend(f"{name}: {w.message}" for w in caught)
        status = problem.status
        if status in _USABLE or status in _INFEASIBLE:
            stats = problem.solver_stats
            notes.append(f"solved by {name} ({status})")
            return SolveInfo(
                status=status,
                solver=name,
                iterations=int(getattr(stats, "num_iters", 0) or 0),
                solve_time=time.perf_counter() - t0,
                message="; ".join(notes),
            )
        notes.append(f"{name} returned status {status!r}")
    raise SolverError("no solver produced a usable solution: " + "; ".join(notes))
