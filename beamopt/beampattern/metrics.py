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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._parallel import check_executor, run_tasks
from .._repr import short_repr, span
from .._validation import as_array, as_generator, check_int, check_positive, readonly
from ..units import db_to_linear
from .array_model import steering_matrix
from .receivers import SensingReceiver, detection_threshold, qam_constellation, qam_detect
from .sectors import check_sector
from .synthesis import mix_beams

__all__ = ["IsacTradeoff", "isac_tradeoff"]


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
    """

    rho: np.ndarray
    p_md: np.ndarray
    ser: np.ndarray
    rmse: np.ndarray
    threshold: float
    p_fa: float
    label: str = ""

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

    def rows(self) -> list[dict]:
        r"""One dict per $\rho$ (for CSV files)."""
        return [
            {"label": self.label, "rho": r, "p_md": m, "ser": s, "rmse_deg": e}
            for r, m, s, e in zip(self.rho, self.p_md, self.ser, self.rmse_deg)
        ]


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
    rmse = np.sqrt(np.mean((theta_hat[det] - theta[det]) ** 2)) if det.any() else np.nan
    kappa = beta * (a_c @ v)
    y_c = kappa * s + n_c
    return 1.0 - det.mean(), np.mean(qam_detect(y_c, kappa, constellation) != m), rmse


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
    p_md, ser, rmse = np.array(run_tasks(_rho_metrics, tasks, executor=executor)).T
    return IsacTradeoff(
        rho=readonly(rho), p_md=readonly(p_md), ser=readonly(ser), rmse=readonly(rmse),
        threshold=eta, p_fa=p_fa, label=label,
    )  # fmt: skip
