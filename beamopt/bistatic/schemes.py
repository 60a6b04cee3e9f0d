r"""Benchmark transmit schemes of the CRB-rate paper's Section V-B (closed forms, batched).

CRB-rate benchmarks for one communication user (Section V-B). With
$u = h/\|h\|$, the rate-optimal design is MRT to the user,
$W_c = P u u^H$, with the largest rate $R_{\max} = \log_2(1 + P\|h\|^2/\sigma_c^2)$;
the sensing-optimal design $(W_{\mathrm{sen}}, R_{s,\mathrm{sen}})$ of each signal model is
[`beamopt.minimize_crb`][] without an SINR target (MRT toward the target; for
`"superposition"` all power goes to the deterministic signal).

* **Time switching** with sensing fraction $\tau \in [0, 1]$: the sensing-optimal
  design is sent for $\tau L$ symbols and the rate-optimal design for the rest. The
  CRB uses the sensing symbols only, $L_s = \tau L$ (treated as continuous), and the
  rate is averaged over all symbols:

  $$
  \mathrm{CRB}_{TS}(\tau) = \frac{\mathrm{CRB}_{\mathrm{sen}}}{\tau}, \qquad
  R_{TS}(\tau) = \tau r_{\mathrm{sen}} + (1 - \tau) R_{\max},
  $$

  where $\mathrm{CRB}_{\mathrm{sen}}, r_{\mathrm{sen}}$ belong to the sensing-optimal design
  ($r_{\mathrm{sen}} = 0$ for `"superposition"`, whose sensing block carries no data).
* **Power splitting** with communication power $p_c \in [0, P]$ and sensing power
  $p_s = P - p_c$: a communication beam $p_c u u^H$ and a sensing beam
  $p_s a a^H / N_t$ share the budget, $\mathrm{tr}(W + R_s) = P$.

  - `"gaussian"` and `"known"`: both beams are Gaussian and carry the user's data (one
    information stream with rank-two covariance), $W = p_c u u^H + p_s a a^H/N_t$,
    $R_s = 0$, SNR $h^H W h/\sigma_c^2$; `"known"` evaluates the CRB with the
    realisations known at the sensing receiver.
  - `"superposition"`: the sensing beam is the deterministic signal,
    $W = p_c u u^H$, $R_s = p_s a a^H/N_t$, and interferes at the user:
    $\mathrm{SINR} = p_c\|h\|^2 / (p_s |h^H a|^2/N_t + \sigma_c^2)$.

  In every model the rate increases and the CRB does not decrease with $p_c$, so the
  cheapest split meeting a rate target is the best one
  ([`power_splitting_at_rate`][beamopt.bistatic.schemes.power_splitting_at_rate]).

References
----------
*CRB-Rate Tradeoff for Bistatic ISAC with Gaussian Information and Deterministic Sensing Signals*:
Section V-B (known realisations, time switching, power splitting).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .._repr import short_repr, span
from .._validation import as_array, check_choice, check_unit_interval
from ..errors import InfeasibleError
from . import _lowrank as lowrank
from .scenario import BistaticScenario, check_scenario

__all__ = [
    "BOUNDARY_SIGNALS",
    "SchemeDesign",
    "max_rate",
    "time_switching",
    "time_switching_at_rate",
    "power_splitting",
    "power_splitting_at_rate",
]

#: Signal models of the CRB-rate benchmarks (Section V-B).
BOUNDARY_SIGNALS = ("gaussian", "superposition", "known")


# ------------------------------------------------------------ CRB-rate benchmarks (V-B)
@dataclass(frozen=True, eq=False)
class SchemeDesign:
    r"""Designs of a benchmark scheme, batched over its tradeoff parameter.

    Attributes
    ----------
    scheme : {"time_switching", "power_splitting"}
    signal : {"gaussian", "superposition", "known"}
    parameter : ndarray, shape (m,)
        Sensing fraction $\tau$ (time switching) or communication power $p_c$
        in W (power splitting).
    W_factor : ndarray, shape (m, n_tx, r), complex
        Factor $V$ ($r \le 2$) of the information covariance $W = V V^H$; for time
        switching the time average $\tau W_{\mathrm{sen}} + (1-\tau) W_c$ (the CRB is *not* a
        function of it). The dense stack is the property `W`, formed on first access.
    Rs_factor : ndarray, shape (m, n_tx, r_s), complex
        Factor of the deterministic sample covariance (time-averaged for time switching;
        `r_s = 0` where there is none); the dense stack is the property `Rs`.
    crb : ndarray, shape (m,)
        DoA CRB, rad^2 (`inf` for time switching with $\tau = 0$).
    rate : ndarray, shape (m,)
        Communication rate, bit/s/Hz.
    """

    scheme: str
    signal: str
    parameter: np.ndarray
    W_factor: np.ndarray
    Rs_factor: np.ndarray
    crb: np.ndarray
    rate: np.ndarray

    def __repr__(self) -> str:
        return short_repr(self, {
            "scheme": self.scheme, "signal": self.signal, "n_points": self.crb.size,
            "parameter": span(self.parameter), "rate": span(self.rate), "crb": span(self.crb),
        })  # fmt: skip

    @cached_property
    def W(self) -> np.ndarray:
        """Information covariances $W = V V^H$, shape (m, n_tx, n_tx), complex."""
        return lowrank.dense(self.W_factor)

    @cached_property
    def Rs(self) -> np.ndarray:
        """Deterministic sample covariances, shape (m, n_tx, n_tx), complex."""
        return lowrank.dense(self.Rs_factor)


def max_rate(scenario: BistaticScenario) -> float:
    r"""Largest rate of the single user, $\log_2(1 + P\|h\|^2/\sigma_c^2)$ (bit/s/Hz)."""
    return _max_rate(check_scenario(scenario, single_user="the CRB-rate benchmarks"))


def _max_rate(sc) -> float:
    """[`max_rate`][beamopt.max_rate] of a checked single-user scenario."""
    return float(np.log2(1.0 + sc.max_snr[0]))


def _unit(v) -> np.ndarray:
    return v / np.linalg.norm(v)


def _sensing_optimal(sc, signal):
    """Factors, CRB and rate of the sensing-optimal design (MRT toward the target).

    The design of [`minimize_crb`][beamopt.minimize_crb] without an SINR target: all power
    in the Gaussian signal, or in the deterministic one for `"superposition"`.
    """
    mrt = lowrank.from_vector(np.sqrt(sc.power) * _unit(sc.a))
    empty = np.zeros((sc.n_tx, 0), dtype=complex)
    VW, VR = (empty, mrt) if signal == "superposition" else (mrt, empty)
    crb, sinr = lowrank.metrics(sc, VW, VR, signal)
    return VW, VR, float(crb), float(np.log2(1.0 + sinr))


def _rate_targets(scenario, rate) -> np.ndarray:
    """Validate rate targets (bit/s/Hz) and return the SNR targets 2^r - 1."""
    r = as_array(rate, "rate", dtype=float, ndim=(0, 1))
    if np.any(r < 0):
        raise ValueError("rate must be >= 0 bit/s/Hz")
    top = _max_rate(scenario)
    if np.any(r > top * (1 + 1e-12)):
        raise InfeasibleError(
            f"rate={r.max():.6g} bit/s/Hz exceeds the largest achievable rate {top:.6g}",
            parameter="rate",
            requested=r,
            max_achievable=top,
        )
    # snap the top target to the exact largest SNR: the round trip through log2 loses a few
    # ulps, and near the top the CRB is very sensitive to the leftover power (~sqrt(1 - beta))
    gamma_max = scenario.max_snr[0]
    return np.where(r >= top, gamma_max, np.minimum(np.expm1(r * np.log(2.0)), gamma_max))


def time_switching(scenario: BistaticScenario, fraction, signal: str = "gaussian") -> SchemeDesign:
    r"""Time switching between the sensing-optimal and the rate-optimal design.

    $$
    \mathrm{CRB}_{TS} = \mathrm{CRB}_{\mathrm{sen}} / \tau, \qquad
    R_{TS} = \tau r_{\mathrm{sen}} + (1-\tau) R_{\max}
    $$

    Parameters
    ----------
    scenario : BistaticScenario
        Single-user scenario.
    fraction : float or array_like, shape (m,)
        Share $\tau \in [0, 1]$ of the symbols sent with the sensing-optimal design.
    signal : {"gaussian", "superposition", "known"}
        Signal model of the sensing block (see [`beamopt.minimize_crb`][]).

    Returns
    -------
    SchemeDesign
        `crb` is `inf` where $\tau = 0$ (no sensing symbols).
    """
    sc = check_scenario(scenario, single_user="the CRB-rate benchmarks")
    check_choice(signal, "signal", BOUNDARY_SIGNALS)
    rho = np.atleast_1d(check_unit_interval(fraction, "fraction"))
    return _time_switching(sc, rho, signal)


def _time_switching(sc, rho, signal) -> SchemeDesign:
    VW_s, VR_s, crb_s, rate_s = _sensing_optimal(sc, signal)
    V_c = np.sqrt(sc.power) * _unit(sc.channel)
    with np.errstate(divide="ignore"):
        crb = np.where(rho > 0, crb_s / np.where(rho > 0, rho, 1.0), np.inf)
    # rho W_s + (1 - rho) W_c = [sqrt(rho) V_s, sqrt(1 - rho) V_c] [...]^H
    r = np.sqrt(rho)[:, None, None]
    VW = np.concatenate([r * VW_s, np.sqrt(1.0 - rho)[:, None, None] * V_c[:, None]], axis=-1)
    return SchemeDesign(
        scheme="time_switching",
        signal=signal,
        parameter=rho,
        W_factor=VW,
        Rs_factor=r * VR_s,
        crb=crb,
        rate=rho * rate_s + (1.0 - rho) * _max_rate(sc),
    )


def time_switching_at_rate(
    scenario: BistaticScenario, rate, signal: str = "gaussian"
) -> SchemeDesign:
    r"""Time switching with the largest sensing fraction that meets each rate target.

    $$
    \tau(r) = \min\left(1, \frac{R_{\max} - r}{R_{\max} - r_{\mathrm{sen}}}\right)
    $$

    Parameters
    ----------
    scenario : BistaticScenario
    rate : float or array_like, shape (m,)
        Rate targets $r \in [0, R_{\max}]$, bit/s/Hz.
    signal : {"gaussian", "superposition", "known"}

    Returns
    -------
    SchemeDesign
        The CRB is the smallest time switching reaches at rate $\ge r$.

    Raises
    ------
    InfeasibleError
        If a target exceeds [`max_rate`][beamopt.bistatic.schemes.max_rate].
    """
    sc = check_scenario(scenario, single_user="the CRB-rate benchmarks")
    check_choice(signal, "signal", BOUNDARY_SIGNALS)
    return _time_switching_at_rate(sc, rate, signal)


def _time_switching_at_rate(sc, rate, signal) -> SchemeDesign:
    """[`time_switching_at_rate`][beamopt.time_switching_at_rate] for a checked scenario."""
    r = np.atleast_1d(as_array(rate, "rate", dtype=float, ndim=(0, 1)))
    _rate_targets(sc, r)
    r_s = _sensing_optimal(sc, signal)[3]
    r_max = _max_rate(sc)
    gap = r_max - r_s
    # a sensing design that is already rate-optimal (a parallel to h) needs no switching
    rho = np.ones_like(r) if gap <= 0 else np.clip((r_max - r) / gap, 0.0, 1.0)
    return _time_switching(sc, rho, signal)


def _split_factors(sc, p_c, signal):
    comm = np.sqrt(p_c)[:, None, None] * _unit(sc.channel)[:, None]  # sqrt(p_c) u
    sense = np.sqrt(sc.power - p_c)[:, None, None] * _unit(sc.a)[:, None]  # sqrt(p_s) a/|a|
    if signal == "superposition":
        return comm, sense
    return np.concatenate([comm, sense], axis=-1), np.zeros((p_c.size, sc.n_tx, 0), complex)


def power_splitting(
    scenario: BistaticScenario, comm_power, signal: str = "gaussian"
) -> SchemeDesign:
    r"""Power splitting between a communication beam and a sensing beam.

    `"gaussian"`/`"known"`: $W = p_c u u^H + (P - p_c) a a^H/N_t$, $R_s = 0$;
    `"superposition"`: $W = p_c u u^H$, $R_s = (P - p_c) a a^H / N_t$;
    $u = h/\|h\|$.

    Parameters
    ----------
    scenario : BistaticScenario
        Single-user scenario.
    comm_power : float or array_like, shape (m,)
        Communication power $p_c \in [0, P]$, W.
    signal : {"gaussian", "superposition", "known"}

    Returns
    -------
    SchemeDesign
        $\mathrm{tr}(W + R_s) = P$ for every split.
    """
    sc = check_scenario(scenario, single_user="the CRB-rate benchmarks")
    check_choice(signal, "signal", BOUNDARY_SIGNALS)
    p_c = np.atleast_1d(as_array(comm_power, "comm_power", dtype=float, ndim=(0, 1)))
    if np.any((p_c < 0) | (p_c > sc.power * (1 + 1e-12))):
        raise ValueError(f"comm_power must lie in [0, P] = [0, {sc.power:.6g}] W")
    return _power_splitting(sc, np.minimum(p_c, sc.power), signal)


def _power_splitting(sc, p_c, signal) -> SchemeDesign:
    VW, VR = _split_factors(sc, p_c, signal)
    crb, sinr = lowrank.metrics(sc, VW, VR, signal)
    return SchemeDesign(
        scheme="power_splitting",
        signal=signal,
        parameter=p_c,
        W_factor=VW,
        Rs_factor=VR,
        crb=crb,
        rate=np.log2(1.0 + sinr),
    )


def power_splitting_at_rate(
    scenario: BistaticScenario, rate, signal: str = "gaussian"
) -> SchemeDesign:
    r"""Power splitting with the least communication power that meets each rate target.

    With $\gamma = 2^r - 1$, $q = |h^H a|^2/N_t$ and $n = \|h\|^2$:

    $$
    p_c = \left[\frac{\gamma\sigma_c^2 - P q}{n - q}\right]_0^P
    \;\text{(gaussian, known)}, \qquad
    p_c = \left[\frac{\gamma (P q + \sigma_c^2)}{n + \gamma q}\right]_0^P
    \;\text{(superposition)}.
    $$

    Parameters
    ----------
    scenario : BistaticScenario
    rate : float or array_like, shape (m,)
        Rate targets $r \in [0, R_{\max}]$, bit/s/Hz.
    signal : {"gaussian", "superposition", "known"}

    Returns
    -------
    SchemeDesign

    Raises
    ------
    InfeasibleError
        If a target exceeds [`max_rate`][beamopt.bistatic.schemes.max_rate].
    """
    sc = check_scenario(scenario, single_user="the CRB-rate benchmarks")
    check_choice(signal, "signal", BOUNDARY_SIGNALS)
    return _power_splitting_at_rate(sc, rate, signal)


def _power_splitting_at_rate(sc, rate, signal) -> SchemeDesign:
    """[`power_splitting_at_rate`][beamopt.power_splitting_at_rate] for a checked scenario."""
    gamma = np.atleast_1d(_rate_targets(sc, rate))
    h, s2c, P = sc.channel, sc.comm_noise_power, sc.power
    n = float(np.vdot(h, h).real)
    q = abs(np.vdot(h, sc.a)) ** 2 / sc.n_tx
    if signal == "superposition":
        p_c = gamma * (P * q + s2c) / (n + gamma * q)
    elif n - q <= 1e-12 * n:  # h parallel to a: the sensing beam serves the user as well
        p_c = np.zeros_like(gamma)
    else:
        p_c = (gamma * s2c - P * q) / (n - q)
    return _power_splitting(sc, np.clip(p_c, 0.0, P), signal)
