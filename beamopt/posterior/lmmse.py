r"""The sample-covariance linear MMSE estimator: the strong simple baseline of learned estimators.

From paired training draws $(h_i, y_i)$ (any observation model, no pilot matrix needed) it
estimates the means and the (circular) covariances and applies the linear MMSE estimator,

$$
\hat h(y) = \hat\mu_h + \hat C_{hy} \big(\hat C_{yy} + \delta I\big)^{-1} (y - \hat\mu_y),
\qquad
\hat C_e = \hat C_{hh} - \hat C_{hy} \big(\hat C_{yy} + \delta I\big)^{-1} \hat C_{yh},
$$

with $\delta$ a small ridge ($10^{-6}$ of the mean observation power by default). It is the
best estimator linear in $y$ for the training distribution, exact (the MMSE estimator) for
jointly Gaussian $(h, y)$. As a sampler it draws from the Gaussian $\mathcal{CN}(\hat h(y),
\hat C_e)$, the posterior of a Gaussian model fitted to the data, so Bayesian precoders and
[`posterior_calibration`][beamopt.posterior.posterior_calibration] can be run on it beside a
learned posterior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .._validation import as_array, as_generator, check_finite, check_int, check_nonnegative
from .gaussian import standard_complex_normal

__all__ = ["LinearMMSE", "fit_lmmse"]


def _paired(channels, observations):
    H = as_array(channels, "channels", dtype=complex)
    Y = as_array(observations, "observations", dtype=complex)
    if H.ndim < 2 or Y.ndim < 2:
        raise ValueError(
            "channels and observations must have shape (n_samples, *channel_shape) and "
            f"(n_samples, *obs_shape); got {H.shape} and {Y.shape}"
        )
    if H.shape[0] != Y.shape[0]:
        raise ValueError(
            f"channels and observations must hold the same number of samples; got "
            f"{H.shape[0]} and {Y.shape[0]}"
        )
    check_finite(H, "channels")
    check_finite(Y, "observations")
    return H, Y


@dataclass(frozen=True, repr=False, eq=False)
class LinearMMSE:
    r"""A fitted sample-covariance LMMSE estimator (see the module text).

    Attributes
    ----------
    mean_h : ndarray, shape (n_h,)
    mean_y : ndarray, shape (n_y,)
    gain : ndarray, shape (n_h, n_y)
        $\hat C_{hy} (\hat C_{yy} + \delta I)^{-1}$.
    error_cov : ndarray, shape (n_h, n_h)
        $\hat C_e$, the estimated error covariance.
    channel_shape, obs_shape : tuple of int
    n_train : int
        Training pairs the covariances were estimated from.
    channel_power : float
        Mean $\|h\|^2$ of the training channels.
    """

    mean_h: np.ndarray
    mean_y: np.ndarray
    gain: np.ndarray
    error_cov: np.ndarray
    channel_shape: tuple
    obs_shape: tuple
    n_train: int
    channel_power: float

    @property
    def nmse_estimate(self) -> float:
        r"""In-sample NMSE $\mathrm{tr}\,\hat C_e / \hat E\|h\|^2$ of the fitted model."""
        power = float(np.real(np.trace(self.error_cov)))
        return power / max(self.channel_power, 1e-300)

    def _check_y(self, y):
        arr = as_array(y, "y", dtype=complex)
        single = arr.shape == self.obs_shape
        if single:
            arr = arr[None]
        if arr.shape[1:] != self.obs_shape:
            raise ValueError(
                f"y must have shape ({', '.join(map(str, self.obs_shape))}) or (B, "
                f"{', '.join(map(str, self.obs_shape))}); got {arr.shape}"
            )
        check_finite(arr, "y")
        return arr.reshape(arr.shape[0], -1), single

    def estimate(self, y) -> np.ndarray:
        r"""$\hat h(y)$ for one observation (shape `obs_shape`) or a batch `(B, *obs_shape)`.

        Returns
        -------
        ndarray, complex128, shape `channel_shape` or `(B, *channel_shape)`
        """
        flat, single = self._check_y(y)
        est = self.mean_h + (flat - self.mean_y) @ self.gain.T
        est = est.reshape(-1, *self.channel_shape)
        return est[0] if single else est

    def sample(self, y, n_samples: int, *, seed=None) -> np.ndarray:
        r"""Draws of $\mathcal{CN}(\hat h(y), \hat C_e)$.

        Parameters
        ----------
        y : array_like, complex, shape `obs_shape` or `(B, *obs_shape)`
        n_samples : int
        seed : None, int or numpy.random.Generator

        Returns
        -------
        ndarray, complex128, shape `(n_samples, *channel_shape)` for one observation,
        `(B, n_samples, *channel_shape)` for a batch
        """
        n_samples = check_int(n_samples, "n_samples")
        flat, single = self._check_y(y)
        mean = self.mean_h + (flat - self.mean_y) @ self.gain.T  # (B, n_h)
        root = self._root()
        z = standard_complex_normal(as_generator(seed), (flat.shape[0], n_samples, root.shape[1]))
        out = (mean[:, None, :] + z @ root.T).reshape(flat.shape[0], n_samples, *self.channel_shape)
        return out[0] if single else out

    def _root(self) -> np.ndarray:
        root = getattr(self, "_cached_root", None)
        if root is None:
            w, V = np.linalg.eigh(self.error_cov)
            root = V * np.sqrt(np.clip(w, 0.0, None))
            object.__setattr__(self, "_cached_root", root)
        return root

    def __repr__(self) -> str:
        return (
            f"LinearMMSE(channel_shape={self.channel_shape}, obs_shape={self.obs_shape}, "
            f"n_train={self.n_train}, nmse_estimate={self.nmse_estimate:.4g})"
        )


def fit_lmmse(channels, observations, *, ridge: float = 1e-6) -> LinearMMSE:
    r"""Fit the sample-covariance LMMSE estimator to paired draws (see the module text).

    Parameters
    ----------
    channels : array_like, complex, shape (n_samples, *channel_shape)
    observations : array_like, complex, shape (n_samples, *obs_shape)
    ridge : float
        $\delta$ relative to the mean observation power per entry, >= 0.

    Returns
    -------
    LinearMMSE
    """
    H, Y = _paired(channels, observations)
    ridge = check_nonnegative(ridge, "ridge")
    n = H.shape[0]
    if n < 2:
        raise ValueError(f"channels must hold at least 2 samples; got {n}")
    h = H.reshape(n, -1)
    y = Y.reshape(n, -1)
    mh, my = h.mean(axis=0), y.mean(axis=0)
    hc, yc = h - mh, y - my
    c_hy = hc.T @ yc.conj() / (n - 1)  # E[(h - mu)(y - mu)^H]
    c_yy = yc.T @ yc.conj() / (n - 1)
    c_hh = hc.T @ hc.conj() / (n - 1)
    delta = ridge * float(np.real(np.trace(c_yy))) / c_yy.shape[0]
    c_yy = c_yy + (delta if delta > 0 else 0.0) * np.eye(c_yy.shape[0])
    try:
        factor = scipy.linalg.cho_factor(c_yy, lower=True)
        gain = scipy.linalg.cho_solve(factor, c_hy.conj().T).conj().T
    except np.linalg.LinAlgError:
        gain = np.linalg.lstsq(c_yy.T, c_hy.T, rcond=None)[0].T
    err = c_hh - gain @ c_hy.conj().T
    err = 0.5 * (err + err.conj().T)
    return LinearMMSE(
        mean_h=mh,
        mean_y=my,
        gain=gain,
        error_cov=err,
        channel_shape=tuple(H.shape[1:]),
        obs_shape=tuple(Y.shape[1:]),
        n_train=n,
        channel_power=float(np.mean(np.sum(np.abs(h) ** 2, axis=1))),
    )
