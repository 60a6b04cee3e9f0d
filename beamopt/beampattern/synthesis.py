r"""Least-squares beampattern synthesis and the ISAC trade-off beam.

Given the steering matrix $A = [a(\theta_1), \dots, a(\theta_{N_{grid}})] \in
\mathbb C^{K \times N_{grid}}$ on an angular grid and a desired pattern $b$, the LS beam
(Model-Driven End-to-End Learning for Integrated Sensing and Communication, eq. (4)) is

$$
x = \arg\min_x \|b - A^\top x\|_2^2 = (A^* A^\top)^{-1} A^* b,
$$

computed here by a least-squares solve (never an explicit inverse) and scaled to
$\|x\|^2 = E_{tx}$. A radar beam $x_r$ and a communication beam $x_c$ are mixed into the
ISAC beam of eq. (5):

$$
v(\rho, \varphi) = \sqrt{E_{tx}}\,
\frac{\sqrt\rho\, x_r + \sqrt{1-\rho}\, e^{j\varphi} x_c}
{\|\sqrt\rho\, x_r + \sqrt{1-\rho}\, e^{j\varphi} x_c\|}.
$$

The radiated beampattern of a beam $x$ is $|a(\theta)^\top x|^2$.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_array, check_int, check_positive, check_unit_interval
from .array_model import ideal_positions, steering_matrix
from .sectors import angle_grid, desired_pattern

__all__ = ["ls_beam", "sector_beam", "mix_beams", "beampattern"]


def ls_beam(A, b, energy: float = 1.0) -> np.ndarray:
    r"""LS beam $x = \arg\min \|b - A^\top x\|$ normalised to $\|x\|^2 = E_{tx}$, batched over $b$.

    Parameters
    ----------
    A : array_like, shape (K, n_grid), complex
        Steering (dictionary) matrix, one column per grid angle.
    b : array_like, shape (..., n_grid)
        Desired pattern(s), e.g. [`desired_pattern`][beamopt.beampattern.desired_pattern].
    energy : float
        Energy budget $E_{tx} > 0$.

    Returns
    -------
    ndarray, shape (..., K), complex
    """
    A = as_array(A, "A", dtype=complex, ndim=2)
    b = as_array(b, "b", dtype=complex)
    energy = check_positive(energy, "energy")
    if b.ndim == 0 or b.shape[-1] != A.shape[1]:
        raise ValueError(f"b must have shape (..., {A.shape[1]}) to match A; got {b.shape}")
    flat = b.reshape(-1, A.shape[1])
    x, *_ = np.linalg.lstsq(A.T, flat.T, rcond=None)  # (K, n_batch)
    x = x.T.reshape(*b.shape[:-1], A.shape[0])
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("b is orthogonal to every beam A^T x (zero LS beam); check b and A")
    return np.sqrt(energy) * x / norm


def sector_beam(
    sector_deg, n_tx: int | None = None, *, n_grid: int = 500, energy: float = 1.0, positions=None
) -> np.ndarray:
    r"""LS beam towards a sector (or a stack of sectors) with the model array.

    Parameters
    ----------
    sector_deg : array_like, shape (..., 2)
        Sector(s) in degrees.
    n_tx : int, optional
        Number of antennas $K$: 16 when neither it nor `positions` is given; when both are
        given they must agree.
    n_grid : int
        Grid size over $[-90^\circ, 90^\circ]$.
    energy : float
        Energy budget.
    positions : array_like, shape (K,), optional
        Element positions in wavelengths; the ideal half-wavelength ULA when omitted.

    Returns
    -------
    ndarray, shape (..., K), complex
    """
    if positions is None:
        positions = ideal_positions(16 if n_tx is None else n_tx)
    else:
        positions = as_array(positions, "positions", dtype=float, ndim=1)
        if n_tx is not None and check_int(n_tx, "n_tx") != positions.size:
            raise ValueError(
                f"n_tx={n_tx} but positions has {positions.size} elements; give one of them "
                "or make them agree"
            )
    grid = angle_grid(n_grid)
    return ls_beam(steering_matrix(grid, positions), desired_pattern(grid, sector_deg), energy)


def mix_beams(x_radar, x_comm, rho, phi: float = 0.0, energy: float = 1.0) -> np.ndarray:
    r"""ISAC beam $v(\rho, \varphi)$ of eq. (5), batched over `rho`.

    Parameters
    ----------
    x_radar, x_comm : array_like, shape (K,)
        Radar and communication beams.
    rho : float or array_like, shape (n_rho,)
        Trade-off in $[0, 1]$: 1 is the pure radar beam, 0 the pure communication beam.
    phi : float
        Relative phase $\varphi$ in radians.
    energy : float
        Energy budget $E_{tx} > 0$; every output has $\|v\|^2 = E_{tx}$.

    Returns
    -------
    ndarray, shape rho.shape + (K,), complex
    """
    xr = as_array(x_radar, "x_radar", dtype=complex, ndim=1)
    xc = as_array(x_comm, "x_comm", dtype=complex, ndim=1)
    if xr.shape != xc.shape:
        raise ValueError(f"x_radar and x_comm must have the same shape; got {xr.shape}, {xc.shape}")
    rho = check_unit_interval(rho, "rho")
    phi = float(as_array(phi, "phi", dtype=float, ndim=0))
    energy = check_positive(energy, "energy")
    v = np.sqrt(rho)[..., None] * xr + (np.sqrt(1 - rho)[..., None] * np.exp(1j * phi)) * xc
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("the beams cancel for this rho and phi (zero mixture); change phi")
    return np.sqrt(energy) * v / norm


def beampattern(x, angles, positions=None) -> np.ndarray:
    r"""Radiated power $|a(\theta)^\top x|^2$ of beam(s) `x` at `angles` (radians).

    Parameters
    ----------
    x : array_like, shape (..., K)
    angles : array_like, shape (n_angles,)
    positions : array_like, shape (K,), optional
        Element positions in wavelengths; the ideal ULA when omitted.

    Returns
    -------
    ndarray, shape (..., n_angles)
    """
    x = as_array(x, "x", dtype=complex)
    if x.ndim == 0:
        raise ValueError("x must have shape (..., K)")
    positions = ideal_positions(check_int(x.shape[-1], "K")) if positions is None else positions
    A = steering_matrix(np.atleast_1d(as_array(angles, "angles", dtype=float)), positions)
    if A.shape[0] != x.shape[-1]:
        raise ValueError(f"positions has {A.shape[0]} elements but x has {x.shape[-1]}")
    return np.abs(x @ A) ** 2
