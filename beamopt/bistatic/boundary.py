r"""CRB-rate boundaries of one scenario and their average over channel draws.

A boundary is evaluated at *rate targets*: for each target $r$ it reports the least
DoA CRB a scheme reaches with rate at least $r$,

$$
\mathrm{CRB}^\star(r) = \min\; \mathrm{CRB}(\theta)
\quad\text{s.t.}\quad \log_2(1 + \mathrm{SINR}) \ge r,\; \mathrm{tr}(W + R_s) \le P,
$$

which is non-decreasing in $r$. `scheme="optimal"` solves this over all transmit
covariances (the CRB-rate paper's P2 / P4 and benchmark V-B1); `"time_switching"` and
`"power_splitting"` restrict it to the benchmarks of `beamopt.bistatic.schemes`. Targets below
the rate the sensing-optimal design already achieves give its CRB (a flat start).

Averaging over random channels ([`average_boundary`][beamopt.bistatic.boundary.average_boundary])
happens at fixed rate targets: every draw is evaluated on one common rate grid and the CRBs are
averaged target by target. Averaging the points of each draw's own parametrisation would mix
different rates.

References
----------
*CRB-Rate Tradeoff for Bistatic ISAC with Gaussian Information and Deterministic Sensing Signals*:
Section II (the CRB-rate region), Section V-B and Figures 5-6.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from .._compat import positional_deprecated
from .._io import csv_text, progress_bar, write_atomic
from .._parallel import check_executor, run_tasks
from .._repr import short_repr, span
from .._validation import as_array, as_generator, check_choice, check_int
from ..errors import InfeasibleError
from . import _lowrank as lowrank
from . import superposition
from ._labels import front_name
from ._sca_starts import warm_start
from .closed_form import isac_beamformer_unchecked
from .design import minimize_crb
from .scenario import BistaticScenario, check_scenario
from .schemes import (
    BOUNDARY_SIGNALS,
    _max_rate,
    _power_splitting_at_rate,
    _rate_targets,
    _time_switching_at_rate,
)

__all__ = ["SCHEMES", "ParetoFront", "crb_rate_boundary", "average_boundary"]

#: Boundary schemes: the optimised design and the two benchmarks.
SCHEMES = ("optimal", "time_switching", "power_splitting")
#: What ``ParetoFront.parameter`` holds for each scheme.
PARAMETERS = {"optimal": "snr_min", "time_switching": "fraction", "power_splitting": "comm_power"}
_CSV_MAGIC = "beamopt ParetoFront"
# every scheme, "optimal" included, traces the least CRB against one user's rate
_ONE_RATE_AXIS = "a CRB-rate boundary (its rate axis is one user's rate)"


@dataclass(frozen=True, eq=False)
class ParetoFront:
    r"""CRB-rate boundary sampled at rate targets.

    Attributes
    ----------
    rate : ndarray, shape (n,)
        Rate targets $r$, bit/s/Hz, ascending.
    crb : ndarray, shape (n,)
        Least DoA CRB at rate $\ge r$, rad^2 (`inf` where the scheme cannot sense,
        e.g. time switching at the largest rate). For an averaged boundary, the mean over
        draws.
    achieved_rate : ndarray, shape (n,)
        Rate of the returned design, bit/s/Hz ($\ge$ `rate`).
    parameter : ndarray, shape (n,)
        Scheme parameter of each point: the linear SINR target $2^r-1$ (`"optimal"`),
        the sensing fraction $\tau$ (`"time_switching"`) or the communication power
        $p_c$ in W (`"power_splitting"`); NaN for averaged boundaries.
    signal : {"gaussian", "superposition", "known"}
    scheme : {"optimal", "time_switching", "power_splitting"}
    W_factor : ndarray, shape (n, n_tx, r), complex, or None
        Factor $V$ of the information covariance $W = V V^H$ of each point (time-averaged
        for time switching; rank $r \le 2$ for the closed forms and the global search);
        None for averaged boundaries or after
        [`from_csv`][beamopt.bistatic.boundary.ParetoFront.from_csv]. The dense stack is the
        property `W`, formed on first access.
    Rs_factor : ndarray, shape (n, n_tx, r_s), complex, or None
        Factor of the deterministic sample covariance of each point, as `W_factor`
        (`r_s = 0` where there is none); the dense stack is the property `Rs`.
    metadata : dict
        JSON-serialisable description (scenario summary, method, number of draws). One
        draw: the whole scenario under `"scenario"` (rebuilt by
        [`scenario`][beamopt.ParetoFront.scenario]); averaged over draws of a geometry
        mapping: `"geometry"` and `"seed"`.
    crb_draws : ndarray, shape (n_draws, n), or None
        Per-draw CRBs of an averaged boundary.
    user_rates : ndarray, shape (n, n_users), or None
        Several users: each user's achieved rate, bit/s/Hz (`rate` and `achieved_rate` are
        then sums over users); None for one user.
    bound_gap : ndarray, shape (n,), or None
        Several users: certified relative gap on the DoA information of each point,
        `information_upper / information - 1`; None for one user (the single-user designs
        are certified to 1e-10 or exact).
    """

    rate: np.ndarray
    crb: np.ndarray
    achieved_rate: np.ndarray
    parameter: np.ndarray
    signal: str
    scheme: str
    W_factor: np.ndarray | None = None
    Rs_factor: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)
    crb_draws: np.ndarray | None = None
    user_rates: np.ndarray | None = None
    bound_gap: np.ndarray | None = None

    def __post_init__(self) -> None:
        # frozen all the way down: callers get views they cannot modify by accident
        names = ("rate", "crb", "achieved_rate", "parameter", "W_factor", "Rs_factor",
                 "crb_draws", "user_rates", "bound_gap")  # fmt: skip
        for name in names:
            value = getattr(self, name)
            if value is not None:
                arr = np.array(value, dtype=complex if name.endswith("factor") else float)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)

    @cached_property
    def W(self) -> np.ndarray | None:
        """Information covariances $W = V V^H$, shape (n, n_tx, n_tx), complex, or None.

        Formed from `W_factor` on first access (n_tx^2 complex numbers per point).
        """
        return None if self.W_factor is None else lowrank.dense(self.W_factor)

    @cached_property
    def Rs(self) -> np.ndarray | None:
        """Deterministic sample covariances, shape (n, n_tx, n_tx), complex, or None."""
        return None if self.Rs_factor is None else lowrank.dense(self.Rs_factor)

    def __len__(self) -> int:
        return self.rate.size

    def __repr__(self) -> str:
        # W_factor alone can be 100 x n_tx x 2 complex numbers: headline numbers only
        meta = self.metadata
        return short_repr(self, {
            "signal": self.signal, "scheme": self.scheme, "n_points": len(self),
            "rate": span(self.rate), "crb": span(self.crb),
            "n_tx": meta.get("n_tx"), "n_draws": meta.get("n_draws"),
            "method": meta.get("method"),
        })  # fmt: skip

    @property
    def label(self) -> str:
        """Legend label in words, e.g. `"Gaussian + deterministic, time switching"`."""
        return front_name(self.signal, self.scheme)

    def scenario(self) -> BistaticScenario:
        """The scenario of a single-draw boundary, rebuilt from `metadata["scenario"]`.

        Works on boundaries read back by [`from_csv`][beamopt.ParetoFront.from_csv] too.

        Raises
        ------
        ValueError
            If the metadata holds no scenario (averaged boundaries, old CSV files).
        """
        data = self.metadata.get("scenario")
        if data is None:
            raise ValueError(
                "this ParetoFront's metadata holds no 'scenario' (averaged boundaries "
                "and CSV files from older versions do not carry one)"
            )
        return BistaticScenario.from_dict(data)

    def crb_at(self, rate) -> np.ndarray:
        r"""CRB at other rates by linear interpolation of $\log\mathrm{CRB}$ in rate.

        Parameters
        ----------
        rate : float or array_like
            Rates in bit/s/Hz; NaN outside `[rate[0], rate[-1]]`.
        """
        r = np.asarray(rate, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_crb = np.interp(r, self.rate, np.log(self.crb), left=np.nan, right=np.nan)
            return np.exp(log_crb)

    def plot(self, ax=None, **kwargs):
        """Draw the boundary with [`beamopt.plots.plot_boundary`][]; returns the Axes."""
        from .plots import plot_boundary

        return plot_boundary(self, ax=ax, **kwargs)

    def to_csv(self, path) -> Path:
        """Write `rate, crb, achieved_rate, parameter` to `path` atomically.

        The first two lines are `#` comments: a format tag and a JSON object with
        `signal`, `scheme` and `metadata`. Floats are written with 17 significant
        digits so [`from_csv`][beamopt.bistatic.boundary.ParetoFront.from_csv] round-trips them
        exactly; `W`, `Rs` and `crb_draws` are not written.
        """
        info = {"signal": self.signal, "scheme": self.scheme, "metadata": self.metadata}
        text = csv_text(
            ["rate", "crb", "achieved_rate", "parameter"],
            [self.rate, self.crb, self.achieved_rate, self.parameter],
            [_CSV_MAGIC, json.dumps(info, sort_keys=True)],
        )
        return write_atomic(path, text)

    @classmethod
    def from_csv(cls, path) -> ParetoFront:
        """Read a boundary written by [`to_csv`][beamopt.bistatic.boundary.ParetoFront.to_csv]
        (without `W`, `Rs`)."""
        with open(path, encoding="utf-8") as fh:
            magic, info = fh.readline(), fh.readline()
        if magic.strip() != f"# {_CSV_MAGIC}":
            raise ValueError(f"{path} is not a ParetoFront CSV (missing '# {_CSV_MAGIC}')")
        info = json.loads(info[1:])
        data = np.loadtxt(path, delimiter=",", skiprows=3, ndmin=2)
        rate, crb, achieved, parameter = data.T
        return cls(
            rate,
            crb,
            achieved,
            parameter,
            info["signal"],
            info["scheme"],
            metadata=info["metadata"],
        )


# ----------------------------------------------------------------------------- one draw
#: Default rate-grid spacings: "knee" is dense near the largest rate, "even" is linspace.
SPACINGS = ("knee", "even")
#: Closest knee-grid distance below R_max, relative to the first one (d_1).
_KNEE_DEPTH = 1e-4


def _default_rates(top: float, n_points, spacing: str) -> np.ndarray:
    r"""`n_points` rate targets from 0 to `top` (both included), ascending.

    Near $R_{\max}$ the least CRB grows like $1/(R_{\max} - r)$, so `"knee"` puts half the
    targets evenly on $[0, R_{\max} - d_1)$ and the other half at geometrically shrinking
    distances $d_1 \dots 10^{-4} d_1$ below $R_{\max}$ (then $R_{\max}$ itself), with $d_1$
    chosen so that both halves meet with the same step.
    """
    n = check_int(n_points, "n_points", minimum=2)
    check_choice(spacing, "spacing", SPACINGS)
    if spacing == "even" or n < 6:
        return np.linspace(0.0, top, n)
    n_lin = n // 2
    n_geo = n - n_lin - 1
    q = _KNEE_DEPTH ** (1.0 / (n_geo - 1))
    d1 = top / (1.0 + n_lin * (1.0 - q))
    linear = np.linspace(0.0, top - d1, n_lin, endpoint=False)
    knee = top - d1 * q ** np.arange(n_geo)
    return np.concatenate([linear, knee, [top]])


def _rate_grid(scenario, n_points, rates, spacing="knee") -> np.ndarray:
    if rates is None:
        return _default_rates(_max_rate(scenario), n_points, spacing)
    r = as_array(rates, "rates", dtype=float, ndim=1)
    if r.size == 0 or np.any(np.diff(r) < 0):
        raise ValueError("rates must be a non-empty, non-decreasing 1-D array (bit/s/Hz)")
    return r


def _optimal_closed_form(sc, gamma):
    w = isac_beamformer_unchecked(sc.a, sc.channel, sc.power, gamma, sc.comm_noise_power)
    return lowrank.from_vector(w), np.zeros((gamma.size, sc.n_tx, 0), dtype=complex)


def _superposition_batch(sc, gamma):
    design = superposition.solve_unchecked(sc, gamma)
    return design.W_factor, design.Rs_factor


def _pad(factors):
    """Stack factors of different ranks, padding with zero columns."""
    r = max(V.shape[-1] for V in factors)
    return np.stack([np.pad(V, ((0, 0), (0, r - V.shape[-1]))) for V in factors])


def _optimal_per_point(sc, gamma, signal, method, progress):
    VW, VR = [], []
    prev = None
    for g in progress_bar(gamma, progress, f"{signal} boundary"):
        options = None
        if method == "sca" and prev is not None:  # warm start from the previous target
            x0 = warm_start(sc, float(g), *prev)
            options = None if x0 is None else {"initial_point": x0}
        res = minimize_crb(sc, snr_min=float(g), signal=signal, method=method, options=options)
        VW.append(lowrank.from_dense(res.W_total))
        VR.append(lowrank.from_dense(res.Rs))
        prev = (res.W, res.Rs)
    return _pad(VW), _pad(VR)


def _optimal(sc, rates, signal, method, progress):
    """CRB, rate, SINR target and factors of the optimal design at each rate target.

    `sc` is a checked single-user scenario; the designs are the solvers' own output, so
    their metrics come straight from the factors without a validation pass.
    """
    gamma = _rate_targets(sc, rates)
    designs = None
    if signal != "superposition" and method in ("auto", "closed_form"):
        designs = _optimal_closed_form(sc, gamma)
    elif signal == "superposition" and method in ("auto", "global"):
        designs = _superposition_batch(sc, gamma)
    VW, VR = designs or _optimal_per_point(sc, gamma, signal, method, progress)
    crb, sinr = lowrank.metrics(sc, VW, VR, signal)
    return crb, np.log2(1.0 + sinr), gamma, VW, VR


def _scenario_summary(sc: BistaticScenario) -> dict:
    return {
        "n_tx": sc.n_tx,
        "n_rx": sc.n_rx,
        "power_w": sc.power,
        "sensing_snr_db": float(10 * np.log10(sc.sensing_snr)),
        "max_rate": _max_rate(sc),
        "n_symbols": sc.n_symbols,
        # everything needed to rebuild the scenario (angles, alpha, noise, channel)
        "scenario": sc.to_dict(),
    }


@positional_deprecated("signal", "scheme", "n_points")
def crb_rate_boundary(
    scenario: BistaticScenario,
    *,
    signal: str = "gaussian",
    scheme: str = "optimal",
    n_points: int = 50,
    rates=None,
    spacing: str = "knee",
    method: str = "auto",
    progress: bool = False,
    rate_direction=None,
) -> ParetoFront:
    r"""CRB-rate boundary of a scenario (one user, or several along a direction of rates).

    Parameters
    ----------
    scenario : BistaticScenario
        One user, or several (then see *Several users* below).
    signal : {"gaussian", "superposition", "known"}
        Signal model (see [`beamopt.minimize_crb`][]).
    scheme : {"optimal", "time_switching", "power_splitting"}
        `"optimal"` minimises the CRB over all designs; the others are the benchmarks of
        `beamopt.bistatic.schemes` (one user only).
    n_points : int
        Number of rate targets on $[0, R_{\max}]$ with
        $R_{\max} = \log_2(1 + P\|h\|^2/\sigma_c^2)$, spaced as `spacing` says; ignored
        when `rates` is given.
    rates : array_like, shape (n,), optional
        Explicit non-decreasing rate targets in $[0, R_{\max}]$, bit/s/Hz.
    spacing : {"knee", "even"}
        Default rate targets: `"knee"` (default) puts half of them evenly on the flat part
        and half at geometrically shrinking distances below $R_{\max}$ (down to about
        $10^{-5} R_{\max}$), where the CRB rises like $1/(R_{\max} - r)$, so the knee is
        drawn smoothly; `"even"` spaces them evenly. Both include $0$ and $R_{\max}$.
    method : str
        Solver for `scheme="optimal"`. `"auto"` uses the batched closed form of
        Proposition 1 for `"gaussian"`/`"known"` and, for `"superposition"`, the
        batched certified global search [`beamopt.bistatic.superposition.superposition_design`][]
        (also selected by `"global"`); one call covers all targets. Any other value
        (e.g. `"sdp"`, `"sca"`) is passed to [`beamopt.minimize_crb`][] point by point;
        `"sca"` warm-starts each target from the previous point's design (blended
        with the all-power-to-the-user design until it meets the new target), in
        addition to its default starts.
    progress : bool
        Show a progress bar when solving point by point (off by default; the command line
        turns it on).
    rate_direction : array_like, shape (n_users,), optional
        Several users: non-negative weights $d_k$ (normalised to sum one) of the ray along
        which the boundary is traced, user $k$'s rate target being $d_k r$; default equal
        shares. One user: only None or a single positive weight.

    Returns
    -------
    ParetoFront
        With several users, `rate` is the **sum** of the users' rate targets,
        `achieved_rate` the achieved sum rate, `user_rates` (n, n_users) each user's rate
        and `bound_gap` the certified gap of every point; `parameter` is NaN.

    Raises
    ------
    ValueError
        For unknown `signal`/`scheme`/`method`, a benchmark scheme with several users,
        a malformed `rate_direction` or malformed `rates`.
    InfeasibleError
        If a rate target exceeds $R_{\max}$.

    Notes
    -----
    **Several users.** The boundary runs along the ray $r_k = d_k r$ of per-user rate
    targets, $r$ from 0 to the largest sum rate $R_{\max}$ along it (where the least power
    meeting the targets $2^{d_k r} - 1$ reaches the budget). The default grid ends at
    $(1 - 10^{-3}) R_{\max}$, since at $R_{\max}$ itself the feasible set shrinks to one
    design. `"superposition"` points are multi-start SCA designs with their certified bound
    ([`beamopt.sca_superposition`][]), each warm-started from the previous point;
    `"gaussian"`/`"known"` points are Gaussian-only optima certified by their dual.
    `method` may be `"auto"` (also `"sca"` for superposition, `"sdp"` otherwise). One span
    basis and one solver set-up serve all points. See `docs/theory/boundaries.md`.

    Examples
    --------
    >>> import numpy as np, beamopt
    >>> sc = beamopt.BistaticScenario.default()
    >>> front = beamopt.crb_rate_boundary(sc, signal="gaussian", n_points=5)
    >>> bool(np.all(np.diff(front.crb) >= 0))
    True

    Two users, equal rates, every point certified:

    >>> two = beamopt.BistaticScenario.default(user_angle_deg=[-10.0, 40.0], d_bs_user=80.0)
    >>> front = beamopt.crb_rate_boundary(two, signal="superposition", n_points=4)
    >>> front.user_rates.shape, bool(np.all(front.bound_gap <= 1e-5))
    ((4, 2), True)
    """
    sc = check_scenario(scenario)
    check_choice(signal, "signal", BOUNDARY_SIGNALS)
    check_choice(scheme, "scheme", SCHEMES)
    if sc.n_users > 1:
        return _multi_user(sc, signal, scheme, n_points, rates, method, progress, spacing,
                           rate_direction)  # fmt: skip
    if rate_direction is not None:
        from ._boundary_multi import rate_direction as check_direction

        check_direction(rate_direction, 1)
    r = _rate_grid(sc, n_points, rates, spacing)
    return _boundary(sc, signal, scheme, r, method, progress)


def _multi_user(sc, signal, scheme, n_points, rates, method, progress, spacing, direction):
    """Several users: the private `beamopt.bistatic._boundary_multi` path as a ParetoFront."""
    from ._boundary_multi import multi_user_boundary

    check_int(n_points, "n_points", minimum=2)
    check_choice(spacing, "spacing", SPACINGS)
    d = multi_user_boundary(sc, signal, scheme, n_points, rates=rates, method=method,
                            progress=progress, spacing=spacing, direction=direction)  # fmt: skip
    meta = {
        "method": method,
        "parameter": "none (several users: see user_rates and rate_direction)",
        "rate_axis": "sum of the users' rate targets along rate_direction",
        "rate_label": "sum rate (bit/s/Hz)",
        "rate_direction": d["direction"].tolist(),
        **_scenario_summary(sc),
        "max_rate": d["max_rate"],
    }
    return ParetoFront(
        d["rate"], d["crb"], d["achieved_rate"], d["parameter"], signal, scheme,
        d["W_factor"], d["Rs_factor"], meta,
        user_rates=d["user_rates"], bound_gap=d["bound_gap"],
    )  # fmt: skip


def _boundary(sc, signal, scheme, r, method, progress=False) -> ParetoFront:
    """[`crb_rate_boundary`][beamopt.crb_rate_boundary] for checked arguments and rate grid."""
    if scheme == "optimal":
        crb, achieved, parameter, W, Rs = _optimal(sc, r, signal, method, progress)
    else:
        switching = scheme == "time_switching"
        d = (_time_switching_at_rate if switching else _power_splitting_at_rate)(sc, r, signal)
        crb, achieved, parameter, W, Rs = d.crb, d.rate, d.parameter, d.W_factor, d.Rs_factor
    meta = {
        "method": method if scheme == "optimal" else "closed_form",
        "parameter": PARAMETERS[scheme],
        **_scenario_summary(sc),
    }
    return ParetoFront(r, crb, achieved, parameter, signal, scheme, W, Rs, meta)


# -------------------------------------------------------------------- random draws
def _boundary_task(scenario, signal, scheme, rates, method):
    """One draw's boundary (arguments checked by the caller); module level so process pools
    can pickle it."""
    front = _boundary(scenario, signal, scheme, rates, method)
    return front.crb, front.achieved_rate


def _factory(scenario) -> Callable:
    if isinstance(scenario, Mapping):
        kwargs = dict(scenario)
        if "rng" in kwargs:
            raise ValueError("scenario mapping must not contain 'rng'; pass rng= instead")
        return lambda gen: BistaticScenario.from_geometry(**kwargs, rng=gen)
    if callable(scenario):
        return scenario
    raise ValueError(
        "scenario must be a callable rng -> BistaticScenario or a mapping of "
        f"BistaticScenario.from_geometry arguments; got {type(scenario).__name__}"
    )


@positional_deprecated("n_draws", "rng")
def average_boundary(
    scenario,
    *,
    signal: str = "gaussian",
    scheme: str = "optimal",
    n_points: int = 50,
    rates=None,
    spacing: str = "knee",
    method: str = "auto",
    n_draws: int,
    rng=None,
    executor: Executor | None = None,
    progress: bool = False,
) -> ParetoFront:
    r"""CRB-rate boundary averaged over random channel draws, at fixed rate targets.

    The draws are made first, in order, in the calling process: draw $d$ is
    `factory(g_d)` with $g_d$ the $d$-th child of `rng`
    (`numpy.random.Generator.spawn`). Every draw is evaluated at the same rate
    targets $r_1 < \dots < r_n$ and the mean CRB is reported per target,

    $$
    \overline{\mathrm{CRB}}(r_i) = \frac{1}{D}\sum_{d=1}^{D} \mathrm{CRB}^\star_d(r_i).
    $$

    By default the targets span $[0, \min_d R_{\max,d}]$ so that every draw can meet
    every target. Results are collected in draw order, so any executor gives the same
    numbers as the serial loop.

    Parameters
    ----------
    scenario : callable or mapping
        `factory(rng) -> BistaticScenario` drawing one single-user scenario, or a mapping
        of [`BistaticScenario.from_geometry`][beamopt.BistaticScenario.from_geometry] keyword
        arguments (without `rng`), in which case the Rician CU channel is redrawn for each draw.
    signal, scheme, method
        As in [`crb_rate_boundary`][beamopt.bistatic.boundary.crb_rate_boundary].
    n_points : int
        Number of default rate targets (ignored when `rates` is given).
    rates : array_like, shape (n,), optional
        Explicit common rate targets, bit/s/Hz; every draw must support them.
    spacing : {"knee", "even"}
        Default rate targets, as in [`crb_rate_boundary`][beamopt.crb_rate_boundary], on
        $[0, \min_d R_{\max,d}]$: one draw gives exactly `crb_rate_boundary`'s grid.
    n_draws : int
        Number of channel draws $D \ge 1$.
    rng : None, int or numpy.random.Generator
        Seed of the draws.
    executor : concurrent.futures.Executor, optional
        Runs the per-draw boundaries: a `ThreadPoolExecutor`, a `ProcessPoolExecutor`, or
        dask.distributed's `Client.get_executor()` to go past one machine (see
        the docs page "Running sweeps on a cluster"); None runs them serially in this
        process. The numbers are the same for every executor.
    progress : bool
        Show a progress bar over the draws (off by default; the command line turns it on).

    Returns
    -------
    ParetoFront
        `crb` and `achieved_rate` are means over draws, `crb_draws` holds the per-draw
        CRBs, `parameter` is NaN and `W`/`Rs` are None.

    Raises
    ------
    InfeasibleError
        If an explicit rate target exceeds some draw's largest rate.
    """
    n_draws = check_int(n_draws, "n_draws")
    check_executor(executor)
    check_choice(spacing, "spacing", SPACINGS)
    check_choice(signal, "signal", BOUNDARY_SIGNALS)
    check_choice(scheme, "scheme", SCHEMES)
    factory = _factory(scenario)
    scenarios = [
        check_scenario(factory(g), single_user=_ONE_RATE_AXIS)
        for g in as_generator(rng).spawn(n_draws)
    ]
    top = min(_max_rate(sc) for sc in scenarios)
    if rates is None:
        grid = _default_rates(top, n_points, spacing)
    else:
        grid = _rate_grid(scenarios[0], n_points, rates)
        if grid[-1] > top * (1 + 1e-12):
            raise InfeasibleError(
                f"rates up to {grid[-1]:.6g} bit/s/Hz exceed the largest rate {top:.6g} "
                "of the weakest draw",
                parameter="rates",
                requested=grid,
                max_achievable=top,
            )
    tasks = [(sc, signal, scheme, grid, method) for sc in scenarios]
    results = run_tasks(_boundary_task, tasks, executor=executor, progress=progress, desc="draws")
    crb = np.array([c for c, _ in results])
    achieved = np.array([a for _, a in results])
    meta = {
        "method": method,
        "n_draws": n_draws,
        "averaging": "mean CRB at fixed rate targets",
        "parameter": PARAMETERS[scheme],
        **_draw_recipe(scenario, rng),
    }
    return ParetoFront(
        grid,
        crb.mean(axis=0),
        achieved.mean(axis=0),
        np.full(grid.size, np.nan),
        signal,
        scheme,
        metadata=meta,
        crb_draws=crb,
    )


def _draw_recipe(scenario, rng) -> dict:
    """How the draws were made, when it can be written down (geometry mapping, int seed)."""
    recipe = {}
    if isinstance(scenario, Mapping):
        try:
            recipe["geometry"] = json.loads(json.dumps(dict(scenario)))
        except (TypeError, ValueError):  # e.g. numpy arrays as values: leave it out
            pass
    if rng is None or isinstance(rng, int):
        recipe["seed"] = rng
    return recipe
