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

#: The bound search stops at this fraction of `gap_tolerance` (or its solve budget).
_AIM = 0.1


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
        # users need at least p_min of the budget whatever Y is (Y only interferes), so
        # s <= tr Y <= 1 - p_min: a half-plane that matters near the limit of feasibility
        self.extra = [(0.0, 1.0, max(1.0 - self.least.lower, 0.0))]
        self.anchor = None
        if self.least.X is not None and self.least.power > 0:  # scaled to the whole budget
            X = self.least.X / self.least.power
            self.anchor = (X, np.zeros_like(X[0]))

    def repair(self, X, Y):
        with self.e.timed("repair"):
            return repair(self.p, X, Y, self.anchor)

    def support(self, nu, c):
        """Support point in direction (nu, c): repaired (X, Y), phi, w, s, D; or None."""
        return self.support_many([nu], [c])[0]

    def support_many(self, nus, cs):
        """[`support`][beamopt.bistatic._sca_engine._Targets.support] for several directions,
        solved in one batch by the native solver."""
        p = self.p
        with self.e.timed("solve"):
            self.solves += len(nus)
            if self.native is not None:
                sols = [(s.X, s.Y, s.dual) for s in self.native.solve_many(nus, cs)]
            else:
                sols = [self.e.cvx.solve(p, nu, c) for nu, c in zip(nus, cs)]
        return [self._accept(nu, c, sol) for nu, c, sol in zip(nus, cs, sols)]

    def _accept(self, nu, c, sol):
        if sol is None:  # cannot happen for feasible targets, barring solver trouble
            self.notes.append(f"support solve at nu={nu:.3g}: solver says infeasible")
            return None
        X, Y, D = sol
        fixed = self.repair(X, Y)
        if fixed is None:
            self.notes.append(f"support solve at nu={nu:.3g}: answer could not be repaired")
            return None
        X, Y = fixed
        w, s = self.p.gains(X, Y)
        phi = float(fr.information_shape(w, s, self.p.kappa, self.p.n_rx))
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
        """SCA from one feasible normalised design (see `climb_all`)."""
        return self.climb_all([(X, Y)], max_iterations, tolerance)[0]

    def climb_all(self, starts, max_iterations, tolerance) -> list[Run]:
        r"""SCA from several feasible normalised designs in lockstep, extrapolating slopes.

        Plain SCA solves the support problem at $\nu_i = f'(\kappa w_i)$; all runs'
        subproblems of one round are one batch. Where the boundary of the gain region is
        nearly flat for $\Phi$ a run's slopes creep in one direction for tens of
        iterations, each gaining little; then a trial at the extrapolated slope
        $\nu_{i+1} + \omega(\nu_{i+1} - \nu_i)$ ($\omega = 2, 4, \dots$ while trials
        succeed) is solved as well and kept only if it beats the plain iterate, so the
        objective stays monotone. Trials are support solves too: their half-planes serve
        the certificate.
        """
        p = self.p
        nu_max = float(fr.slope(1.0, p.kappa, p.n_rx))
        runs, state = [], []
        for X, Y in starts:
            w, s = p.gains(X, Y)
            phi = float(fr.information_shape(w, s, p.kappa, p.n_rx))
            runs.append(Run(X, Y, phi, [phi], [], MAX_ITERATIONS, 0))
            state.append({"w": w, "omega": 2.0, "step": None, "done": False})
        while True:
            live = [i for i, st in enumerate(state) if not st["done"]]
            live = [i for i in live if runs[i].iterations < max_iterations]
            if not live:
                break
            nus = [float(fr.slope(state[i]["w"], p.kappa, p.n_rx)) for i in live]
            outs = self.support_many(nus, [1.0] * len(live))
            trials = []
            for i, nu, out in zip(live, nus, outs):
                run, st = runs[i], state[i]
                run.iterations += 1
                run.nu.append(nu)
                if out is None or out[2] < run.phi:  # round-off near convergence: stop here
                    run.status, st["done"] = CONVERGED, True
                    continue
                st["new"] = out
                step = float(fr.slope(out[3], p.kappa, p.n_rx)) - nu
                prev, st["step"] = st["step"], step
                creeping = (
                    prev is not None and step * prev > 0 and abs(step) >= 0.3 * abs(prev)
                    and out[2] - run.phi > 100 * tolerance * out[2]
                )  # fmt: skip
                if creeping and run.iterations < max_iterations:
                    nu_next = nu + step
                    trials.append((i, min(max(nu_next + st["omega"] * step, 0.0), nu_max)))
            if trials:
                touts = self.support_many([t for _, t in trials], [1.0] * len(trials))
                for (i, _), out in zip(trials, touts):
                    runs[i].iterations += 1
                    st = state[i]
                    if out is not None and out[2] > st["new"][2]:
                        st["new"], st["omega"] = out, 2.0 * st["omega"]
                    else:
                        st["omega"] = 2.0
            for i in live:
                run, st = runs[i], state[i]
                if st["done"]:
                    continue
                X, Y, phi, w = st.pop("new")[:4]
                gain = phi - run.phi
                run.X, run.Y, run.phi, st["w"] = X, Y, phi, w
                run.history.append(phi)
                if gain <= tolerance * phi:
                    run.status, st["done"] = CONVERGED, True
        return runs


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
        from .._validation import as_generator

        rng = as_generator(0 if rng is None else rng)
        before = dict(self.profile)
        p = self.problem(gamma)
        tg = _Targets(self, p)
        with self.timed("starts"):
            points, notes = self._starts(tg, starts, initial, n_starts, rng)
        s0 = self.profile.get("solve", 0.0)
        climbed = tg.climb_all([(X, Y) for _, X, Y in points], max_iterations, tolerance)
        runs = [(name, run) for (name, _, _), run in zip(points, climbed)]
        self.profile["sca"] = self.profile.get("sca", 0.0) + self.profile.get("solve", 0.0) - s0
        upper, solves = np.nan, 0
        if certify_gap:
            best_phi = max(r.phi for _, r in runs)

            def oracle(nu, c):
                out = tg.support(nu, c)
                return (out[5], out[2], out[:2]) if out is not None else (np.inf, -np.inf, None)

            n0 = tg.solves
            with self.timed("bound"):
                # aim a decade below the tolerance: a few solves buy a tight certificate
                upper, found, _, _ = certify(
                    oracle, tg.lines, best_phi, p.kappa, p.n_rx, _AIM * gap_tolerance,
                    max_bound_solves, tg.extra,
                )  # fmt: skip
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
        # LP round-off (~1e-9) can leave a start a hair short of a target
        fixed = [(name, tg.repair(X, Y)) for name, X, Y in out]
        fixed = [(name, *f) for name, f in fixed if f is not None]
        if not fixed and anchor is not None:  # e.g. targets at the limit of feasibility
            notes.append("no start could be made feasible; starting from the least-power design")
            fixed = [("least_power", *anchor)]
        return fixed, notes
