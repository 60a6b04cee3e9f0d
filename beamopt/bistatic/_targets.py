"""SINR targets: validation and infeasibility reports shared by every design method."""

from __future__ import annotations

import numpy as np

from .._validation import as_array
from ..errors import InfeasibleError

__all__ = ["snr_targets", "check_single_user_reachable", "raise_infeasible"]

#: Targets within this relative margin above the largest SINR count as reachable.
REACH_RTOL = 1e-12


def snr_targets(snr_min, n_users: int) -> np.ndarray | None:
    """Validate `snr_min` (scalar or one per user); return shape (n_users,), float.

    `None` (a sensing-only design) passes through.
    """
    if snr_min is None:
        return None
    if type(snr_min) is float and 0.0 <= snr_min < np.inf:  # fast path for the common case
        return np.full(n_users, snr_min)
    raw = snr_min if isinstance(snr_min, np.ndarray) else np.asarray(snr_min)
    if isinstance(snr_min, bool) or raw.dtype.kind in "bUSV":
        raise ValueError(
            "snr_min must be a linear SINR target (a real number >= 0, not in dB), or one "
            f"per user; got {snr_min!r}"
        )
    gamma = as_array(snr_min, "snr_min", dtype=float, ndim=(0, 1))
    if gamma.ndim == 1 and gamma.shape != (n_users,):
        raise ValueError(f"snr_min must be a scalar or have shape ({n_users},); got {gamma.shape}")
    if np.any(gamma < 0):
        raise ValueError("snr_min must be >= 0 (linear SINR)")
    return np.broadcast_to(gamma, (n_users,)).copy()


def check_single_user_reachable(scenario, gamma) -> None:
    r"""Raise [`InfeasibleError`][beamopt.InfeasibleError] if a target (any shape) exceeds
    $P\|h\|^2/\sigma_c^2$.

    The largest SINR of one user is reached by all power in its direction and no
    deterministic signal (which would only interfere).
    """
    gamma = np.asarray(gamma, dtype=float)
    best = float(scenario.max_snr[0])
    bad = gamma > best * (1 + REACH_RTOL)
    if np.any(bad):
        worst = float(gamma[bad].max())
        raise InfeasibleError(
            f"snr_min={worst:.6g} is unreachable: the largest achievable SINR is "
            f"P*||h||^2/comm_noise_power = {best:.6g} (all power to the user, Rs = 0)",
            parameter="snr_min",
            requested=gamma if gamma.ndim else float(gamma),
            max_achievable=best,
        )


def raise_infeasible(scenario, gamma, solver=None, solver_options=None):
    """Raise [`InfeasibleError`][beamopt.InfeasibleError] for targets a solver found infeasible.

    One user: the largest achievable SINR. Several users: the largest common
    scaling of the targets, found by bisection on the least power that meets them
    (uplink-downlink duality, `beamopt.bistatic._power_min`; exact, no SDP). `solver`
    and `solver_options` are accepted for the callers' convenience and unused.
    """
    gamma = np.asarray(gamma, dtype=float)
    if scenario.n_users == 1:
        check_single_user_reachable(scenario, gamma)
    from ._power_min import max_common_scale
    from ._span import span_problem

    tau = max_common_scale(span_problem(scenario, gamma))
    best = tau * gamma
    worst = int(np.argmax(gamma / scenario.max_snr))
    raise InfeasibleError(
        f"snr_min={np.array2string(gamma, precision=6)} is jointly unreachable; the largest "
        f"achievable targets in these proportions are {np.array2string(best, precision=6)} "
        f"(scale {tau:.6g}); user {worst} asks most relative to its own single-user maximum "
        f"{scenario.max_snr[worst]:.6g}",
        parameter="snr_min",
        requested=gamma,
        max_achievable=best,
    )
