"""Argument checks shared by the metrics modules (numpy only)."""

from __future__ import annotations

import hashlib

import numpy as np

from .._validation import as_array, check_positive

__all__ = ["as_samples", "as_noise", "as_score_output", "data_fingerprint"]


def as_samples(value, name: str, *, dim: int | None = None, n: int | None = None) -> np.ndarray:
    """Real samples of shape (n_samples, dim) (a 1-D array is n scalar samples), finite."""
    arr = as_array(value, name, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n_samples, dim); got {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n_samples, {dim}); got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must hold {n} samples (one per parameter); got {arr.shape[0]}")
    return arr


def as_noise(value, name: str) -> float:
    """A noise variance or standard deviation: a finite scalar > 0."""
    return check_positive(value, name)


def as_score_output(value, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """What a user's score callable returned: finite, of the expected shape."""
    arr = as_array(value, name, dtype=float)
    if arr.shape != shape:
        raise ValueError(f"{name} must return shape {shape}; got {arr.shape}")
    return arr


def data_fingerprint(*arrays) -> str:
    """A short hash of arrays' shapes and float64 values (None entries skipped): identifies the
    training samples a model saw, so cross-fitting can check it is given the same rows."""
    h = hashlib.sha256()
    for arr in arrays:
        if arr is None:
            continue
        a = np.ascontiguousarray(np.asarray(arr, dtype=float))
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]
