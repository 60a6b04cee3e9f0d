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

The SDPs are solved in normalised units ($\tilde W = W/P$, unit-norm channels and
steering vector, targets $\gamma_k/\Gamma_k$ with $\Gamma_k = P\|h_k\|^2/\sigma_c^2$),
built once with cvxpy parameters for the weights and re-solved for every iteration,
start and bound probe.

References
----------
CRB-rate tradeoff for bistatic ISAC with Gaussian information and deterministic
sensing signals: eqs. (58)-(61) and Algorithm 1.
"""

from __future__ import annotations

import time

import numpy as np

from .._cvxpy_solve import check_solver, solve_with_fallback
from .._validation import (
    as_array,
    as_generator,
    check_int,
    check_positive,
    check_psd,
    check_shape_tail,
)
from ..result import CONVERGED, MAX_ITERATIONS, OPTIMAL, BeamformingResult
from . import _frontier as fr
from ._sca_bound import certify
from ._sca_starts import beams_start, random_start
from ._sca_subproblem import build, clean, repair
from ._sdp import gaussian_sdp, span_basis
from ._targets import check_single_user_reachable, raise_infeasible, snr_targets
from .closed_form import gaussian_isac_beamformer
from .comm import communication_rate, communication_sinr
from .crb import crb_doa
from .scenario import BistaticScenario, check_scenario

__all__ = ["sca_superposition", "GAP_ABOVE_TOLERANCE", "STARTS"]

#: Status of a design whose certified gap to the optimum exceeds ``gap_tolerance``.
GAP_ABOVE_TOLERANCE = "gap_above_tolerance"
#: Structured starts (besides ``n_starts`` random ones and ``initial_point``).
STARTS = ("gaussian", "beams")


def _default_start(scenario, gamma, solver, solver_options):
    """The optimal Gaussian-only design (Proposition 1, or the multi-user SDP), Rs = 0."""
    zeros = np.zeros((scenario.n_tx, scenario.n_tx), dtype=complex)
    if scenario.n_users == 1:
        check_single_user_reachable(scenario, gamma[0])
        s2c = scenario.comm_noise_power
        g = min(gamma[0], scenario.max_snr[0])
        w = gaussian_isac_beamformer(scenario.a, scenario.channel, scenario.power, g, s2c)
        return np.outer(w, w.conj())[None], zeros
    W, _ = gaussian_sdp(scenario, gamma, solver=solver, solver_options=solver_options)
    if W is None:
        raise_infeasible(scenario, gamma, solver, solver_options)
    return W, zeros


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


def _gains(scenario, Wn, Rn):
    """Normalised information Phi and gains (w, s) of a normalised design (Wn per user)."""
    a = scenario.a / np.sqrt(scenario.n_tx)
    # einsum, not matmul: a BLAS matrix-vector product per SCA iteration is slower with
    # the default thread pool than with one thread (and this is the loop's only O(n_tx^2) work)
    w = np.einsum("i,kij,j->", a.conj(), Wn, a).real
    s = np.einsum("i,ij,j->", a.conj(), Rn, a).real
    kappa = scenario.g0 * scenario.power * scenario.n_tx
    return float(fr.information_shape(w, s, kappa, scenario.n_rx)), w, s


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


class _Solver:
    """One compiled support SDP shared by every start, SCA iteration and bound probe."""

    def __init__(self, scenario, gamma, Q, solver, solver_options):
        self.sc, self.gamma = scenario, gamma
        self.sub = build(scenario, gamma, Q)
        self.solver, self.options = solver, solver_options
        self.kappa = scenario.g0 * scenario.power * scenario.n_tx
        self.lines = []  # (nu, c, D): half-planes c s + nu w <= D containing the gain region
        self.solves = 0
        self.notes = []

    def support(self, nu, c):
        """Solve in direction (nu, c); returns the repaired design, its Phi, w, s (or None)."""
        sub = self.sub
        sub.nu.value, sub.c.value = float(nu), float(c)
        info = solve_with_fallback(sub.problem, self.solver, self.options)
        self.solves += 1
        if info.infeasible:  # cannot happen for reachable targets, barring solver trouble
            self.notes.append(f"support solve at nu={nu:.3g}: {info.message}")
            return None
        Q = sub.Q
        Wc = Q @ clean(np.stack([V.value for V in sub.Ws])) @ Q.conj().T
        Wc, Rc = repair(self.sc, self.gamma, Wc, Q @ clean(sub.R.value) @ Q.conj().T)
        phi, w, s = _gains(self.sc, Wc, Rc)
        D = max(sub.dual_bound(nu, c), c * s + nu * w)
        self.lines.append((float(nu), float(c), D))
        return Wc, Rc, phi, w, s, D

    def climb(self, Wn, Rn, max_iterations, tolerance):
        """SCA from a feasible normalised design; a record of the run."""
        phi, w, _ = _gains(self.sc, Wn, Rn)
        history, slopes, status, iterations = [phi], [], MAX_ITERATIONS, 0
        for _ in range(max_iterations):
            nu = float(fr.slope(w, self.kappa, self.sc.n_rx))
            out = self.support(nu, 1.0)
            iterations += 1
            slopes.append(nu)
            if out is None:
                status = CONVERGED
                break
            Wc, Rc, phi_new, w_new, _, _ = out
            if phi_new < phi:  # solver round-off near convergence: keep the monotone iterate
                status = CONVERGED
                break
            gain = phi_new - phi
            Wn, Rn, phi, w = Wc, Rc, phi_new, w_new
            history.append(phi)
            if gain <= tolerance * phi:
                status = CONVERGED
                break
        return {"W": Wn, "R": Rn, "phi": phi, "history": history, "nu": slopes,
                "status": status, "iterations": iterations}  # fmt: skip


def _starts(scenario, gamma, Q, initial_point, starts, n_starts, rng, solver, solver_options):
    """Named normalised feasible starts, in the order they are run."""
    P = scenario.power
    out, notes = [], []
    if initial_point is not None:
        W, Rs = _check_start(scenario, gamma, initial_point)
        out.append(("initial", W / P, Rs / P))
    for name in starts:
        x = (_default_start(scenario, gamma, solver, solver_options) if name == "gaussian"
             else beams_start(scenario, gamma, Q))  # fmt: skip
        if x is None:
            notes.append(f"start {name!r} skipped: its beams cannot meet the targets")
        else:
            out.append((name, x[0] / P, x[1] / P))
    gen = as_generator(rng)
    for j in range(n_starts):
        x = random_start(scenario, gamma, Q, gen)
        if x is None:
            notes.append(f"random start {j} skipped: no feasible power split found")
        else:
            out.append((f"random{j}", x[0] / P, x[1] / P))
    if not out:  # raises InfeasibleError if the targets are unreachable
        W, Rs = _default_start(scenario, gamma, solver, solver_options)
        out.append(("gaussian", W / P, Rs / P))
    # LP and SDP round-off (~1e-9) can leave a start a hair short of a target
    return [(name, *repair(scenario, gamma, W, R)) for name, W, R in out], notes


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
        Structured starts: the optimal Gaussian-only design (Proposition 1 or the
        multi-user SDP, $R_s = 0$), and a beam toward each user plus a sensing beam
        toward the target with the least power that meets the targets in the user beams.
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
        Relative gap on the DoA information below which the design counts as optimal.
        The default sits above the conic solver's accuracy (certified gaps of optimal
        designs reach about $10^{-6}$), so an optimal design is not flagged for round-off.
    max_bound_solves : int
        Cap on the extra SDP solves of the bound search (>= 0).
    solver, solver_options :
        cvxpy back-end and options (default Clarabel, then SCS).

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
        `nu` (the best run's tangent slopes), `tolerance`, `reduce`.

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
    if np.any(gamma > scenario.max_snr * (1 + 1e-12)):
        _default_start(scenario, gamma, solver, solver_options)  # raises InfeasibleError
    P = scenario.power
    scale = 2.0 * scenario.n_symbols * scenario.db_norm2
    Q = span_basis(scenario, reduce)
    if scenario.n_users == 1 and gamma[0] >= scenario.max_snr[0] * (1 - 1e-12):
        if initial_point is not None:
            _check_start(scenario, gamma, initial_point)
        # the largest target admits one design only: all power to the user, Rs = 0
        # (an SDP with an empty interior, which interior-point solvers handle badly)
        u = scenario.channel / np.linalg.norm(scenario.channel)
        Wn = np.outer(u, u.conj())[None]
        phi = _gains(scenario, Wn, 0 * Wn[0])[0]
        run = {"W": Wn, "R": np.zeros_like(Wn[0]), "phi": phi, "history": [phi], "nu": [],
               "status": CONVERGED, "iterations": 0}  # fmt: skip
        runs, notes, upper, solves = [("only", run)], [], phi, 0
    else:
        points, notes = _starts(scenario, gamma, Q, initial_point, starts, n_starts, rng,
                                solver, solver_options)  # fmt: skip
        engine = _Solver(scenario, gamma, Q, solver, solver_options)
        runs = [(name, engine.climb(W, R, max_iterations, tolerance)) for name, W, R in points]
        upper, solves = np.nan, 0
        if certify_gap:
            best_phi = max(r["phi"] for _, r in runs)

            def oracle(nu, c):
                out = engine.support(nu, c)
                return (out[5], out[2], out[:2]) if out is not None else (np.inf, -np.inf, None)

            n0 = engine.solves
            upper, found, _, _ = certify(
                oracle, engine.lines, best_phi, engine.kappa, scenario.n_rx,
                gap_tolerance, max_bound_solves,
            )  # fmt: skip
            if found is not None:  # the search found a better point: let SCA polish it
                runs.append(("bound", engine.climb(*found, max_iterations, tolerance)))
                upper = max(upper, runs[-1][1]["phi"])
            solves = engine.solves - n0
        notes += engine.notes
    name, best = max(runs, key=lambda r: r[1]["phi"])
    W_out = P * (best["W"] if scenario.n_users > 1 else best["W"][0])
    Rs_out = P * best["R"]
    crb = crb_doa(scenario, P * best["W"].sum(axis=0), Rs_out)
    info = 1.0 / crb
    info_upper = max(scale * upper, info) if np.isfinite(upper) else np.nan
    gap = info_upper / info - 1.0
    if np.isnan(gap):
        status = best["status"]
    else:
        status = OPTIMAL if gap <= gap_tolerance else GAP_ABOVE_TOLERANCE
    sca_solves = int(sum(r["iterations"] for _, r in runs))
    summary = f"SCA from {len(runs)} starts ({sca_solves} SDP solves), best {name!r}"
    if not np.isnan(gap):
        summary += f"; certified gap {gap:.2e} ({solves} bound solves)"
        if status == GAP_ABOVE_TOLERANCE:
            summary += f" above gap_tolerance {gap_tolerance:g}"
    return BeamformingResult(
        W=W_out,
        Rs=Rs_out,
        crb=crb,
        rate=communication_rate(scenario, W_out, Rs_out),
        sinr=communication_sinr(scenario, W_out, Rs_out),
        objective=crb,
        status=status,
        method="sca",
        iterations=sca_solves,
        solve_time=time.perf_counter() - start,
        message="; ".join([summary, *notes]),
        history=1.0 / (scale * np.asarray(best["history"])),
        extras={
            "starts": tuple(n for n, _ in runs),
            "start_crbs": np.array([1.0 / (scale * r["phi"]) for _, r in runs]),
            "start_iterations": np.array([r["iterations"] for _, r in runs]),
            "best_start": name,
            "bound_gap": float(gap),
            "crb_lower_bound": 1.0 / info_upper if np.isfinite(info_upper) else np.nan,
            "information": float(info),
            "information_upper": float(info_upper),
            "bound_solves": int(solves),
            "gap_tolerance": gap_tolerance,
            "nu": np.asarray(best["nu"]),
            "tolerance": tolerance,
            "reduce": reduce,
        },
    )
