r"""Sensing and communication receivers: MAPRT detection, angle estimation, QAM detection.

Sensing (Model-Driven End-to-End Learning for Integrated Sensing and Communication,
eqs. (7)-(8), (14)): with a dictionary $A = [a(\theta_1), \dots]$ over the grid angles in the
prior sector, the statistic and the angle estimate are

$$
T(y) = \max_{\theta \in [\theta_{\min}, \theta_{\max}]} |a(\theta)^H y|^2,
\qquad \hat\theta = \arg\max_\theta |a(\theta)^H y|^2,
$$

and a target is declared when $T(y) > \bar\eta$. The threshold $\bar\eta$ for a target
false-alarm probability is the $(1 - P_{fa})$ quantile of $T$ under $\mathcal H_0$
($y = n \sim \mathcal{CN}(0, N_0 I)$), estimated by seeded Monte Carlo and cached per
receiver. With element positions the grid maximum is refined by zooming on the continuous
steering model (grid plus refinement); a learned dictionary is searched on its grid only.

Communication: with known CSI $\kappa$, the ML detector is
$\hat m = \arg\min_m |y_c - \kappa s(m)|^2$ over a unit-energy square QAM constellation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .._repr import summary_repr
from .._validation import as_array, as_generator, check_int, check_positive, readonly
from .array_model import steering_matrix
from .sectors import check_sector

__all__ = [
    "SensingReceiver",
    "detection_threshold",
    "qam_constellation",
    "qam_detect",
    "QAM_ORDERS",
]

#: Supported constellation sizes (BPSK and square QAM).
QAM_ORDERS = (2, 4, 16, 64, 256)
_THRESHOLDS: dict = {}
_MAX_CACHE = 256


@dataclass(frozen=True, eq=False)
class SensingReceiver:
    """Matched-filter receiver over a prior sector.

    Build it with
    [`SensingReceiver.from_positions`][beamopt.beampattern.SensingReceiver.from_positions]
    (model-based, with refinement) or
    [`SensingReceiver.from_dictionary`][beamopt.beampattern.SensingReceiver.from_dictionary]
    (a learned dictionary, grid only).

    Attributes
    ----------
    grid : ndarray, shape (n,)
        Grid angles in the sector (radians).
    dictionary : ndarray, shape (K, n), complex
        One column per grid angle.
    sector : tuple of float
        The sector in radians.
    positions : ndarray or None
        Element positions (wavelengths) of the continuous model used to refine the grid
        maximum; `None` for a grid-only receiver.
    n_refine : int
        Zoom steps of the refinement (each halves the search step).
    """

    grid: np.ndarray
    dictionary: np.ndarray
    sector: tuple
    positions: np.ndarray | None = None
    n_refine: int = 8
    soft: bool = False
    key: str = field(default="", repr=False)

    __repr__ = summary_repr

    @classmethod
    def from_positions(cls, sector_deg, positions, *, n_grid: int = 64, n_refine: int = 8):
        """Model-based receiver: `n_grid` angles over the sector, then `n_refine` zooms."""
        lo, hi = np.deg2rad(check_sector(sector_deg))
        n_grid = check_int(n_grid, "n_grid", minimum=2)
        n_refine = check_int(n_refine, "n_refine", minimum=0)
        positions = readonly(as_array(positions, "positions", dtype=float, ndim=1))
        grid = np.linspace(lo, hi, n_grid)
        D = steering_matrix(grid, positions)
        return cls(readonly(grid), readonly(D), (float(lo), float(hi)), positions, n_refine,
                   False, _digest(D, positions, n_refine))  # fmt: skip

    @classmethod
    def from_dictionary(cls, dictionary, grid, sector_deg, *, soft: bool = True):
        r"""Receiver on the dictionary columns whose grid angles lie in the sector (eq. (14)).

        With `soft=True` the angle estimate is the soft-argmax of eq. (13),
        $\hat\theta = \operatorname{softmax}(|A^H y|)^\top \theta_{grid}$ over the sector
        (what [`train_model_driven`][beamopt.beampattern.learning.train_model_driven] optimises);
        otherwise the grid angle of the largest $|a_i^H y|$. Detection uses the maximum either way.
        """
        lo, hi = np.deg2rad(check_sector(sector_deg))
        grid = as_array(grid, "grid", dtype=float, ndim=1)
        D = as_array(dictionary, "dictionary", dtype=complex, ndim=2)
        if D.shape[1] != grid.size:
            raise ValueError(f"dictionary must have {grid.size} columns (one per grid angle)")
        inside = (grid >= lo - 1e-12) & (grid <= hi + 1e-12)
        if not inside.any():
            raise ValueError("sector_deg contains no grid angle of the dictionary")
        D = D[:, inside]
        return cls(readonly(grid[inside]), readonly(D), (float(lo), float(hi)), None, 0,
                   bool(soft), _digest(D, None, 0))  # fmt: skip

    def statistic(self, y):
        r"""Test statistic $T(y)$ and angle estimate $\hat\theta$ for received signals `y`.

        Parameters
        ----------
        y : array_like, shape (..., K)

        Returns
        -------
        T : ndarray, shape (...)
        theta_hat : ndarray, shape (...), radians
        """
        y = np.asarray(y, dtype=complex)
        power = np.abs(y @ self.dictionary.conj()) ** 2
        idx = np.argmax(power, axis=-1)
        T = np.take_along_axis(power, idx[..., None], axis=-1)[..., 0]
        theta = self.grid[idx]
        if self.soft:
            z = np.sqrt(power)
            w = np.exp(z - z.max(axis=-1, keepdims=True))
            theta = (w @ self.grid) / w.sum(axis=-1)
        if self.positions is None or self.n_refine == 0:
            return T, theta
        step = (self.grid[1] - self.grid[0]) if self.grid.size > 1 else 0.0
        offsets = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
        lo, hi = self.sector
        for _ in range(self.n_refine):
            cand = np.clip(theta[..., None] + step * offsets, lo, hi)  # (..., 5)
            a = np.exp(2j * np.pi * self.positions * np.sin(cand)[..., None])  # (..., 5, K)
            p = np.abs(np.einsum("...ck,...k->...c", a.conj(), y)) ** 2
            j = np.argmax(p, axis=-1)
            theta = np.take_along_axis(cand, j[..., None], axis=-1)[..., 0]
            T = np.take_along_axis(p, j[..., None], axis=-1)[..., 0]
            step /= 2
        return T, theta


def _digest(D, positions, n_refine) -> str:
    h = hashlib.sha1(np.ascontiguousarray(D).tobytes())
    if positions is not None:
        h.update(np.ascontiguousarray(positions).tobytes())
    h.update(str(n_refine).encode())
    return h.hexdigest()


def detection_threshold(
    receiver: SensingReceiver,
    p_fa: float = 1e-2,
    *,
    noise_power: float = 1.0,
    n_trials: int = 20_000,
    rng=0,
) -> float:
    r"""Threshold $\bar\eta$ with $P(T(n) > \bar\eta) = P_{fa}$ under $\mathcal H_0$ (Monte Carlo).

    Cached per (receiver, `p_fa`, `noise_power`, `n_trials`, integer seed `rng`), so
    sweeps over $\rho$ reuse one threshold per sector.

    Parameters
    ----------
    receiver : SensingReceiver
    p_fa : float
        Target false-alarm probability in $(0, 1)$.
    noise_power : float
        $N_0 > 0$.
    n_trials : int
        Noise-only draws; the relative error of the $P_{fa}$ achieved is about
        $1/\sqrt{n_{trials} P_{fa}}$.
    rng : int or numpy.random.Generator
        Seed (cached) or generator (not cached).

    Returns
    -------
    float
    """
    p_fa = check_positive(p_fa, "p_fa")
    if p_fa >= 1:
        raise ValueError(f"p_fa must lie in (0, 1); got {p_fa}")
    noise_power = check_positive(noise_power, "noise_power")
    n_trials = check_int(n_trials, "n_trials", minimum=10)
    key = None
    if isinstance(rng, int | np.integer):
        key = (receiver.key, p_fa, noise_power, n_trials, int(rng))
        if key in _THRESHOLDS:
            return _THRESHOLDS[key]
    gen = as_generator(rng)
    K = receiver.dictionary.shape[0]
    T = np.empty(n_trials)
    for start in range(0, n_trials, 4096):  # chunks bound the memory of the refinement
        m = min(4096, n_trials - start)
        n = np.sqrt(noise_power / 2) * (
            gen.standard_normal((m, K)) + 1j * gen.standard_normal((m, K))
        )
        T[start : start + m] = receiver.statistic(n)[0]
    eta = float(np.quantile(T, 1 - p_fa))
    if key is not None:
        if len(_THRESHOLDS) >= _MAX_CACHE:
            _THRESHOLDS.pop(next(iter(_THRESHOLDS)))
        _THRESHOLDS[key] = eta
    return eta


def qam_constellation(order: int, *, name: str = "order") -> np.ndarray:
    """Unit-average-energy constellation of `order` points (BPSK or square QAM).

    Raises
    ------
    ValueError
        If `order` is not one of `QAM_ORDERS` (2, 4, 16, 64, 256).
    """
    if isinstance(order, bool) or order not in QAM_ORDERS:
        raise ValueError(f"{name} must be one of {QAM_ORDERS}; got {order!r}")
    if order == 2:
        return np.array([-1.0 + 0j, 1.0 + 0j])
    m = round(np.sqrt(order))
    levels = np.arange(-(m - 1), m, 2, dtype=float)
    pts = (levels[:, None] + 1j * levels[None, :]).ravel()
    return pts / np.sqrt(np.mean(np.abs(pts) ** 2))


def qam_detect(y, csi, constellation) -> np.ndarray:
    r"""ML symbol indices $\arg\min_m |y - \kappa s_m|^2$ given the CSI $\kappa$ (broadcasts)."""
    y = np.asarray(y, dtype=complex)
    csi = np.asarray(csi, dtype=complex)
    s = np.asarray(constellation, dtype=complex)
    return np.argmin(np.abs(y[..., None] - csi[..., None] * s) ** 2, axis=-1)
