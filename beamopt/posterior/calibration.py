r"""Is a posterior sampler calibrated? Spread against error on held-out (channel, pilot) pairs.

For held-out pairs $(h_i, y_i)$ and $S$ draws $h_i^{(s)} \sim \hat p(h \mid y_i)$ with sample
mean $m_i$, the unbiased sample spread and the squared error of the sample mean are

$$
v_i = \frac{1}{S-1} \sum_{s=1}^{S} \|h_i^{(s)} - m_i\|^2, \qquad e_i = \|h_i - m_i\|^2 .
$$

For the true posterior $E[v_i] = \mathrm{tr}\, C_{h\mid y_i}$ and $E[e_i] = (1 + 1/S)\,
\mathrm{tr}\, C_{h\mid y_i}$ ($h_i$ and $m_i$ are independent given $y_i$), so the
calibration ratio

$$
\kappa = \frac{(1 + 1/S)\, \bar v}{\bar e}
$$

is 1 for a calibrated sampler, below 1 for a posterior that is too narrow
(over-confident), above 1 for one that is too wide. The same draws give the error of the
$S$-sample posterior mean, the error of one draw (about twice the MMSE for a calibrated
sampler) and the error of the exact posterior mean, estimated as
$\bar e - \bar v / S$.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_array, as_generator, check_finite, check_int, readonly
from .sampler import as_samples

__all__ = ["CalibrationResult", "posterior_calibration"]


@dataclass(frozen=True, repr=False, eq=False)
class CalibrationResult:
    r"""Outcome of [`posterior_calibration`][beamopt.posterior.posterior_calibration].

    Attributes
    ----------
    ratio : float
        $\kappa$ (1: calibrated; < 1: too narrow; > 1: too wide).
    ratio_se : float
        Its standard error over pairs (delta method).
    nmse : float
        NMSE of the $S$-sample posterior mean, $\bar e / \overline{\|h\|^2}$.
    nmse_mean : float
        Estimated NMSE of the exact posterior mean ($S \to \infty$), $(\bar e - \bar v/S) /
        \overline{\|h\|^2}$.
    nmse_se : float
        Standard error of `nmse` over pairs.
    one_sample_nmse : float
        NMSE of a single draw, $\overline{\|h - h^{(1)}\|^2} / \overline{\|h\|^2}$.
    spread : ndarray, shape (n_pairs,)
        $v_i$.
    error : ndarray, shape (n_pairs,)
        $e_i$.
    power : ndarray, shape (n_pairs,)
        $\|h_i\|^2$.
    n_pairs, n_samples : int
    """

    ratio: float
    ratio_se: float
    nmse: float
    nmse_mean: float
    nmse_se: float
    one_sample_nmse: float
    spread: np.ndarray
    error: np.ndarray
    power: np.ndarray
    n_pairs: int
    n_samples: int

    def __repr__(self) -> str:
        return (
            f"CalibrationResult(ratio={self.ratio:.3f} ± {self.ratio_se:.3f}, "
            f"nmse={self.nmse:.4g} ± {self.nmse_se:.2g}, nmse_mean={self.nmse_mean:.4g}, "
            f"one_sample_nmse={self.one_sample_nmse:.4g}, n_pairs={self.n_pairs}, "
            f"n_samples={self.n_samples})"
        )


def _ratio_se(num: np.ndarray, den: np.ndarray) -> float:
    """Delta-method standard error of mean(num) / mean(den) over paired rows."""
    n = num.size
    if n < 2:
        return float("nan")
    a, b = num.mean(), den.mean()
    cov = np.cov(np.stack([num, den]), ddof=1)
    var = (cov[0, 0] / a**2 + cov[1, 1] / b**2 - 2 * cov[0, 1] / (a * b)) * (a / b) ** 2 / n
    return float(np.sqrt(max(var, 0.0)))


def posterior_calibration(
    sampler, channels, observations, *, n_samples: int = 16, seed=0
) -> CalibrationResult:
    r"""Calibration ratio and errors of a posterior sampler on held-out pairs.

    Parameters
    ----------
    sampler : PosteriorSampler
        Anything with `sample(y, n_samples, *, seed=None)` returning
        `(n_samples, *channel_shape)` draws for one observation.
    channels : array_like, complex, shape (n_pairs, *channel_shape)
        Held-out true channels $h_i$ (never seen in training).
    observations : array_like, shape (n_pairs, *obs_shape)
        Their observations $y_i$, as the sampler takes them.
    n_samples : int
        Draws $S \ge 2$ per observation.
    seed : None, int or numpy.random.Generator
        Draws one integer seed per pair (the same pairs and seed give the same numbers).

    Returns
    -------
    CalibrationResult
    """
    H = as_array(channels, "channels", dtype=complex)
    if H.ndim < 2:
        raise ValueError(f"channels must have shape (n_pairs, *channel_shape); got {H.shape}")
    check_finite(H, "channels")
    n_pairs = H.shape[0]
    if len(observations) != n_pairs:
        raise ValueError(
            f"observations must hold one observation per channel ({n_pairs}); got "
            f"{len(observations)}"
        )
    n_samples = check_int(n_samples, "n_samples", minimum=2)
    if not callable(getattr(sampler, "sample", None)):
        raise ValueError(
            "sampler must have a sample(y, n_samples, *, seed=None) method; got "
            f"{type(sampler).__name__}"
        )
    seeds = as_generator(seed).integers(0, 2**31 - 1, size=n_pairs)
    shape = H.shape[1:]
    spread = np.empty(n_pairs)
    error = np.empty(n_pairs)
    first = np.empty(n_pairs)
    for i in range(n_pairs):
        draws = sampler.sample(observations[i], n_samples, seed=int(seeds[i]))
        draws = as_samples(draws, n_samples, channel_shape=shape).reshape(n_samples, -1)
        h = H[i].reshape(-1)
        m = draws.mean(axis=0)
        spread[i] = np.sum(np.abs(draws - m) ** 2) / (n_samples - 1)
        error[i] = np.sum(np.abs(h - m) ** 2)
        first[i] = np.sum(np.abs(h - draws[0]) ** 2)
    power = np.sum(np.abs(H.reshape(n_pairs, -1)) ** 2, axis=1)
    p = power.mean()
    corr = 1.0 + 1.0 / n_samples
    ratio = corr * spread.mean() / error.mean()
    return CalibrationResult(
        ratio=float(ratio),
        ratio_se=corr * _ratio_se(spread, error),
        nmse=float(error.mean() / p),
        nmse_mean=float((error.mean() - spread.mean() / n_samples) / p),
        nmse_se=_ratio_se(error, power),
        one_sample_nmse=float(first.mean() / p),
        spread=readonly(spread),
        error=readonly(error),
        power=readonly(power),
        n_pairs=int(n_pairs),
        n_samples=int(n_samples),
    )
