r"""Element positions and steering matrices of ideal and impaired linear arrays.

Positions are in wavelengths and referenced to the array centroid; the steering vector of
an array with positions $p_k$ is

$$
[a(\theta)]_k = \exp\left(j 2\pi p_k \sin\theta\right).
$$

With $p_k = (k - (K-1)/2)/2$ (half-wavelength spacing) this is
[`beamopt.steering_vector`][]. Hardware impairments perturb the spacings as in Model-Driven
End-to-End Learning for Integrated Sensing and Communication: $d_k \sim \mathcal N(\lambda/2,
\sigma^2)$, $k = 0, \dots, K-2$, with $\sigma = \lambda/30$ by default. The monostatic
transmitter and receiver share the one (impaired) array.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_array, as_generator, check_int, check_nonnegative
from ..arrays import element_positions

__all__ = ["ideal_positions", "impaired_positions", "steering_matrix", "beamwidth"]


def ideal_positions(n_tx: int) -> np.ndarray:
    """Half-wavelength ULA positions in wavelengths, centred: `(k - (n_tx-1)/2) / 2`."""
    return element_positions(check_int(n_tx, "n_tx")) / 2.0


def impaired_positions(n_tx: int, rng=None, *, sigma: float = 1 / 30) -> np.ndarray:
    r"""Positions of a ULA whose spacings are $d_k \sim \mathcal N(1/2, \sigma^2)$ wavelengths.

    Parameters
    ----------
    n_tx : int
        Number of elements $K$.
    rng : int or numpy.random.Generator, optional
        Seed of the (single) impairment realisation.
    sigma : float
        Standard deviation of each spacing, in wavelengths (default $1/30$).

    Returns
    -------
    ndarray, shape (n_tx,)
        Centred positions in wavelengths.
    """
    n_tx = check_int(n_tx, "n_tx")
    sigma = check_nonnegative(sigma, "sigma")
    d = 0.5 + sigma * as_generator(rng).standard_normal(n_tx - 1)
    p = np.concatenate([[0.0], np.cumsum(d)])
    return p - p.mean()


def steering_matrix(angles, positions) -> np.ndarray:
    r"""Steering vectors $a(\theta)$ as columns, shape `(K, n_angles)` (`(K,)` for a scalar).

    Parameters
    ----------
    angles : float or array_like, shape (n_angles,)
        Angles in radians.
    positions : array_like, shape (K,)
        Element positions in wavelengths ([`ideal_positions`][beamopt.beampattern.ideal_positions]
        or [`impaired_positions`][beamopt.beampattern.impaired_positions]).
    """
    angles = as_array(angles, "angles", dtype=float)
    positions = as_array(positions, "positions", dtype=float, ndim=1)
    phase = 2j * np.pi * positions[:, None] * np.sin(np.atleast_1d(angles))[None, :]
    out = np.exp(phase)
    return out[:, 0] if angles.ndim == 0 else out


def beamwidth(positions) -> float:
    r"""Half-power beamwidth $1/(\sqrt2\,\pi\,\sigma_p)$ in $u = \sin\theta$ (quadratic beam model).

    For any element positions, the normalised beam around its peak obeys
    $|\tfrac1K \sum_k e^{j2\pi p_k \delta}|^2 \ge 1 - 4\pi^2\sigma_p^2\delta^2$ with
    $\sigma_p^2 = \frac1K \sum_k (p_k - \bar p)^2$; the width where that bound reaches 1/2
    is returned. For the half-wavelength ULA it is about $1.56/K$ (the exact 3 dB width is
    $1.77/K$), so grids built from it are slightly finer than their nominal density.

    Parameters
    ----------
    positions : array_like, shape (K,)
        Element positions in wavelengths.

    Returns
    -------
    float
        Beamwidth in $\sin\theta$ (multiply by $1/\cos\theta$ for radians at angle $\theta$).
    """
    p = as_array(positions, "positions", dtype=float, ndim=1)
    sigma = float(np.std(p))
    if p.size < 2 or sigma == 0:
        raise ValueError(f"positions must hold at least 2 distinct elements; got {p}")
    return 1.0 / (np.sqrt(2.0) * np.pi * sigma)
