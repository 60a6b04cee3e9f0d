"""Large-scale path loss and small-scale Rician channels for the BS-CU link."""

from __future__ import annotations

import numpy as np

from .._validation import as_array, as_generator, check_int, check_nonnegative, check_positive
from ..arrays import steering_vector
from ..units import db_to_linear

__all__ = ["path_loss", "rician_channel"]


def path_loss(distance, exponent: float = 2.5, *, c0_db: float = -30.0, d0: float = 1.0):
    r"""Power gain of the distance-dependent path loss.

    $$
    \mathrm{PL}(d) = C_0 \left(\frac{d}{d_0}\right)^{-\kappa}
    $$

    Parameters
    ----------
    distance : float or array_like
        Link distance(s) in metres, > 0.
    exponent : float
        Path-loss exponent $\kappa$ (> 0; 2 is free space).
    c0_db : float
        Path loss $C_0$ at the reference distance, in dB (default -30 dB).
    d0 : float
        Reference distance in metres (default 1 m).

    Returns
    -------
    float or ndarray
        Linear power gain, same shape as `distance`.
    """
    d = as_array(distance, "distance", dtype=float)
    if np.any(d <= 0):
        raise ValueError("distance must be > 0 metres")
    exponent = check_positive(exponent, "exponent")
    d0 = check_positive(d0, "d0")
    gain = db_to_linear(c0_db) * (d / d0) ** (-exponent)
    return float(gain) if gain.ndim == 0 else gain


def rician_channel(
    n_tx: int,
    angle,
    *,
    k_factor: float = 1.0,
    gain: float = 1.0,
    size=None,
    rng=None,
) -> np.ndarray:
    r"""Sample Rician MISO channels with a LoS steering component.

    $$
    h = \sqrt{\beta}\left(\sqrt{\tfrac{K}{K+1}}\, a(\vartheta)
        + \sqrt{\tfrac{1}{K+1}}\, h_{\mathrm{NLoS}}\right),
    \qquad h_{\mathrm{NLoS}} \sim \mathcal{CN}(0, I)
    $$

    Parameters
    ----------
    n_tx : int
        Transmit antennas.
    angle : float or array_like, shape (n_users,)
        LoS angle(s) of departure towards the user(s), radians. An array gives
        one channel per user.
    k_factor : float
        Rician factor $K$ (linear, >= 0; 0 is Rayleigh).
    gain : float or array_like, shape (n_users,)
        Large-scale power gain $\beta$ (e.g. from [`path_loss`][beamopt.path_loss]).
    size : int or tuple of int, optional
        Leading batch shape of independent draws.
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray, shape (*size, n_tx) or (*size, n_users, n_tx), complex128
        The conjugate-free channel `h` with received signal `h^H x`.
    """
    n_tx = check_int(n_tx, "n_tx")
    k = check_nonnegative(k_factor, "k_factor")
    angle = as_array(angle, "angle", dtype=float, ndim=(0, 1))
    beta = as_array(gain, "gain", dtype=float)
    if np.any(beta <= 0):
        raise ValueError("gain must be > 0")
    rng = as_generator(rng)
    size = () if size is None else tuple(np.atleast_1d(size))
    shape = (*size, *angle.shape, n_tx)
    nlos = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)
    los = steering_vector(n_tx, angle)
    h = np.sqrt(k / (k + 1.0)) * los + np.sqrt(1.0 / (k + 1.0)) * nlos
    return np.sqrt(beta)[..., None] * h
