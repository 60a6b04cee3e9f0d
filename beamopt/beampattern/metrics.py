r"""Monte Carlo ISAC metrics and the trade-off sweep over $\rho$.

For each trade-off value $\rho$ the ISAC beam $v(\rho, 0)$ of
[`mix_beams`][beamopt.beampattern.mix_beams] transmits $x = v\, s(m)$, and (Model-Driven
End-to-End Learning for Integrated Sensing and Communication, eqs. (1)-(2))

$$
y_r = \alpha\, a(\theta) a(\theta)^\top x + n_r, \qquad y_c = \beta\, a(\vartheta)^\top x + n_c,
$$

with $\alpha \sim \mathcal{CN}(0, \sigma_r^2)$, $\beta \sim \mathcal{CN}(0, \sigma_c^2)$,
$\theta \sim U[\theta_{\min}, \theta_{\max}]$, $\vartheta \sim U[\vartheta_{\min},
\vartheta_{\max}]$ and unit noise power, so $\sigma_r^2 = \mathrm{SNR}_r$ and
$\sigma_c^2 = \mathrm{SNR}_c$. The steering vectors are those of the *true* array (ideal or
impaired); the receiver may assume a different model. Reported: the missed-detection
probability at the threshold for $P_{fa}$, the symbol error rate with known CSI
$\kappa = \beta a(\vartheta)^\top v$, and the angle RMSE over detected targets. The same
random draws are reused for every $\rho$ (common random numbers), so the curves are smooth.

Each number comes with its Monte Carlo standard error over the `n_samples` draws:
$\sqrt{\hat p(1-\hat p)/n}$ for $P_{md}$ and the SER, and for the RMSE over the $n_d$
detected targets the delta method on $\widehat{\mathrm{MSE}} = \frac1{n_d}\sum e_i^2$,

$$
\mathrm{se}(\widehat{\mathrm{RMSE}}) = \frac{\mathrm{sd}(e_i^2)}{2\sqrt{n_d}\,
\widehat{\mathrm{RMSE}}}.
$$

They hold the threshold fixed (its own Monte Carlo error, relative
$\approx 1/\sqrt{n_{threshold} P_{fa}}$ in $P_{fa}$, is not included) and, the draws being
common to every $\rho$, are not independent across $\rho$.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._parallel import check_executor, run_tasks
from .._repr import short_repr, span
from .._validation import as_array, as_generator, check_int, check_positive, readonly
from ..units import db_to_linear
from .array_model import steering_matrix
from .receivers import (
    SensingReceiver,
    check_exceedances,
    detection_threshold,
    qam_constellation,
    qam_detect,
)
from .sectors import check_sector
from .synthesis import mix_beams

__all__ = ["IsacTradeoff", "isac_tradeoff", "proportion_se", "rmse_and_se"]


@dataclass(frozen=True, kw_only=True)
class IsacTradeoff:
    r"""Sensing and communication metrics along a sweep over $\rho$.

    Attributes
    ----------
    rho : ndarray, shape (n_rho,)
    p_md : ndarray, shape (n_rho,)
        Missed-detection probability at the threshold for `p_fa`.
    ser : ndarray, shape (n_rho,)
        Symbol error rate.
    rmse : ndarray, shape (n_rho,)
        Angle RMSE over detected targets (radians; NaN when nothing was detected).
    threshold : float
        Detection threshold used.
    p_fa : float
        Target false-alarm probability.
    label : str
    p_md_se, ser_se, rmse_se : ndarray, shape (n_rho,), optional
        Monte Carlo standard errors of `p_md`, `ser` and `rmse` (radians); NaN where
        undefined (no detection, or a single one).
    n_samples : int
        Monte Carlo draws per $\rho$ (0 when unknown); the resolution of `p_md` and `ser`
        is $1/n$, and a zero means below about $3/n$.
    """

    rho: np.ndarray
    p_md: np.ndarray
    ser: np.ndarray
    rmse: np.ndarray
    threshold: float
    p_fa: float
    label: str = ""
    p_md_se: np.ndarray | None = None
    ser_se: np.ndarray | None = None
    rmse_se: np.ndarray | None = None
    n_samples: int = 0

    def __repr__(self) -> str:
        return short_repr(self, {
            "label": self.label or None, "n_rho": self.rho.size, "rho": span(self.rho),
            "p_md": span(self.p_md), "ser": span(self.ser), "rmse_deg": span(self.rmse_deg),
            "p_fa": self.p_fa,
        })  # fmt: skip

    @property
    def rmse_deg(self) -> np.ndarray:
        """Angle RMSE in degrees."""
        return np.rad2deg(self.rmse)

    @property
    def rmse_deg_se(self) -> np.ndarray | None:
        """Standard error of the angle RMSE in degrees."""
        return None if self.rmse_se is None else np.rad2deg(self.rmse_se)

    def rows(self) -> list[dict]:
        r"""One dict per $\rho$ (for CSV files), standard errors included when known."""
        nan = np.full(self.rho.shape, np.nan)
        se = [nan if v is None else v for v in (self.p_md_se, self.ser_se, self.rmse_deg_se)]
        return [
            {"label": self.label, "rho": r, "p_md": m, "p_md_se": ms, "ser": s, "ser_se": ss,
             "rmse_deg": e, "rmse_deg_se": es}
            for r, m, ms, s, ss, e, es in zip(self.rho, self.p_md, se[0], self.ser, se[1],
                                              self.rmse_deg, se[2])
        ]  # fmt: skip


def proportion_se(p, n: int) -> np.ndarray:
    r"""Binomial standard error $\sqrt{p(1-p)/n}$ of proportions `p` from `n` draws."""
    p = np.asarray(p, dtype=float)
    return np.sqrt(p * (1.0 - p) / n)


def rmse_and_se(err) -> tuple[float, float]:
    r"""RMSE of errors `err` and its delta-method standard error (NaN, NaN when empty)."""
    err = np.asarray(err, dtype=float)
    if err.size == 0:
        return float("nan"), float("nan")
    sq = err**2
    rmse = float(np.sqrt(sq.mean()))
    if err.size < 2 or rmse == 0:
        return rmse, float("nan")
    return rmse, float(sq.std(ddof=1) / (2 * np.sqrt(err.size) * rmse))


def _cn(gen, shape, power):
    return np.sqrt(power / 2) * (gen.standard_normal(shape) + 1j * gen.standard_normal(shape))


def _rho_metrics(v, draws, receiver, eta, constellation):
    """Missed detection, SER and RMSE of one beam on the shared draws (module level, so
    process pools can pickle it)."""
    theta, alpha, n_r, m, s, beta, n_c, a_t, a_c = draws
    gain = alpha * (a_t @ v) * s
    y_r = gain[:, None] * a_t + n_r
    T, theta_hat = receiver.statistic(y_r)
    det = T > eta
    rmse, rmse_se = rmse_and_se(theta_hat[det] - theta[det])
    kappa = beta * (a_c @ v)
    y_c = kappa * s + n_c
    ser = np.mean(qam_detect(y_c, kappa, constellation) != m)
    return 1.0 - det.mean(), ser, rmse, rmse_se


def isac_tradeoff(
    x_radar,
    x_comm,
    receiver: SensingReceiver,
    true_positions,
    target_sector_deg,
    comm_sector_deg=(30.0, 50.0),
    rho=(0.0, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0),
    *,
    energy: float = 1.0,
    snr_radar_db: float = 0.0,
    snr_comm_db: float = 20.0,
    qam_order: int = 4,
    p_fa: float = 1e-2,
    n_samples: int = 10_000,
    n_threshold: int = 20_000,
    rng=0,
    label: str = "",
    executor=None,
) -> IsacTradeoff:
    r"""Sweep $\rho$ and measure missed detection, SER and angle RMSE by Monte Carlo.

    Parameters
    ----------
    x_radar, x_comm : array_like, shape (K,)
        Radar and communication beams (LS beams of the transmitter's model).
    receiver : SensingReceiver
        Sensing receiver for `target_sector_deg`.
    true_positions : array_like, shape (K,)
        Element positions (wavelengths) of the array that really radiates and receives.
    target_sector_deg, comm_sector_deg : array_like, shape (2,)
        Priors of the target angle and the user angle, degrees.
    rho : array_like, shape (n_rho,)
        Trade-off values in $[0, 1]$.
    energy : float
        $E_{tx}$.
    snr_radar_db, snr_comm_db : float
        $\sigma_r^2/N_0$ and $\sigma_c^2/N_0$ in dB.
    qam_order : int
        Constellation size (see [`qam_constellation`][beamopt.beampattern.qam_constellation]).
    p_fa : float
        Target false-alarm probability.
    n_samples : int
        Monte Carlo draws (target present) per $\rho$.
    n_threshold : int
        Noise-only draws for the threshold (seeded and cached from `rng`'s seed).
    rng : int or numpy.random.Generator
    label : str
    executor : concurrent.futures.Executor, optional
        Evaluates the $\rho$ values in parallel (a thread or process pool, or
        dask.distributed's `Client.get_executor()`); None evaluates them here. The draws
        are made here once and shared, so every executor gives the same numbers.

    Returns
    -------
    IsacTradeoff
        With Monte Carlo standard errors `p_md_se`, `ser_se`, `rmse_se`.

    Raises
    ------
    ValueError
        For a bad sector or $\rho$, beams, positions and receiver of different sizes, a
        receiver whose sector does not contain `target_sector_deg`, or
        `n_threshold * p_fa < 10`.
    """
    t_lo, t_hi = np.deg2rad(check_sector(target_sector_deg, "target_sector_deg"))
    c_lo, c_hi = np.deg2rad(check_sector(comm_sector_deg, "comm_sector_deg"))
    rho = np.atleast_1d(as_array(rho, "rho", dtype=float))
    V = mix_beams(x_radar, x_comm, rho, energy=energy)  # validates rho, energy
    constellation = qam_constellation(qam_order, name="qam_order")
    n_samples = check_int(n_samples, "n_samples")
    sig_r = db_to_linear(float(as_array(snr_radar_db, "snr_radar_db", dtype=float, ndim=0)))
    sig_c = db_to_linear(float(as_array(snr_comm_db, "snr_comm_db", dtype=float, ndim=0)))
    check_positive(energy, "energy")
    check_executor(executor)
    pos = as_array(true_positions, "true_positions", dtype=float, ndim=1)
    if pos.size != V.shape[-1]:
        raise ValueError(f"true_positions has {pos.size} elements but the beams have {V.shape[-1]}")

    if not isinstance(receiver, SensingReceiver):
        raise ValueError(f"receiver must be a SensingReceiver; got {type(receiver).__name__}")
    if receiver.n_tx != V.shape[-1]:
        raise ValueError(
            f"receiver expects {receiver.n_tx} elements but the beams have {V.shape[-1]}"
        )
    r_lo, r_hi = receiver.sector
    if t_lo < r_lo - 1e-9 or t_hi > r_hi + 1e-9:
        raise ValueError(
            f"target_sector_deg={np.rad2deg([t_lo, t_hi]).round(6).tolist()} is not inside "
            f"the receiver's sector {np.rad2deg([r_lo, r_hi]).round(6).tolist()} degrees: "
            "build the receiver for the target sector"
        )
    n_threshold = check_int(n_threshold, "n_threshold", minimum=10)
    check_exceedances(n_threshold, check_positive(p_fa, "p_fa"), "n_threshold")
    seed = rng if isinstance(rng, int | np.integer) else 0
    eta = detection_threshold(receiver, p_fa, n_trials=n_threshold, rng=int(seed))
    gen = as_generator(rng)
    K = pos.size
    theta = gen.uniform(t_lo, t_hi, n_samples)
    alpha = _cn(gen, n_samples, sig_r)
    n_r = _cn(gen, (n_samples, K), 1.0)
    m = gen.integers(len(constellation), size=n_samples)
    s = constellation[m]
    vartheta = gen.uniform(c_lo, c_hi, n_samples)
    beta = _cn(gen, n_samples, sig_c)
    n_c = _cn(gen, n_samples, 1.0)
    a_t = steering_matrix(theta, pos).T  # (n, K)
    a_c = steering_matrix(vartheta, pos).T

    draws = (theta, alpha, n_r, m, s, beta, n_c, a_t, a_c)
    tasks = [(v, draws, receiver, eta, constellation) for v in V]
    p_md, ser, rmse, rmse_se = np.array(run_tasks(_rho_metrics, tasks, executor=executor)).T
    return IsacTradeoff(
        rho=readonly(rho), p_md=readonly(p_md), ser=readonly(ser), rmse=readonly(rmse),
        threshold=eta, p_fa=p_fa, label=label,
        p_md_se=readonly(proportion_se(p_md, n_samples)),
        ser_se=readonly(proportion_se(ser, n_samples)), rmse_se=readonly(rmse_se),
        n_samples=n_samples,
    )  # fmt: skip
