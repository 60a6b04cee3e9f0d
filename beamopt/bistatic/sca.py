r"""Successive convex approximation for the superposition design (the CRB-rate paper's Algorithm 1).

With $x = g_0 c_W$ the DoA information is, up to the factor $2 L \|\partial b\|^2$,

$$
F(W, R_s) = g_0 c_S + g_0 c_W - \frac{1}{N_r} + \frac{1}{N_r (1 + N_r g_0 c_W)},
$$

affine plus a convex function of $c_W = a^H W a$ (with several users
$W = \sum_k W_k$). Replacing the convex term by its tangent at the previous
iterate $c_W^{(i)}$ gives a global under-estimator of $F$, tight at
$c_W^{(i)}$; maximising it is the SDP

$$
\max_{W_k, R_s \succeq 0}\; a^H R_s a + \nu_i\, a^H W a, \qquad
\nu_i = 1 - (1 + N_r g_0 c_W^{(i)})^{-2},
$$

subject to the (linear) SINR constraints and the power budget. Each solution is at
least as good as the previous iterate under $F$, so the objective is monotone and
converges; the limit is a stationary point, not necessarily the global optimum.

Two additions make the answer trustworthy:

* **several starts** (`beamopt.bistatic._sca_starts`): the Gaussian-only optimum, a
  beam toward each user plus a sensing beam, seeded random feasible starts, and an
  optional warm start; the best end point is returned and every start's CRB is reported.
* **a certificate** (`beamopt.bistatic._sca_bound`): every SCA subproblem is a support
  problem of the convex planar gain region, and its dual gives a half-plane containing
  that region; a short outer-approximation search over those half-planes bounds the
  optimal information from above, for any number of users. The result carries
  `bound_gap` and `crb_lower_bound`, and its status says whether the gap is within
  `gap_tolerance`. Points found by the search that beat SCA seed one more SCA run.

The SDPs are solved in the span basis of $\{a, h_1, \dots, h_K\}$ and in normalised
units (`beamopt.bistatic._span`; $N_t$ enters only when the basis is built and the design
lifted back), by the dedicated interior-point method of `beamopt.bistatic._support_ipm`
(several directions per batch; PSD iterates by construction) or, with an explicit
`solver`, by cvxpy on one problem compiled per scenario with parameters for the directions
and targets (`beamopt.bistatic._sca_subproblem`). Every answer is repaired to exact
feasibility; targets are checked first by the least-power design of
`beamopt.bistatic._power_min`, which certifies unreachable ones
(`beamopt.bistatic._sca_engine` runs the whole design).

References
----------
CRB-rate tradeoff for bistatic ISAC with Gaussian information and deterministic
sensing signals: eqs. (58)-(61) and Algorithm 1.
"""

from __future__ import annotations

import time

import numpy as np

from .._cvxpy_solve import check_solver
from .._validation import (
    as_array,
    as_generator,
    check_int,
    check_positive,
    check_psd,
    check_shape_tail,
)
from ..result import CONVERGED, OPTIMAL, BeamformingResult
from . import _frontier as fr
from ._power_min import min_power
from ._sca_engine import Engine, Outcome, Run
from ._targets import check_single_user_reachable, raise_infeasible, snr_targets
from .comm import communication_sinr
from .crb import crb_from_gains
from .scenario import BistaticScenario, check_scenario

__all__ = ["sca_superposition", "GAP_ABOVE_TOLERANCE", "STARTS"]

#: Status of a design whose certified gap to the optimum exceeds ``gap_tolerance``.
GAP_ABOVE_TOLERANCE = "gap_above_tolerance"
#: Structured starts (besides ``n_starts`` random ones and ``initial_point``).
STARTS = ("gaussian", "beams")


def _check_start(scenario, gamma, initial_point):
    try:
        W, Rs = initial_point
    except (TypeError, ValueError) as exc:
        raise ValueError("initial_point must be a pair (W, Rs) of covariances") from exc
    K, n = scenario.n_users, scenario.n_tx
    W = as_array(W, "initial_point W", dtype=complex)
    Rs = as_array(Rs, "initial_point Rs", dtype=complex)
    check_shape_tail(W, (K, n, n) if K > 1 else (n, n), "initial_point W")
    check_shape_tail(Rs, (n, n), "initial_point Rs")
    if W.ndim != (3 if K > 1 else 2) or Rs.ndim != 2:
        raise ValueError("initial_point must hold one design, not a batch")
    check_psd(W, "initial_point W")
    check_psd(Rs, "initial_point Rs")
    W = W.reshape(K, n, n)
    power = np.trace(W.sum(axis=0) + Rs).real
    sinr = np.atleast_1d(communication_sinr(scenario, W if K > 1 else W[0], Rs))
    if power > scenario.power * (1 + 1e-6) or np.any(sinr < gamma * (1 - 1e-6)):
        raise ValueError(
            "initial_point must be feasible: tr(W + Rs) <= power and SINR >= snr_min "
            f"(got power {power:.6g} of {scenario.power:.6g}, SINR {sinr} vs {gamma})"
        )
    return W, Rs


def _check_starts(starts, n_starts):
    if isinstance(starts, str):
        starts = (starts,)
    try:
        starts = tuple(starts)
    except TypeError as exc:
        raise ValueError(f"starts must be a sequence drawn from {STARTS}; got {starts!r}") from exc
    for name in starts:
        if name not in STARTS:
            raise ValueError(f"starts must be drawn from {STARTS}; got {name!r}")
    return tuple(dict.fromkeys(starts)), check_int(n_starts, "n_starts", minimum=0)


def check_reachable(engine: Engine, gamma) -> None:
    r"""Raise [`InfeasibleError`][beamopt.InfeasibleError] unless the targets can be met.

    One user: $\gamma \le P\|h\|^2/\sigma_c^2$. Several: the least Gaussian-only power
    (`beamopt.bistatic._power_min`, certified either way) is within the budget.
    """
    sc = engine.scenario
    if sc.n_users == 1:
        check_single_user_reachable(sc, gamma[0])
    elif not min_power(engine.problem(gamma)).feasible:
        raise_infeasible(sc, gamma)


def _only_design(scenario):
    """The largest single-user target admits one design: all power to the user, Rs = 0.

    (An SDP with an empty interior, which interior-point solvers handle badly.)
    """
    from ._span import span_problem

    p = span_problem(scenario, scenario.max_snr, True)
    X = np.outer(p.U[0], p.U[0].conj())[None]
    Y = np.zeros_like(X[0])
    w, s = p.gains(X, Y)
    phi = float(fr.information_shape(w, s, p.kappa, p.n_rx))
    run = Run(X, Y, phi, [phi], [], CONVERGED, 0)
    return Outcome([("only", run)], phi, 0, [], p)


def lift(scenario, p, X, Y):
    r"""Normalised span-basis blocks -> covariances in watts, PSD by construction.

    Each block is factored ($X = V V^H$, eigenvalues clipped at zero) and lifted as
    $P\,(QV)(QV)^H$; returns `W` of shape (K, n_tx, n_tx) and `Rs` (n_tx, n_tx).
    """
    from . import _lowrank as lowrank

    Q, P = p.Q, scenario.power
    F = lowrank.from_dense(np.concatenate([X, Y[None]]))  # (K + 1, d, r)
    G = np.sqrt(P) * np.einsum("ia,kar->kir", Q, F)
    M = np.einsum("kir,kjr->kij", G, G.conj())
    return M[:-1], M[-1]


def result_from(scenario, out: Outcome, gap_tolerance, tolerance, reduce, start):
    """The public result of an engine outcome (CRB, rates and certificate from the span data)."""
    p = out.problem
    name, best = out.best
    K, n = scenario.n_users, scenario.n_tx
    t0 = time.perf_counter()
    W, Rs = lift(scenario, p, best.X, best.Y)
    profile = {**out.profile, "lift": time.perf_counter() - t0}
    w, s = p.gains(best.X, best.Y)
    scale_gain = scenario.power * n
    crb = float(crb_from_gains(scenario, scale_gain * w, scale_gain * s))
    sinr = p.sinr(best.X, best.Y)
    scale = 2.0 * scenario.n_symbols * scenario.db_norm2
    info = 1.0 / crb
    info_upper = max(scale * out.upper, info) if np.isfinite(out.upper) else np.nan
    gap = info_upper / info - 1.0
    if np.isnan(gap):
        status = best.status
    else:
        status = OPTIMAL if gap <= gap_tolerance else GAP_ABOVE_TOLERANCE
    sca_solves = int(sum(r.iterations for _, r in out.runs))
    summary = f"SCA from {len(out.runs)} starts ({sca_solves} SDP solves), best {name!r}"
    if not np.isnan(gap):
        summary += f"; certified gap {gap:.2e} ({out.bound_solves} bound solves)"
        if status == GAP_ABOVE_TOLERANCE:
            summary += f" above gap_tolerance {gap_tolerance:g}"
    if K == 1:
        W, sinr = W[0], float(sinr[0])
    return BeamformingResult(
        W=W,
        Rs=Rs,
        crb=crb,
        rate=np.log2(1.0 + sinr),
        sinr=sinr,
        objective=crb,
        status=status,
        method="sca",
        iterations=sca_solves,
        solve_time=time.perf_counter() - start,
        message="; ".join([summary, *out.notes]),
        history=1.0 / (scale * np.asarray(best.history)),
        extras={
            "starts": tuple(nm for nm, _ in out.runs),
            "start_crbs": np.array([1.0 / (scale * r.phi) for _, r in out.runs]),
            "start_iterations": np.array([r.iterations for _, r in out.runs]),
            "best_start": name,
            "bound_gap": float(gap),
            "crb_lower_bound": 1.0 / info_upper if np.isfinite(info_upper) else np.nan,
            "information": float(info),
            "information_upper": float(info_upper),
            "bound_solves": int(out.bound_solves),
            "gap_tolerance": gap_tolerance,
            "nu": np.asarray(best.nu),
            "tolerance": tolerance,
            "reduce": reduce,
            "profile": profile,
        },
    )


def sca_superposition(
    scenario: BistaticScenario,
    snr_min,
    *,
    initial_point=None,
    starts=STARTS,
    n_starts: int = 2,
    rng=0,
    max_iterations: int = 100,
    tolerance: float = 1e-8,
    reduce: bool = True,
    certify_gap: bool = True,
    gap_tolerance: float = 1e-5,
    max_bound_solves: int = 40,
    solver: str | None = None,
    solver_options: dict | None = None,
) -> BeamformingResult:
    r"""Superposition design by multi-start SCA with a certified bound (any number of users).

    Parameters
    ----------
    scenario : BistaticScenario
    snr_min : float or array_like, shape (n_users,)
        SINR targets $\gamma_k$ (linear, >= 0).
    initial_point : tuple (W, Rs), optional
        A feasible warm start, run first: `W` of shape (n_tx, n_tx), or (n_users,
        n_tx, n_tx) with several users, and `Rs` of shape (n_tx, n_tx), in W.
    starts : sequence of {"gaussian", "beams"}
        Structured starts: the optimal Gaussian-only design ($R_s = 0$), and a beam
        toward each user plus a sensing beam toward the target with the least power that
        meets the targets in the user beams (matched, zero-forcing or least-power MMSE
        beams).
    n_starts : int
        Seeded random feasible starts (beams perturbed inside the span, >= 0).
    rng : None, int or numpy.random.Generator
        Seed of the random starts.
    max_iterations : int
        Largest number of SDP solves per start (>= 1).
    tolerance : float
        Stop a start when one iteration gains at most this relative DoA information.
    reduce : bool
        Solve each SDP in span{a, h_1, ..., h_K} (dimension at most `n_users + 1`).
        Exact: projecting any feasible design onto that span keeps every quadratic
        form and lowers the trace. `False` solves the CRB-rate paper's full
        `n_tx`-dimensional SDP.
    certify_gap : bool
        Bound the optimum from above (see the module docstring); `False` skips it
        (`bound_gap` is then NaN and the status is SCA's).
    gap_tolerance : float
        Relative gap on the DoA information below which the design counts as optimal
        (the bound search itself aims at a tenth of it).
    max_bound_solves : int
        Cap on the extra SDP solves of the bound search (>= 0); a design whose gap is
        still above `gap_tolerance` then returns with `status="gap_above_tolerance"`.
    solver, solver_options :
        `None` (default): the dedicated interior-point method of
        `beamopt.bistatic._support_ipm` (no cvxpy). A cvxpy solver name (e.g.
        `"CLARABEL"`, `"SCS"`) solves the same SDPs with cvxpy instead, compiled once
        per call with parameters for the directions and targets; `solver_options`
        are passed to it.

    Returns
    -------
    BeamformingResult
        `history` holds the CRB of the best run's start and accepted iterates
        (non-increasing); `iterations` counts the SCA solves of all starts.
        `status` is `"optimal"` when `bound_gap <= gap_tolerance`, else
        `"gap_above_tolerance"` (or SCA's `"converged"`/`"max_iterations"`
        without the certificate). `extras`: `starts`, `start_crbs` and
        `start_iterations` (one entry per start run), `best_start`,
        `bound_gap` (`information_upper / information - 1`), `crb_lower_bound`,
        `information`, `information_upper`, `bound_solves`, `gap_tolerance`,
        `nu` (the best run's tangent slopes), `tolerance`, `reduce` and `profile`
        (seconds spent in `setup` (span basis, and the cvxpy compile with a `solver`),
        `feasibility` (least-power check), `starts`, `sca`, `bound`, `lift` (the
        covariances in `n_tx` dimensions), in `repair` and in all support `solve`s, and
        the number of `support_solves`).

    Raises
    ------
    InfeasibleError
        If the targets cannot be met (the largest achievable ones are reported).
    ValueError
        For malformed targets, an infeasible or malformed `initial_point` or bad options.

    Examples
    --------
    >>> import beamopt
    >>> sc = beamopt.BistaticScenario.default(user_angle_deg=[-10.0, 40.0], d_bs_user=80.0)
    >>> res = beamopt.sca_superposition(sc, 0.3 * sc.max_snr)
    >>> res.status, bool(res.extras["bound_gap"] <= 1e-6)
    ('optimal', True)
    """
    start = time.perf_counter()
    check_scenario(scenario)
    check_solver(solver)
    gamma = snr_targets(snr_min, scenario.n_users)
    max_iterations = check_int(max_iterations, "max_iterations", minimum=1)
    tolerance = check_positive(tolerance, "tolerance")
    gap_tolerance = check_positive(gap_tolerance, "gap_tolerance")
    max_bound_solves = check_int(max_bound_solves, "max_bound_solves", minimum=0)
    for name, flag in (("reduce", reduce), ("certify_gap", certify_gap)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be True or False; got {flag!r}")
    starts, n_starts = _check_starts(starts, n_starts)
    gen = as_generator(rng)
    if scenario.n_users == 1:
        check_single_user_reachable(scenario, gamma[0])
    if scenario.n_users == 1 and gamma[0] >= scenario.max_snr[0] * (1 - 1e-12):
        if initial_point is not None:
            _check_start(scenario, gamma, initial_point)
        out = _only_design(scenario)
    else:
        engine = Engine(scenario, reduce=reduce, solver=solver, solver_options=solver_options)
        with engine.timed("feasibility"):
            check_reachable(engine, gamma)
        initial = None
        if initial_point is not None:
            X, Y = engine.project(*_check_start(scenario, gamma, initial_point))
            initial = [("initial", X, Y)]
        out = engine.design(
            gamma, starts=starts, initial=initial, n_starts=n_starts, rng=gen,
            max_iterations=max_iterations, tolerance=tolerance, certify_gap=certify_gap,
            gap_tolerance=gap_tolerance, max_bound_solves=max_bound_solves,
        )  # fmt: skip
        for key in ("setup", "feasibility"):  # spent before the design itself
            out.profile[key] = engine.profile.get(key, 0.0)
    return result_from(scenario, out, gap_tolerance, tolerance, reduce, start)
