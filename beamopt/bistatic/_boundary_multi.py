r"""CRB-rate boundaries with several users, along a direction of per-user rate targets.

With $K$ users the rate region is $K$-dimensional, so a boundary is traced along a ray:
a direction $d \in \mathbb R_{\ge 0}^K$, $\sum_k d_k = 1$ (`rate_direction`, equal
shares by default), and user $k$'s rate target is $r_k = d_k\, r$, where the boundary's
rate axis $r = \sum_k r_k$ is the **sum of the users' rate targets**:

$$
\mathrm{CRB}^\star(r) = \min\; \mathrm{CRB}(\theta)
\quad\text{s.t.}\quad \log_2(1 + \mathrm{SINR}_k) \ge d_k r\ (k = 1, \dots, K),\;
\mathrm{tr}\Big(\sum_k W_k + R_s\Big) \le P .
$$

The largest sum rate along the direction, $R_{\max}$, is where the least power that
meets the targets $\gamma_k = 2^{d_k r} - 1$ (`beamopt.bistatic._power_min`) reaches the
budget; it is found by bisection. At $R_{\max}$ the feasible set shrinks to the
least-power design and no interior-point certificate is sharp, so the default grid
stops at $(1 - 10^{-3}) R_{\max}$, a margin of 0.1 % in sum rate; explicit `rates` may go
up to $R_{\max}$ and report their certified gaps.

Every point is a certified design: `"superposition"` by the multi-start SCA and its
outer-approximation bound ([`beamopt.sca_superposition`][]), warm-started from the
previous point's design, and `"gaussian"`/`"known"` by the Gaussian-only support SDP
(the largest beam gain toward the target under the SINR targets, the optimum of both
models), whose dual gives the bound. All points share one span basis and one solver
set-up (`beamopt.bistatic._sca_engine.Engine`). The front reports the certified
relative gaps on the DoA information (`bound_gap`) and each user's achieved rate
(`user_rates`).
"""

from __future__ import annotations

import numpy as np

from .._io import progress_bar
from .._validation import as_array, check_choice
from ..errors import InfeasibleError
from . import _frontier as fr
from ._power_min import min_power
from ._sca_engine import Engine
from ._span import repair
from ._support_ipm import SupportSolver
from .crb import crb_from_gains

__all__ = ["multi_user_boundary", "rate_direction", "max_sum_rate", "DEFAULT_TOP"]

#: The default grid ends at this fraction of the largest sum rate along the direction.
DEFAULT_TOP = 1.0 - 1e-3
#: Methods accepted per signal model (all run the solvers of this module).
_METHODS = {"superposition": ("auto", "sca"), "gaussian": ("auto", "sdp"), "known": ("auto", "sdp")}


def rate_direction(direction, n_users: int) -> np.ndarray:
    """Validate `rate_direction`; returns shares d_k >= 0 with sum 1, shape (n_users,)."""
    if direction is None:
        return np.full(n_users, 1.0 / n_users)
    d = as_array(direction, "rate_direction", dtype=float, ndim=1)
    if d.shape != (n_users,) or np.any(d < 0) or not np.any(d > 0) or not np.all(np.isfinite(d)):
        raise ValueError(
            f"rate_direction must hold {n_users} non-negative finite weights, not all zero "
            f"(one per user; normalised to sum 1); got {direction!r}"
        )
    return d / d.sum()


def _targets(direction, r):
    """SINR targets 2^(d_k r) - 1 (expm1 keeps small targets exact)."""
    return np.expm1(np.log(2.0) * direction * r)


def max_sum_rate(engine: Engine, direction, rtol: float = 1e-12) -> float:
    r"""Largest sum rate $r$ along `direction` whose targets fit in the budget (bisection)."""
    p = engine.base
    act = direction > 0
    # each user alone with all power bounds its own rate: r <= log2(1 + Gamma_k) / d_k
    hi = float(np.min(np.log2(1.0 + p.max_snr[act]) / direction[act]))
    lo = 0.0
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if min_power(p.with_targets(_targets(direction, mid))).feasible:
            lo = mid
        else:
            hi = mid
    return lo


def _factors(p, X, Y, power):
    """Span blocks -> lifted factors: the users' factors side by side (their sum is W)."""
    from . import _lowrank as lowrank

    F = lowrank.from_dense(np.concatenate([X, Y[None]]))  # (K + 1, d, r)
    G = np.sqrt(power) * np.einsum("ia,kar->kir", p.Q, F)
    VW = np.concatenate(list(G[:-1]), axis=-1)
    keep = np.any(VW != 0, axis=0)
    VR = G[-1][:, np.any(G[-1] != 0, axis=0)]
    return VW[:, keep], VR


def _gaussian_point(p):
    """Gaussian-only optimum of one target set and its certified bound on w."""
    sol = SupportSolver(p, sensing=False).solve(1.0, 0.0)
    Y = np.zeros_like(sol.X[0])
    least = min_power(p)
    anchor = None if least.X is None or least.power <= 0 else (least.X / least.power, Y)
    fixed = repair(p, sol.X, Y, anchor)
    X = sol.X if fixed is None else fixed[0]
    return X, Y, max(sol.dual, p.gains(X, Y)[0])


def _point(engine, p, signal, warm, options):
    """One boundary point: (X, Y, normalised information, its certified upper bound)."""
    if signal == "superposition":
        initial = None if warm is None else [("previous", *warm)]
        out = engine.design(p.gamma, initial=initial, **options)
        _, best = out.best
        return best.X, best.Y, best.phi, out.upper
    X, Y, w_upper = _gaussian_point(p)
    w, _ = p.gains(X, Y)
    if signal == "gaussian":
        info = fr.information_shape(np.array([w, w_upper]), 0.0, p.kappa, p.n_rx)
        return X, Y, float(info[0]), float(info[1])
    # known symbols: the deterministic CRB of W, information proportional to w
    return X, Y, w, w_upper


def _pad(factors):
    r = max(V.shape[-1] for V in factors)
    return np.stack([np.pad(V, ((0, 0), (0, r - V.shape[-1]))) for V in factors])


def multi_user_boundary(sc, signal, scheme, n_points, *, rates, method, progress, spacing,
                        direction, options=None):  # fmt: skip
    """The boundary for a checked multi-user scenario (see the module docstring).

    Returns the fields of a [`ParetoFront`][beamopt.ParetoFront] as a dict.
    """
    from .boundary import _default_rates

    if scheme != "optimal":
        raise ValueError(
            f"scheme={scheme!r} is a single-user benchmark (its rate axis is one user's "
            f"rate); got n_users={sc.n_users}; with several users crb_rate_boundary supports "
            "scheme='optimal'"
        )
    check_choice(method, "method", _METHODS[signal])
    direction = rate_direction(direction, sc.n_users)
    engine = Engine(sc)
    top = max_sum_rate(engine, direction)
    if rates is None:
        r = _default_rates(DEFAULT_TOP * top, n_points, spacing)
    else:
        r = as_array(rates, "rates", dtype=float, ndim=1)
        if r.size == 0 or np.any(np.diff(r) < 0) or r[0] < 0:
            raise ValueError("rates must be a non-empty, non-decreasing 1-D array >= 0 (bit/s/Hz)")
        if r[-1] > top * (1 + 1e-12):
            raise InfeasibleError(
                f"a sum rate of {r[-1]:.6g} bit/s/Hz along rate_direction "
                f"{np.array2string(direction, precision=4)} is unreachable; the largest is "
                f"{top:.6g} bit/s/Hz",
                parameter="rates",
                requested=r,
                max_achievable=top,
            )
        r = np.minimum(r, top)
    crb, upper, sinr, VW, VR = [], [], [], [], []
    warm = None
    options = {"rng": np.random.default_rng(0), **(options or {})}  # seeded: reproducible
    for rate in progress_bar(r, progress, f"{signal} boundary ({sc.n_users} users)"):
        p = engine.problem(_targets(direction, rate))
        X, Y, info, info_up = _point(engine, p, signal, warm, options)
        warm = (X, Y)
        w, s = p.gains(X, Y)
        gain = sc.power * sc.n_tx
        if signal == "superposition":
            c = float(crb_from_gains(sc, gain * w, gain * s))
            ratio = info_up / info if np.isfinite(info_up) else np.nan
        else:
            c = float(crb_from_gains(sc, gain * w, 0.0, known_realizations=signal == "known"))
            ratio = info_up / info if info > 0 else np.inf
        crb.append(c)
        upper.append(max(ratio, 1.0))
        sinr.append(p.sinr(X, Y))
        vw, vr = _factors(p, X, Y, sc.power)
        VW.append(vw)
        VR.append(vr)
    user_rates = np.log2(1.0 + np.array(sinr))
    return {
        "rate": r,
        "crb": np.array(crb),
        "achieved_rate": user_rates.sum(axis=1),
        "parameter": np.full(r.size, np.nan),
        "W_factor": _pad(VW),
        "Rs_factor": _pad(VR),
        "user_rates": user_rates,
        "bound_gap": np.array(upper) - 1.0,
        "direction": direction,
        "max_rate": top,
    }
