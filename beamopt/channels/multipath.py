r"""Sparse geometric multipath channels of uniform linear arrays (numpy; no sionna needed).

A few-path wideband MIMO channel, the kind a user brings from a ray tracer or a measurement,

$$
H_n = \frac{1}{\sqrt{L}} \sum_{\ell=1}^{L} g_\ell\, a_{rx}(\phi_\ell)\, a_{tx}(\theta_\ell)^H\,
e^{-j 2\pi n \tau_\ell / N}, \qquad n = 0, \dots, N - 1,
$$

with $g_\ell \sim \mathcal{CN}(0, 1)$, angles of departure and arrival uniform in
`angle_range_deg`, delays $\tau_\ell$ uniform in $[0, \tau_{\max}]$ (in samples of the OFDM
symbol, $1 / (N \Delta f)$) and half-wavelength ULA steering vectors
$a(\theta)_k = e^{j\pi k \sin\theta}$ (unit-modulus entries, so every entry has unit mean
power). Its entries are strongly structured (rank $\le L$ per subcarrier, $5L$ real parameters
in all) while its covariance is nearly white: a linear estimator sees little of that structure,
a learned prior can use all of it.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_generator, check_int, check_nonnegative

__all__ = ["multipath_channels"]


def multipath_channels(
    n_samples: int,
    *,
    n_paths: int = 3,
    n_subcarriers: int = 8,
    n_rx: int = 2,
    n_tx: int = 8,
    max_delay: float = 2.0,
    angle_range_deg=(-60.0, 60.0),
    rng=None,
) -> np.ndarray:
    r"""Draw sparse multipath ULA channels (see the module text).

    Parameters
    ----------
    n_samples : int
        Independent drops.
    n_paths : int
        Paths $L$ per drop.
    n_subcarriers, n_rx, n_tx : int
        $N$ subcarriers, receive and transmit antennas.
    max_delay : float
        $\tau_{\max}$ in samples of the OFDM symbol ($\ge 0$; 0 gives a flat channel).
    angle_range_deg : tuple of float
        Range of the angles of departure and arrival, degrees, inside (-90, 90).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ndarray, complex128, shape (n_samples, n_subcarriers, n_rx, n_tx)
    """
    n_samples = check_int(n_samples, "n_samples")
    n_paths = check_int(n_paths, "n_paths")
    n_sc = check_int(n_subcarriers, "n_subcarriers")
    n_rx = check_int(n_rx, "n_rx")
    n_tx = check_int(n_tx, "n_tx")
    max_delay = check_nonnegative(max_delay, "max_delay")
    lo, hi = (float(v) for v in angle_range_deg)
    if not -90.0 < lo <= hi < 90.0:
        raise ValueError(
            f"angle_range_deg must satisfy -90 < low <= high < 90; got {angle_range_deg}"
        )
    gen = as_generator(rng)
    shape = (n_samples, n_paths)
    gain = (gen.standard_normal(shape) + 1j * gen.standard_normal(shape)) / np.sqrt(2 * n_paths)
    aod = np.deg2rad(gen.uniform(lo, hi, shape))
    aoa = np.deg2rad(gen.uniform(lo, hi, shape))
    tau = gen.uniform(0.0, max_delay, shape)
    a_tx = np.exp(1j * np.pi * np.arange(n_tx) * np.sin(aod)[..., None])  # (n, L, n_tx)
    a_rx = np.exp(1j * np.pi * np.arange(n_rx) * np.sin(aoa)[..., None])  # (n, L, n_rx)
    ramp = np.exp(-2j * np.pi * np.arange(n_sc) * tau[..., None] / n_sc)  # (n, L, N)
    # sum over paths of gain * ramp_n * a_rx a_tx^H, one einsum (no per-path loop)
    return np.einsum("sl,sln,slr,slt->snrt", gain, ramp, a_rx, a_tx.conj(), optimize=True)
