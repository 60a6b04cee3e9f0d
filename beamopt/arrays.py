r"""Uniform linear array steering vectors.

Half-wavelength ULA with the phase reference at the array midpoint:

$$
a(\phi)_n = \exp\left(j \pi \left(n - \tfrac{N-1}{2}\right) \sin\phi\right),
\qquad n = 0, \dots, N-1.
$$

The midpoint reference makes $a^H \partial a / \partial\phi = 0$, which is
what decouples the DoA from the channel gain in the Fisher information.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, check_int

__all__ = ["steering_vector", "steering_vector_derivative", "element_positions"]


def element_positions(n: int) -> np.ndarray:
    """Element indices relative to the array midpoint, `n - (N-1)/2`, shape (n,)."""
    n = check_int(n, "n")
    return np.arange(n) - (n - 1) / 2.0


def steering_vector(n: int, angle) -> np.ndarray:
    r"""Steering vector of an `n`-element half-wavelength ULA.

    Parameters
    ----------
    n : int
        Number of array elements (>= 1).
    angle : float or array_like, shape (...)
        Angle(s) from broadside, in radians.

    Returns
    -------
    ndarray, shape (..., n), complex128
        $a(\phi)_k = e^{j\pi (k-(n-1)/2)\sin\phi}$; `||a|| = sqrt(n)`.

    Examples
    --------
    >>> import numpy as np, beamopt
    >>> a = beamopt.steering_vector(4, np.deg2rad(30.0))
    >>> np.allclose(np.vdot(a, a).real, 4)
    True
    """
    pos = element_positions(n)
    angle = as_array(angle, "angle", dtype=float)
    return np.exp(1j * np.pi * np.sin(angle)[..., None] * pos)


def steering_vector_derivative(n: int, angle) -> np.ndarray:
    r"""Derivative of [`steering_vector`][beamopt.steering_vector] with respect to the angle.

    $$
    \frac{\partial a_k}{\partial\phi}
    = j\pi\left(k-\tfrac{n-1}{2}\right)\cos\phi\,a_k,
    \qquad \left\|\frac{\partial a}{\partial\phi}\right\|^2
    = \frac{\pi^2\cos^2\phi\, n(n^2-1)}{12}.
    $$

    Parameters
    ----------
    n : int
        Number of array elements.
    angle : float or array_like, shape (...)
        Angle(s) in radians.

    Returns
    -------
    ndarray, shape (..., n), complex128
    """
    pos = element_positions(n)
    angle = as_array(angle, "angle", dtype=float)
    a = np.exp(1j * np.pi * np.sin(angle)[..., None] * pos)
    return 1j * np.pi * np.cos(angle)[..., None] * pos * a
