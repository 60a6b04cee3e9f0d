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
least as good as the previous iterate under $F$, so the objective is
monotone and converges; the limit is a stationary point, not necessarily the
global optimum (see
[`beamopt.superposition_design`][beamopt.bistatic.superposition.superposition_design] for the
certified single-user optimum and `docs/theory/superposition.md` for how often SCA stops short).

The SDPs are solved in normalised units ($\tilde W = W/P$, unit-norm
channels and steering vector, targets $\gamma_k/\Gamma_k$ with
$\Gamma_k = P\|h_k\|^2/\sigma_c^2$), built once with a cvxpy parameter for
$\nu_i$ and re-solved each iteration.

References
----------
*CRB-Rate Tradeoff for Bistatic ISAC with Gaussian Information and Deterministic Sensing Signals*,
eqs. (58)-(61) and Algorithm 1.
"""

from __future__ import annotations

import time

import numpy as np

from .._cvxpy_solve import solve_with_fallback
from .._validation import as_array, check_int, check_positive, check_psd, check_shape_tail
from ..result import CONVERGED, MAX_ITERATIONS, BeamformingResult
from . import _frontier as fr
from ._sca_subproblem import build, clean, repair
from ._sdp import gaussian_sdp, span_basis
from ._targets import check_single_user_reachable, raise_infeasible, snr_targets
from .closed_form import gaussian_isac_beamformer
from .comm import communication_rate, communication_sinr
from .crb import crb_doa
from .scenario import BistaticScenario, check_scenario

__all__ = ["sca_superposition"]


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


def _shape(scenario, Wn, Rn):
    """Normalised information Phi of a normalised design (Wn per user)."""
    a = scenario.a / np.sqrt(scenario.n_tx)
    w = np.vdot(a, Wn.sum(axis=0) @ a).real
    s = np.vdot(a, Rn @ a).real
    kappa = scenario.g0 * scenario.power * scenario.n_tx
    return float(fr.information_shape(w, s, kappa, scenario.n_rx)), w


def sca_superposition(
    scenario: BistaticScenario,
    snr_min,
    *,
    initial_point=None,
    max_iterations: int = 100,
    tolerance: float = 1e-8,
    reduce: bool = True,
    solver: str | None = None,
    solver_options: dict | None = None,
) -> BeamformingResult:
    r"""Superposition design by SCA (any number of users).

    Parameters
    ----------
    scenario : BistaticScenario
    snr_min : float or array_like, shape (n_users,)
        SINR targets $\gamma_k$ (linear, >= 0).
    initial_point : tuple (W, Rs), optional
        Feasible starting design: `W` of shape (n_tx, n_tx), or (n_users, n_tx,
        n_tx) with several users, and `Rs` of shape (n_tx, n_tx), in W. Default:
        the optimal Gaussian-only design (Proposition 1 or the multi-user SDP), Rs = 0.
    max_iterations : int
        Largest number of SDP solves (>= 1).
    tolerance : float
        Stop when the relative gain in DoA information of one iteration is at most this.
    reduce : bool
        Solve each SDP in span{a, h_1, ..., h_K} (dimension at most `n_users + 1`).
        Exact: projecting any feasible design onto that span keeps every quadratic
        form and lowers the trace, so the subproblem's optimal value is unchanged;
        it is faster and better conditioned. `False` solves the CRB-rate paper's full
        `n_tx`-dimensional SDP.
    solver, solver_options :
        cvxpy back-end and options (default Clarabel, then SCS).

    Returns
    -------
    BeamformingResult
        `history` holds the CRB of the start and of every accepted iterate
        (non-increasing); `status` is `"converged"` or `"max_iterations"`;
        `extras["nu"]` holds the tangent slopes used.

    Raises
    ------
    InfeasibleError
        If the targets cannot be met (the largest achievable ones are reported).
    ValueError
        For malformed targets, an infeasible or malformed `initial_point` or bad options.
    """
    start = time.perf_counter()
    check_scenario(scenario)
    gamma = snr_targets(snr_min, scenario.n_users)
    max_iterations = check_int(max_iterations, "max_iterations", minimum=1)
    tolerance = check_positive(tolerance, "tolerance")
    if not isinstance(reduce, bool):
        raise ValueError(f"reduce must be True or False; got {reduce!r}")
    if initial_point is None:
        W, Rs = _default_start(scenario, gamma, solver, solver_options)
    else:
        if np.any(gamma > scenario.max_snr * (1 + 1e-12)):
            _default_start(scenario, gamma, solver, solver_options)  # raises InfeasibleError
        W, Rs = _check_start(scenario, gamma, initial_point)
    P = scenario.power
    if scenario.n_users == 1 and gamma[0] >= scenario.max_snr[0] * (1 - 1e-12):
        # the largest target admits one design only: all power to the user, Rs = 0
        # (an SDP with an empty interior, which interior-point solvers handle badly)
        u = scenario.channel / np.linalg.norm(scenario.channel)
        W, Rs = P * np.outer(u, u.conj())[None], np.zeros_like(Rs)
        max_iterations = 0
    Wn, Rn = W / P, Rs / P
    phi, w = _shape(scenario, Wn, Rn)
    scale = 2.0 * scenario.n_symbols * scenario.db_norm2
    history, slopes, notes = [1.0 / (scale * phi)], [], []
    Q = span_basis(scenario, reduce)
    if max_iterations:
        problem, Ws, R, nu = build(scenario, gamma, Q)
    status, iterations = (MAX_ITERATIONS if max_iterations else CONVERGED), 0
    for _ in range(max_iterations):
        nu.value = float(fr.slope(w, scenario.g0 * P * scenario.n_tx, scenario.n_rx))
        info = solve_with_fallback(problem, solver, solver_options)
        iterations += 1
        slopes.append(nu.value)
        if info.infeasible:  # cannot happen from a feasible start, barring solver trouble
            notes.append(f"iteration {iterations}: {info.message}")
            status = CONVERGED
            break
        Wc = Q @ clean(np.stack([V.value for V in Ws])) @ Q.conj().T
        Wc, Rc = repair(scenario, gamma, Wc, Q @ clean(R.value) @ Q.conj().T)
        phi_new, w_new = _shape(scenario, Wc, Rc)
        if phi_new < phi:  # solver round-off near convergence: keep the monotone iterate
            status = CONVERGED
            break
        gain = phi_new - phi
        Wn, Rn, phi, w = Wc, Rc, phi_new, w_new
        history.append(1.0 / (scale * phi))
        if gain <= tolerance * phi:
            status = CONVERGED
            break
    W_out = P * (Wn if scenario.n_users > 1 else Wn[0])
    Rs_out = P * Rn
    crb = crb_doa(scenario, P * Wn.sum(axis=0), Rs_out)
    return BeamformingResult(
        W=W_out,
        Rs=Rs_out,
        crb=crb,
        rate=communication_rate(scenario, W_out, Rs_out),
        sinr=communication_sinr(scenario, W_out, Rs_out),
        objective=crb,
        status=status,
        method="sca",
        iterations=iterations,
        solve_time=time.perf_counter() - start,
        message="; ".join([f"SCA stopped after {iterations} SDP solves ({status})", *notes]),
        history=np.asarray(history),
        extras={"nu": np.asarray(slopes), "tolerance": tolerance, "reduce": reduce},
    )
