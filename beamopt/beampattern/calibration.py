r"""How well a (learned) dictionary matches the true steering vectors of an array.

Per grid angle the normalised correlation

$$
c_i = \frac{|\hat a_i^H a(\theta_i)|}{\|\hat a_i\|\,\|a(\theta_i)\|} \in [0, 1]
$$

between the dictionary column $\hat a_i$ and the true steering vector: 1 when the column is
the true steering vector up to a complex scale. A dictionary learned end to end on an
impaired array is a calibration of that array; this measures how good a one.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_array
from .array_model import steering_matrix

__all__ = ["dictionary_correlation"]


def dictionary_correlation(dictionary, grid, positions) -> np.ndarray:
    """Normalised correlation of each dictionary column with the true steering vector.

    Parameters
    ----------
    dictionary : array_like, shape (K, n_grid), complex
    grid : array_like, shape (n_grid,)
        Grid angles (radians) of the columns.
    positions : array_like, shape (K,)
        True element positions in wavelengths.

    Returns
    -------
    ndarray, shape (n_grid,), values in [0, 1]
    """
    D = as_array(dictionary, "dictionary", dtype=complex, ndim=2)
    grid = as_array(grid, "grid", dtype=float, ndim=1)
    if D.shape[1] != grid.size:
        raise ValueError(f"dictionary must have {grid.size} columns; got {D.shape[1]}")
    A = steering_matrix(grid, positions)
    if A.shape[0] != D.shape[0]:
        raise ValueError(
            f"positions has {A.shape[0]} elements but dictionary has {D.shape[0]} rows"
        )
    num = np.abs(np.sum(D.conj() * A, axis=0))
    den = np.linalg.norm(D, axis=0) * np.linalg.norm(A, axis=0)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
