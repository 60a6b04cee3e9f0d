"""The noise-level row: each drop's pilot noise standard deviation as one more observation row.

A base station knows its noise floor. A model trained on pilots received at many SNRs is
handed that knowledge by [`append_noise_level`][beamopt.score.noise_level.append_noise_level]
(numpy only), and `ScoreConfig(base="gaussian", noise_row=True)` reads it back to condition
its Gaussian base on each drop's own noise variance ([`beamopt.score.gaussian_base`][]).
"""

from __future__ import annotations

import numpy as np

from .._validation import as_array

__all__ = ["append_noise_level", "check_noise_row"]


def append_noise_level(observations, noise_var) -> np.ndarray:
    r"""Observations with one more row holding each drop's noise standard deviation.

    The input of a noise-aware model (`ScoreConfig(noise_row=True)`): a base station knows
    its noise floor, so the model is handed $\sigma_i = \sqrt{v_i}$ instead of inferring it
    from the pilots.

    Parameters
    ----------
    observations : array_like, complex, shape (n, *rows, n_entries) or (n, n_entries)
        Pilots per drop; the rows are flattened to one axis, and a 1-D observation per drop
        is one row.
    noise_var : float or array_like, shape (n,)
        Noise variance $v_i > 0$ per complex pilot entry of each drop.

    Returns
    -------
    numpy.ndarray, complex, shape (n, n_rows + 1, n_entries)
        The pilots (rows flattened to one axis) and a last row of $\sigma_i$ in every entry.
    """
    Y = as_array(observations, "observations", dtype=complex)
    if Y.ndim < 2:
        raise ValueError(
            f"observations must have shape (n, *rows, n_entries) with at least 2 axes; "
            f"got {Y.shape}"
        )
    Y = Y.reshape(Y.shape[0], -1, Y.shape[-1])
    v = np.broadcast_to(as_array(noise_var, "noise_var", dtype=float), (Y.shape[0],))
    if not np.all(v > 0):
        raise ValueError(f"noise_var must be > 0 for every drop; got min {float(v.min())}")
    row = np.broadcast_to(np.sqrt(v)[:, None, None], (Y.shape[0], 1, Y.shape[-1]))
    return np.concatenate([Y, row.astype(Y.dtype)], axis=1)


def check_noise_row(obs: np.ndarray) -> None:
    """The last row of `obs` (n, *obs_shape) must hold one real sigma_i > 0 per drop."""
    if obs.ndim < 3 or obs.shape[-2] < 2:
        raise ValueError(
            "noise_row=True needs observations of shape (n, n_rows >= 2, n_entries) whose last "
            f"row holds the noise standard deviation (append_noise_level); got {obs.shape}"
        )
    row = obs[..., -1, :].reshape(len(obs), -1)
    sd = row[:, :1].real
    bad = ~((np.abs(row - sd) <= 1e-6 * np.abs(sd)).all(axis=1) & (sd[:, 0] > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            "noise_row=True: observations[:, -1] must hold each drop's noise standard "
            f"deviation sigma_i > 0 in every entry (append_noise_level); drop {i} holds "
            f"{row[i, :3]}"
        )
