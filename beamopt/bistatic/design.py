r"""CRB-minimising transmit design: [`minimize_crb`][beamopt.minimize_crb].

$$
\min_{W_k \succeq 0,\, R_s \succeq 0}\; \mathrm{CRB}(\theta)
\quad\text{s.t.}\quad \mathrm{SINR}_k \ge \gamma_k,\;
\mathrm{tr}\Big(\sum_k W_k + R_s\Big) \le P
$$

`signal` picks the transmit/receiver model:

* `"gaussian"`: information signal only, realisations unknown at the
  sensing receiver (the CRB-rate paper's P2); $R_s = 0$.
* `"known"`: information signal only, realisations known at the sensing
  receiver (the CRB-rate paper's benchmark V-B1); deterministic CRB of $W$.
* `"superposition"`: Gaussian information plus deterministic sensing signal
  (the CRB-rate paper's P3 and P4).

`method` picks the algorithm: `"closed_form"` (MRT, Proposition 1),
`"sdp"` (cvxpy; Clarabel with SCS fallback) or `"auto"` (the closed form
whenever one exists, else the SDP). The superposition design with an SINR target
is non-convex and has neither: `"global"` is the certified global optimum for
one user ([`beamopt.superposition_design`][beamopt.bistatic.superposition.superposition_design]),
`"sca"` the CRB-rate paper's successive convex approximation for any number of users
([`beamopt.sca_superposition`][beamopt.bistatic.sca.sca_superposition]); `"auto"` picks `"global"`
for one user and `"sca"` for several.
"""

from __future__ import annotations

import time

import numpy as np

from .._cvxpy_solve import check_solver
from .._validation import as_array, check_choice
from ..result import MAX_ITERATIONS, OPTIMAL, BeamformingResult
from ..units import db_to_linear
from . import _sdp
from ._span import feasible_dense
from ._targets import check_single_user_reachable, raise_infeasible, snr_targets
from .closed_form import isac_beamformer_unchecked, mrt_covariance
from .comm import sinr_unchecked
from .crb import crb_from_gains
from .sca import sca_superposition
from .scenario import BistaticScenario, check_scenario
from .superposition import superposition_design

__all__ = ["minimize_crb", "SIGNALS", "METHODS"]

SIGNALS = ("gaussian", "superposition", "known")
METHODS = ("auto", "closed_form", "sdp", "sca", "global")
#: Keyword options accepted by each superposition method (through ``options=``).
_OPTIONS = {
    "global": ("rtol", "n_initial", "max_rounds"),
    "sca": (
        "initial_point",
        "starts",
        "n_starts",
        "rng",
        "max_iterations",
        "tolerance",
        "reduce",
        "certify_gap",
        "gap_tolerance",
        "max_bound_solves",
    ),
    "sdp": ("reduce",),
}
#: Methods that solve only the superposition design with SINR targets.
_SUPERPOSITION_METHODS = ("global", "sca")


def _metrics(scenario, W_stack, Rs, signal):
    """Beam gains and SINRs of a design built by a solver (no argument checks needed)."""
    a = scenario.a
    cW = float(np.real(a.conj() @ W_stack.sum(axis=0) @ a))
    cS = float(np.real(a.conj() @ Rs @ a)) if signal == "superposition" else 0.0
    sinr = sinr_unchecked(scenario.channels, W_stack, Rs, scenario.comm_noise_power)
    return cW, cS, sinr


def _result(scenario, W, Rs, signal, method, start, *, gains=None, status=OPTIMAL, **info):
    W_stack = W if W.ndim == 3 else W[None]
    cW, cS, sinr = gains if gains is not None else _metrics(scenario, W_stack, Rs, signal)
    crb = crb_from_gains(scenario, cW, cS, known_realizations=(signal == "known"))
    if scenario.n_users == 1:
        W, sinr = W_stack[0], float(np.asarray(sinr).reshape(-1)[0])
    return BeamformingResult(
        W=W,
        Rs=Rs,
        crb=crb,
        rate=np.log2(1.0 + sinr),
        sinr=sinr,
        objective=crb,
        status=status,
        method=method,
        solve_time=time.perf_counter() - start,
        **info,
    )


def _closed_form(scenario, gamma, signal, start):
    zeros = np.zeros((scenario.n_tx, scenario.n_tx), dtype=complex)
    if gamma is None or not np.any(gamma > 0):
        R = mrt_covariance(scenario.a, scenario.power)
        if signal == "superposition":  # Proposition 2: all power to the known sequence
            R, W = R, zeros
        else:
            R, W = zeros, R
        if scenario.n_users > 1:  # with no targets the first user's stream carries the beam
            W = np.stack([W] + [zeros] * (scenario.n_users - 1))
        return _result(scenario, W, R, signal, "closed_form", start, message="MRT")
    check_single_user_reachable(scenario, gamma[0])
    h = scenario.channel
    w = isac_beamformer_unchecked(
        scenario.a, h, scenario.power, gamma[0], scenario.comm_noise_power
    )
    # rank one: the gains follow from w without forming quadratic forms of W
    gains = (
        abs(np.vdot(scenario.a, w)) ** 2,
        0.0,
        abs(np.vdot(h, w)) ** 2 / scenario.comm_noise_power,
    )
    W = np.outer(w, w.conj())
    return _result(
        scenario, W, zeros, signal, "closed_form", start, gains=gains, message="Proposition 1"
    )


def _sdp_design(scenario, gamma, signal, start, solver, solver_options, reduce=True):
    if signal == "superposition":
        Rs, info = _sdp.sensing_sdp(scenario, solver=solver, solver_options=solver_options)
        W = np.zeros((scenario.n_users, scenario.n_tx, scenario.n_tx), dtype=complex)
    else:
        targets = np.zeros(scenario.n_users) if gamma is None else gamma
        W, info = _sdp.gaussian_sdp(
            scenario, targets, solver=solver, solver_options=solver_options, reduce=reduce
        )
        if W is None:
            raise_infeasible(scenario, targets, solver, solver_options)
        Rs = np.zeros((scenario.n_tx, scenario.n_tx), dtype=complex)
        # the solver's feasibility tolerance can leave a target a hair short
        W, Rs = feasible_dense(scenario, targets, W, Rs)
    if scenario.n_users == 1:
        W = W[0]
    return _result(
        scenario, W, Rs, signal, "sdp", start,
        iterations=info.iterations, message=info.message, status=info.status,
    )  # fmt: skip


def _check_options(options, method):
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValueError(f"options must be a dict; got {type(options).__name__}")
    allowed = _OPTIONS.get(method, ())
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown options {unknown} for method={method!r}; allowed: {list(allowed)}"
        )
    return dict(options)


def _superposition(scenario, gamma, method, start, solver, solver_options, options):
    """Superposition design with SINR targets (the CRB-rate paper's P4): global search or SCA."""
    if method == "closed_form":
        raise ValueError(
            "no closed form exists for signal='superposition' with an SINR target (the CRB "
            "is non-convex in W); use method='global' (one user), 'sca' or 'auto'"
        )
    if method == "sdp":
        raise ValueError(
            "signal='superposition' with an SINR target is not a single SDP; "
            "use method='global' (one user), 'sca' or 'auto'"
        )
    if method == "auto":
        method = "global" if scenario.n_users == 1 else "sca"
    opts = _check_options(options, method)
    if method == "sca":
        return sca_superposition(
            scenario, gamma, solver=solver, solver_options=solver_options, **opts
        )
    d = superposition_design(scenario, gamma[0], **opts)
    crb = float(d.crb)
    return BeamformingResult(
        W=d.W,
        Rs=d.Rs,
        crb=crb,
        rate=float(d.rate),
        sinr=float(d.sinr),
        objective=crb,
        status=OPTIMAL if d.converged else MAX_ITERATIONS,
        method="global",
        iterations=d.rounds,
        solve_time=time.perf_counter() - start,
        message=f"certified to relative gap {float(d.bound_gap):.2e} on the DoA information",
        extras={
            "bound_gap": float(d.bound_gap),
            "rtol": d.rtol,
            "information": float(d.information),
            "information_upper": float(d.information_upper),
            "crb_lower_bound": float(d.crb_lower_bound),
            "power_fraction": float(d.power_fraction),
            "evaluations": int(d.evaluations),
        },
    )


def _linear_target(snr_min, snr_min_db):
    """`snr_min`, or the linear value of `snr_min_db` (not both)."""
    if snr_min_db is None:
        return snr_min
    if snr_min is not None:
        raise ValueError("give snr_min (linear) or snr_min_db (dB), not both")
    return db_to_linear(as_array(snr_min_db, "snr_min_db", dtype=float, ndim=(0, 1)))


def minimize_crb(
    scenario: BistaticScenario,
    snr_min=None,
    signal: str = "gaussian",
    method: str = "auto",
    *,
    solver: str | None = None,
    solver_options: dict | None = None,
    options: dict | None = None,
    snr_min_db=None,
) -> BeamformingResult:
    r"""Minimise the DoA CRB subject to per-user SINR targets and the power budget.

    Parameters
    ----------
    scenario : BistaticScenario
    snr_min : float or array_like, shape (n_users,), optional
        Linear SINR target $\gamma_k$ per user (a scalar applies to all);
        `None` is the sensing-only design.
    signal : {"gaussian", "superposition", "known"}
        Signal and receiver model (see the module docstring).
    method : {"auto", "closed_form", "sdp", "sca", "global"}
        `"closed_form"` exists for sensing-only designs and for one user with
        `signal` in {"gaussian", "known"}; `"auto"` uses it whenever it
        exists, else the SDP. For `signal="superposition"` with an SINR target
        only `"global"` (one user; certified optimum) and `"sca"` apply, and
        `"auto"` picks `"global"` for one user, `"sca"` for several.
    solver : str, optional
        cvxpy solver for the SDP path; default Clarabel, then SCS if Clarabel fails.
    solver_options : dict, optional
        Extra keyword arguments for `cvxpy.Problem.solve`.
    options : dict, optional
        Method options. `"global"` takes `rtol`, `n_initial`, `max_rounds`
        ([`beamopt.superposition_design`][beamopt.bistatic.superposition.superposition_design]);
        `"sca"` takes `initial_point`, `starts`, `n_starts`, `rng`, `max_iterations`, `tolerance`,
        `reduce`, `certify_gap`, `gap_tolerance`, `max_bound_solves`
        ([`beamopt.sca_superposition`][beamopt.bistatic.sca.sca_superposition]);
        `"sdp"` takes `reduce` (default True: solve in span{a, h_1, ..., h_K}, which is
        exact; False solves the full `n_tx x n_tx` SDP). Unknown keys are an error.
    snr_min_db : float or array_like, shape (n_users,), optional
        The SINR targets in dB instead, $\gamma_k = 10^{\texttt{snr\_min\_db}/10}$; give
        `snr_min` or `snr_min_db`, not both.

    Returns
    -------
    BeamformingResult
        `W` (per user when `n_users > 1`), `Rs`, `crb`, `rate`, `sinr`
        and solver statistics. The global superposition design carries its
        certificate in `extras` (`bound_gap`, `information_upper`,
        `crb_lower_bound`, `rtol`); SCA its CRB per iteration in `history` and
        its certified `bound_gap` and `crb_lower_bound` in `extras`.
        A sensing-only closed-form design for several users places the MRT beam
        in the first user's stream (any split is optimal when no user has a target).

    Raises
    ------
    InfeasibleError
        If the SINR targets cannot be met; the message and
        `max_achievable` give the largest achievable targets.
    ValueError
        For an unknown `signal`/`method`, a closed form that does not exist,
        a malformed `snr_min` or unknown `options`.

    Examples
    --------
    >>> import beamopt
    >>> sc = beamopt.BistaticScenario.default()
    >>> res = beamopt.minimize_crb(sc, snr_min=100.0)
    >>> res.method, bool(res.sinr >= 100.0 * (1 - 1e-9))
    ('closed_form', True)
    """
    start = time.perf_counter()
    check_scenario(scenario)
    check_choice(signal, "signal", SIGNALS)
    check_choice(method, "method", METHODS)
    check_solver(solver)
    gamma = snr_targets(_linear_target(snr_min, snr_min_db), scenario.n_users)
    sensing_only = gamma is None or not np.any(gamma > 0)
    if method in _SUPERPOSITION_METHODS and signal != "superposition":
        raise ValueError(f"method={method!r} applies to signal='superposition' only")
    if signal == "superposition" and not sensing_only:
        return _superposition(scenario, gamma, method, start, solver, solver_options, options)
    opts = _check_options(options, method)
    if method in _SUPERPOSITION_METHODS:  # sensing only: Proposition 2's MRT is optimal
        method = "closed_form"
    has_closed_form = sensing_only or (scenario.n_users == 1)
    if method == "closed_form" and not has_closed_form:
        raise ValueError(
            "method='closed_form' exists only for sensing-only designs or a single user; "
            "use method='sdp' or 'auto'"
        )
    if method == "closed_form" or (method == "auto" and has_closed_form):
        return _closed_form(scenario, gamma, signal, start)
    return _sdp_design(scenario, gamma, signal, start, solver, solver_options, **opts)
