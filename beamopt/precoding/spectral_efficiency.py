"""Spectral efficiency of a precoder on a set of channels."""

from __future__ import annotations

import numpy as np

from .._validation import check_positive
from ._checks import channel_samples, check_precoder, check_subcarrier_precoder

__all__ = ["spectral_efficiency"]


def spectral_efficiency(H, F, snr) -> np.ndarray:
    r"""Spectral efficiency of precoder `F` on each channel, in bit/s/Hz.

    $$
    \mathrm{SE}(H, F) = \log_2\det\left(I_{n_s}
        + \frac{\rho}{n_s} F^H H^H H F\right)
    $$

    (equal to the `n_rx`-sized form by Sylvester's identity).

    Parameters
    ----------
    H : array_like, shape (n_samples, n_rx, n_tx) or (n_samples, n_subcarriers, n_rx, n_tx), complex
        Channels (true channels or posterior samples), samples first.
    F : array_like, shape (n_tx, n_streams) or (n_subcarriers, n_tx, n_streams), complex
        Precoder(s) with orthonormal columns; a 2-D `F` is used on every
        subcarrier.
    snr : float
        Transmit SNR $\rho$ (linear, > 0): total power over noise power,
        split equally over the streams.

    Returns
    -------
    ndarray, shape (n_samples,) or (n_samples, n_subcarriers), float

    Raises
    ------
    ValueError
        On shape mismatch, non-orthonormal `F`, non-finite input or `snr <= 0`.
    """
    H = channel_samples(H)
    F = check_precoder(F, H.shape[-1])
    if F.ndim == 3:
        check_subcarrier_precoder(F, H)
    snr = check_positive(snr, "snr")
    n_streams = F.shape[-1]
    X = H @ F
    M = np.eye(n_streams) + (snr / n_streams) * (np.swapaxes(X.conj(), -1, -2) @ X)
    _, logdet = np.linalg.slogdet(M)
    return logdet / np.log(2.0)
