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

import numpy as np

from .._validation import as_array, check_choice, check_unit_interval
from ..errors import InfeasibleError
from .closed_form import mrt_covariance
from .comm import communication_rate
from .crb import crb_doa
from .design import minimize_crb
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


# ----------------------------------------------------------------------------- helpers
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
    W : ndarray, shape (m, n_tx, n_tx), complex
        Information covariance; for time switching the time average
        $\tau W_{\mathrm{sen}} + (1-\tau) W_c$ (the CRB is *not* a function of it).
    Rs : ndarray, shape (m, n_tx, n_tx), complex
        Deterministic sample covariance (time-averaged for time switching).
    crb : ndarray, shape (m,)
        DoA CRB, rad^2 (`inf` for time switching with $\tau = 0$).
    rate : ndarray, shape (m,)
        Communication rate, bit/s/Hz.
    """

    scheme: str
    signal: str
    parameter: np.ndarray
    W: np.ndarray
    Rs: np.ndarray
    crb: np.ndarray
    rate: np.ndarray


def max_rate(scenario: BistaticScenario) -> float:
    r"""Largest rate of the single user, $\log_2(1 + P\|h\|^2/\sigma_c^2)$ (bit/s/Hz)."""
    return float(
        np.log2(1.0 + check_scenario(scenario, single_user="the CRB-rate benchmarks").max_snr[0])
    )


def _rate_targets(scenario, rate) -> np.ndarray:
    """Validate rate targets (bit/s/Hz) and return the SNR targets 2^r - 1."""
    r = as_array(rate, "rate", dtype=float, ndim=(0, 1))
    if np.any(r < 0):
        raise ValueError("rate must be >= 0 bit/s/Hz")
    top = max_rate(scenario)
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
    sensing = minimize_crb(sc, None, signal=signal)
    W_c = mrt_covariance(sc.channel, sc.power)
    r_max = max_rate(sc)
    with np.errstate(divide="ignore"):
        crb = np.where(rho > 0, sensing.crb / np.where(rho > 0, rho, 1.0), np.inf)
    r = rho[:, None, None]
    return SchemeDesign(
        scheme="time_switching",
        signal=signal,
        parameter=rho,
        W=r * sensing.W + (1.0 - r) * W_c,
        Rs=r * sensing.Rs,
        crb=crb,
        rate=rho * float(sensing.rate) + (1.0 - rho) * r_max,
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
    r = np.atleast_1d(as_array(rate, "rate", dtype=float, ndim=(0, 1)))
    _rate_targets(sc, r)
    r_s = float(
        minimize_crb(sc, None, signal=check_choice(signal, "signal", BOUNDARY_SIGNALS)).rate
    )
    r_max = max_rate(sc)
    gap = r_max - r_s
    # a sensing design that is already rate-optimal (a parallel to h) needs no switching
    rho = np.ones_like(r) if gap <= 0 else np.clip((r_max - r) / gap, 0.0, 1.0)
    return time_switching(sc, rho, signal)


def _split_covariances(sc, p_c, signal):
    p_c = p_c[:, None, None]
    comm = mrt_covariance(sc.channel, 1.0)  # u u^H
    sense = mrt_covariance(sc.a, 1.0)  # a a^H / Nt
    if signal == "superposition":
        return p_c * comm, (sc.power - p_c) * sense
    return p_c * comm + (sc.power - p_c) * sense, np.zeros_like(comm * p_c)


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
    p_c = np.minimum(p_c, sc.power)
    W, Rs = _split_covariances(sc, p_c, signal)
    Rs_model = Rs if signal == "superposition" else None
    return SchemeDesign(
        scheme="power_splitting",
        signal=signal,
        parameter=p_c,
        W=W,
        Rs=Rs,
        crb=np.atleast_1d(crb_doa(sc, W, Rs_model, known_realizations=signal == "known")),
        rate=np.atleast_1d(communication_rate(sc, W, Rs)),
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
    return power_splitting(sc, np.clip(p_c, 0.0, P), signal)
