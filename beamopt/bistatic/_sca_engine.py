r"""The machinery behind [`beamopt.sca_superposition`][]: one scenario, many targets.

An [`Engine`][beamopt.bistatic._sca_engine.Engine] is built once per scenario: the span
basis and its data (`beamopt.bistatic._span`, the only step whose cost grows with
$N_t$) and, with an explicit cvxpy `solver`, the parametrised support SDP compiled once
(`beamopt.bistatic._sca_subproblem`). [`Engine.design`][beamopt.bistatic._sca_engine.Engine.design]
then runs the whole multi-start SCA and its certificate for one set of targets in the
span basis ($d \le K + 1$), so $N_t$ never enters the loop; a boundary calls it once per
target on the same engine, warm-starting each from the previous design.

Every iterate is positive semidefinite by construction (interior-point blocks, or the
eigenvalue-clipped cvxpy answer) and exactly feasible (`repair`); the engine keeps a
profile of where the time goes (`setup`, `starts`, `sca`, `bound`, `repair`).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..result import CONVERGED, MAX_ITERATIONS
from . import _frontier as fr
from ._power_min import min_power
from ._sca_bound import certify
from ._sca_starts import beams_start, mmse_beams, random_start
from ._span import SpanProblem, blend, repair, span_problem
from ._support_ipm import SupportSolver

__all__ = ["Engine", "Outcome", "Run"]


@dataclass
class Run:
    """One SCA run from one start (normalised design in the span basis)."""

    X: np.ndarray
    Y: np.ndarray
    phi: float
    history: list
    nu: list
    status: str
    iterations: int


@dataclass
class Outcome:
    """Everything one design produced (span basis, normalised units)."""

    runs: list  # (name, Run)
    upper: float  # certified upper bound on the normalised information (NaN if skipped)
    bound_solves: int
    notes: list
    problem: SpanProblem
    profile: dict = field(default_factory=dict)

    @property
    def best(self):
        return max(self.runs, key=lambda r: r[1].phi)


class _Targets:
    """The support oracle for one set of targets: solves, repairs and collects half-planes."""

    def __init__(self, engine, p: SpanProblem):
        self.e, self.p = engine, p
        self.native = SupportSolver(p) if engine.cvx is None else None
        self.lines, self.solves, self.notes = [], 0, []
        self.least = min_power(p)  # feasibility was checked: a design with power <= 1
        self.anchor = None
        if self.least.X is not None and self.least.power > 0:  # scaled to the whole budget
            X = self.least.X / self.least.power
            self.anchor = (X, np.zeros_like(X[0]))

    def repair(self, X, Y):
        with self.e.timed("repair"):
            return repair(self.p, X, Y, self.anchor)

    def support(self, nu, c):
        """Support point in direction (nu, c): repaired (X, Y), phi, w, s, D; or None."""
        p = self.p
        with self.e.timed("solve"):
            self.solves += 1
            if self.native is not None:
                sol = self.native.solve(nu, c)
                X, Y, D = sol.X, sol.Y, sol.dual
            else:
                out = self.e.cvx.solve(p, nu, c)
                if out is None:  # cannot happen for feasible targets, barring solver trouble
                    self.notes.append(f"support solve at nu={nu:.3g}: solver says infeasible")
                    return None
                X, Y, D = out
        fixed = self.repair(X, Y)
        if fixed is None:
            self.notes.append(f"support solve at nu={nu:.3g}: answer could not be repaired")
            return None
        X, Y = fixed
        w, s = p.gains(X, Y)
        phi = float(fr.information_shape(w, s, p.kappa, p.n_rx))
        D = max(D, c * s + nu * w)
        self.lines.append((float(nu), float(c), D))
        return X, Y, phi, w, s, D

    def gaussian(self):
        """The Gaussian-only optimum (support direction (1, 0) without a sensing block)."""
        p = self.p
        with self.e.timed("solve"):
            self.solves += 1
            if self.native is not None:
                sol = SupportSolver(p, sensing=False).solve(1.0, 0.0)
                X, D = sol.X, sol.dual
            else:
                out = self.e.cvx.solve(p, 1.0, 0.0)
                if out is None:
                    return None
                X, _, D = out
        fixed = self.repair(X, np.zeros_like(X[0]))
        if fixed is None:
            return None
        X, Y = fixed
        # dropping Y keeps any design feasible with the same w: D bounds w with sensing too
        self.lines.append((1.0, 0.0, max(D, p.gains(X, Y)[0])))
        return X, Y

    def climb(self, X, Y, max_iterations, tolerance) -> Run:
        r"""SCA from a feasible normalised design, with extrapolated tangent slopes.

        Plain SCA solves the support problem at $\nu_{i} = f'(\kappa w_i)$. Where the
        boundary of the gain region is nearly flat for $\Phi$ the slopes creep in one
        direction for tens of iterations, each gaining little; then a trial at the
        extrapolated slope $\nu_i + \omega(\nu_i - \nu_{i-1})$ ($\omega = 2, 4, \dots$
        while trials succeed) is solved as well and kept only if it beats the plain
        iterate, so the objective stays monotone. Each trial is a support solve, so its
        half-plane serves the certificate too.
        """
        p = self.p
        w, s = p.gains(X, Y)
        phi = float(fr.information_shape(w, s, p.kappa, p.n_rx))
        run = Run(X, Y, phi, [phi], [], MAX_ITERATIONS, 0)
        nu_max = float(fr.slope(1.0, p.kappa, p.n_rx))
        omega, prev_nu, prev_step = 2.0, None, None
        for _ in range(max_iterations):
            nu = float(fr.slope(w, p.kappa, p.n_rx))
            out = self.support(nu, 1.0)
            run.iterations += 1
            run.nu.append(nu)
            if out is None:
                run.status = CONVERGED
                break
            Xn, Yn, phi_new, w_new, _, _ = out
            if phi_new < run.phi:  # solver round-off near convergence: keep the monotone iterate
                run.status = CONVERGED
                break
            gain = phi_new - run.phi
            nu_next = float(fr.slope(w_new, p.kappa, p.n_rx))
            step = nu_next - nu
            creeping = (
                prev_step is not None
                and step * prev_step > 0
                and abs(step) >= 0.3 * abs(prev_step)
                and gain > 100 * tolerance * phi_new
            )
            if creeping and run.iterations < max_iterations:
                trial_nu = min(max(nu_next + omega * step, 0.0), nu_max)
                trial = self.support(trial_nu, 1.0)
                run.iterations += 1
                if trial is not None and trial[2] > phi_new:
                    Xn, Yn, phi_new, w_new = trial[0], trial[1], trial[2], trial[3]
                    gain = phi_new - run.phi
                    omega *= 2.0
                else:
                    omega = 2.0
            prev_nu, prev_step = nu, step
            run.X, run.Y, run.phi, w = Xn, Yn, phi_new, w_new
            run.history.append(phi_new)
            if gain <= tolerance * run.phi:
                run.status = CONVERGED
                break
        del prev_nu
        return run


class Engine:
    """Span data (and the compiled cvxpy problem, if any) of one scenario."""

    def __init__(self, scenario, *, reduce=True, solver=None, solver_options=None):
        self.profile = {}
        with self.timed("setup"):
            self.scenario = scenario
            self.base = span_problem(scenario, np.zeros(scenario.n_users), reduce)
            self.cvx = None
            if solver is not None:
                from ._sca_subproblem import CvxpySupport

                self.cvx = CvxpySupport(self.base, solver, solver_options)

    @contextmanager
    def timed(self, key):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.profile[key] = self.profile.get(key, 0.0) + time.perf_counter() - t0

    def problem(self, gamma) -> SpanProblem:
        return self.base.with_targets(gamma)

    def project(self, W, Rs):
        """Dense (W stack, Rs) in watts -> normalised span-basis blocks (exact for the metrics)."""
        Q, P = self.base.Q, self.scenario.power
        X = np.einsum("ia,kij,jb->kab", Q.conj(), W, Q) / P
        Y = Q.conj().T @ Rs @ Q / P
        return X, Y

    def design(
        self,
        gamma,
        *,
        starts=("gaussian", "beams"),
        initial=None,
        n_starts=2,
        rng=None,
        max_iterations=100,
        tolerance=1e-8,
        certify_gap=True,
        gap_tolerance=1e-5,
        max_bound_solves=40,
    ) -> Outcome:
        """Multi-start SCA and the certificate for targets `gamma` (feasibility checked).

        `initial` is a list of (name, X, Y) normalised span-basis starts, run first;
        a start that misses the targets is blended with the least-power design.
        """
        before = dict(self.profile)
        p = self.problem(gamma)
        tg = _Targets(self, p)
        with self.timed("starts"):
            points, notes = self._starts(tg, starts, initial, n_starts, rng)
        s0 = self.profile.get("solve", 0.0)
        runs = [(name, tg.climb(X, Y, max_iterations, tolerance)) for name, X, Y in points]
        self.profile["sca"] = self.profile.get("sca", 0.0) + self.profile.get("solve", 0.0) - s0
        upper, solves = np.nan, 0
        if certify_gap:
            best_phi = max(r.phi for _, r in runs)

            def oracle(nu, c):
                out = tg.support(nu, c)
                return (out[5], out[2], out[:2]) if out is not None else (np.inf, -np.inf, None)

            n0 = tg.solves
            with self.timed("bound"):
                upper, found, _, _ = certify(
                    oracle, tg.lines, best_phi, p.kappa, p.n_rx, gap_tolerance, max_bound_solves
                )
            if found is not None:  # the search found a better point: let SCA polish it
                runs.append(("bound", tg.climb(*found, max_iterations, tolerance)))
                upper = max(upper, runs[-1][1].phi)
            solves = tg.solves - n0
        profile = {k: v - before.get(k, 0.0) for k, v in self.profile.items()}
        profile["support_solves"] = tg.solves
        return Outcome(runs, upper, solves, notes + tg.notes, p, profile)

    def _starts(self, tg, starts, initial, n_starts, rng):
        """Named feasible normalised starts, in the order they are run."""
        p = tg.p
        out, notes = [], []
        least, anchor = tg.least, tg.anchor
        mmse = None
        if least.X is not None:  # the least-power beams (MRT for users without a target)
            mmse = p.U.copy()
            mmse[p.active] = mmse_beams(least.X[p.active])
        for name, X, Y in initial or ():
            fixed = tg.repair(X, Y) if anchor is None else blend(p, X, Y, anchor)
            if fixed is None:
                notes.append(f"start {name!r} skipped: it cannot be made feasible")
            else:
                out.append((name, *fixed))
        for name in starts:
            x = tg.gaussian() if name == "gaussian" else beams_start(p, mmse)
            if x is None:
                notes.append(f"start {name!r} skipped: its beams cannot meet the targets")
            else:
                out.append((name, *x))
        for j in range(n_starts):
            x = random_start(p, rng, mmse)
            if x is None:
                notes.append(f"random start {j} skipped: no feasible power split found")
            else:
                out.append((f"random{j}", *x))
        if not out:
            x = tg.gaussian()
            if x is None and anchor is not None:
                x = anchor
            out.append(("gaussian", *x))
        # LP round-off (~1e-9) can leave a start a hair short of a target
        fixed = [(name, tg.repair(X, Y)) for name, X, Y in out]
        return [(name, *f) for name, f in fixed if f is not None], notes
