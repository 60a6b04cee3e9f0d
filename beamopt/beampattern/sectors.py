r"""Angular grids, prior sectors and the desired sector beampattern.

A sector is a pair `(theta_min, theta_max)` in degrees inside $[-90^\circ, 90^\circ]$;
the desired pattern of Model-Driven End-to-End Learning for Integrated Sensing and
Communication, eq. (3), is one on the grid angles inside the sector and zero elsewhere:

$$
[b]_i = \begin{cases} 1, & \theta_i \in [\theta_{\min}, \theta_{\max}] \\ 0, & \text{otherwise.}
\end{cases}
$$

(The paper writes the in-sector value as $K$; the LS beam is normalised to the energy
budget afterwards, so the level does not matter.)
"""

from __future__ import annotations

import numpy as np

from .._validation import as_array, as_generator, check_int

__all__ = ["angle_grid", "check_sector", "desired_pattern", "random_sectors"]


def angle_grid(n_grid: int) -> np.ndarray:
    r"""Uniform grid of `n_grid` angles over $[-\pi/2, \pi/2]$ (radians, endpoints included)."""
    n_grid = check_int(n_grid, "n_grid", minimum=2)
    return np.linspace(-np.pi / 2, np.pi / 2, n_grid)


def check_sector(sector_deg, name: str = "sector_deg") -> np.ndarray:
    r"""Validate one sector or a stack of sectors, shape `(..., 2)`, in degrees.

    Raises
    ------
    ValueError
        If a sector is empty (`theta_min == theta_max`), reversed
        (`theta_min > theta_max`) or leaves $[-90, 90]$ degrees, or if a single sector lies
        within $\pm\pi/2 \approx \pm 1.571$: that is what a sector given in radians looks
        like (a genuine prior that close to broadside can be widened past $\pm 1.571^\circ$;
        it only has to contain the target).
    """
    s = as_array(sector_deg, name, dtype=float)
    if s.ndim == 0 or s.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (..., 2) = (theta_min, theta_max); got {s.shape}")
    lo, hi = s[..., 0], s[..., 1]
    if np.any(lo > hi):
        raise ValueError(f"{name} is reversed: need theta_min < theta_max; got {s.tolist()}")
    if np.any(lo == hi):
        raise ValueError(f"{name} is empty: need theta_min < theta_max; got {s.tolist()}")
    if np.any(lo < -90.0) or np.any(hi > 90.0):
        raise ValueError(f"{name} must lie within [-90, 90] degrees; got {s.tolist()}")
    if s.ndim == 1 and max(abs(lo), abs(hi)) <= np.pi / 2:
        raise ValueError(
            f"{name}={s.tolist()} lies within ±pi/2 = ±1.571: sectors are in degrees and this "
            "looks like radians (convert with np.rad2deg); a sector of degrees this close to "
            "broadside is refused for that reason, so widen it past ±1.571 degrees"
        )
    return s


def desired_pattern(grid, sector_deg) -> np.ndarray:
    """Desired sector pattern `b` on `grid` (radians), batched over sectors.

    Parameters
    ----------
    grid : array_like, shape (n_grid,)
        Grid angles in radians, e.g. [`angle_grid`][beamopt.beampattern.angle_grid].
    sector_deg : array_like, shape (..., 2)
        Sector(s) `(theta_min, theta_max)` in degrees.

    Returns
    -------
    ndarray, shape (..., n_grid), float
        One inside the sector, zero outside.

    Raises
    ------
    ValueError
        For a bad sector, or a sector that holds no grid angle.
    """
    grid = as_array(grid, "grid", dtype=float, ndim=1)
    s = np.deg2rad(check_sector(sector_deg))
    # a hair of slack so sector edges that sit on grid points count as inside
    tol = 1e-12
    b = (grid >= s[..., :1] - tol) & (grid <= s[..., 1:] + tol)
    if np.any(~b.any(axis=-1)):
        raise ValueError("sector_deg contains no grid angle; use a finer grid or a wider sector")
    return b.astype(float)


def random_sectors(n: int, rng=None, *, mean_deg=(-60.0, 60.0), span_deg=(10.0, 20.0)):
    r"""Random training sectors: mean $\sim U[\text{mean\_deg}]$, span $\sim U[\text{span\_deg}]$.

    Returns
    -------
    ndarray, shape (n, 2)
        Sectors `(mean - span/2, mean + span/2)` in degrees, clipped to $[-90, 90]$.
    """
    n = check_int(n, "n")
    rng = as_generator(rng)
    mean = rng.uniform(*mean_deg, size=n)
    span = rng.uniform(*span_deg, size=n)
    return np.clip(np.stack([mean - span / 2, mean + span / 2], axis=-1), -90.0, 90.0)
