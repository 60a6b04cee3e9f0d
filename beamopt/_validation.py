"""Argument checking shared by every public function.

Every check raises `ValueError` naming the argument and the allowed
range, so that bad input never turns into a silent NaN further down.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_array",
    "check_finite",
    "check_real",
    "check_positive",
    "check_nonnegative",
    "check_int",
    "check_psd",
    "as_covariance",
    "check_shape_tail",
    "as_generator",
    "check_choice",
    "check_unit_interval",
    "readonly",
]


def as_array(value, name: str, *, dtype=None, ndim=None) -> np.ndarray:
    """Convert `value` to an ndarray that is finite (torch tensors accepted)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor without importing torch
        value = value.detach().cpu().numpy()
    # numpy turns '30' into 30.0 under dtype=float; a string is never a number here
    if isinstance(value, str | bytes) or (
        not isinstance(value, np.ndarray) and np.asarray(value).dtype.kind in "USV"
    ):
        raise ValueError(f"{name} must be a number or an array of numbers, not text; got {value!r}")
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be array-like of numbers; got {type(value).__name__}"
        ) from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"{name} must be numeric; got dtype {arr.dtype}")
    if ndim is not None and arr.ndim not in np.atleast_1d(ndim):
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {arr.shape}")
    check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")


def _real_scalar(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray):
        if not (hasattr(value, "__float__") and not isinstance(value, complex)):
            raise ValueError(f"{name} must be a real number; got {value!r}")
    arr = np.asarray(value)
    if arr.ndim != 0 or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be a real scalar; got {value!r}")
    out = float(arr)
    if not np.isfinite(out):
        raise ValueError(f"{name} must be finite; got {out}")
    return out


def check_real(value, name: str, unit: str, *, lower=None, upper=None) -> float:
    """Return `value` as a float: a real number (not text, not a bool) in `(lower, upper)`.

    `unit` (e.g. `"dBm"`, `"m"`, `"degrees"`) is named in every message; open bounds
    that are None are not checked.
    """
    try:
        if isinstance(value, bool | np.bool_):
            raise ValueError
        out = _real_scalar(value, name)
    except ValueError:
        raise ValueError(f"{name} must be a real number in {unit}; got {value!r}") from None
    if lower is not None and upper is not None and not lower < out < upper:
        raise ValueError(f"{name} must lie in ({lower:g}, {upper:g}) {unit}; got {out:g}")
    if lower is not None and upper is None and not out > lower:
        raise ValueError(f"{name} must be > {lower:g} {unit}; got {out:g}")
    return out


def check_positive(value, name: str) -> float:
    """Return `value` as a float, requiring `0 < value < inf`."""
    out = _real_scalar(value, name)
    if out <= 0:
        raise ValueError(f"{name} must be > 0; got {out}")
    return out


def check_nonnegative(value, name: str) -> float:
    """Return `value` as a float, requiring `0 <= value < inf`."""
    out = _real_scalar(value, name)
    if out < 0:
        raise ValueError(f"{name} must be >= 0; got {out}")
    return out


def check_int(value, name: str, *, minimum: int = 1) -> int:
    """Return `value` as an int, requiring an integer `>= minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def check_shape_tail(arr: np.ndarray, tail: tuple[int, ...], name: str) -> None:
    """Require `arr.shape[-len(tail):] == tail`."""
    if arr.ndim < len(tail) or tuple(arr.shape[arr.ndim - len(tail) :]) != tuple(tail):
        want = ", ".join(str(t) for t in tail)
        raise ValueError(f"{name} must have shape (..., {want}); got {arr.shape}")


def check_psd(M: np.ndarray, name: str, *, rtol: float = 1e-9) -> None:
    """Require a batch of Hermitian positive semidefinite matrices.

    Tolerances are relative to the largest entry so that covariances in watts
    and in milliwatts are judged alike.
    """
    scale = max(float(np.max(np.abs(M), initial=0.0)), np.finfo(float).tiny)
    herm_err = np.max(np.abs(M - np.conj(np.swapaxes(M, -1, -2))), initial=0.0)
    if herm_err > rtol * scale * 10:
        raise ValueError(f"{name} must be Hermitian; max |M - M^H| = {herm_err:.3g}")
    Mh = 0.5 * (M + np.conj(np.swapaxes(M, -1, -2)))
    lam_min = float(np.min(np.linalg.eigvalsh(Mh), initial=np.inf))
    if lam_min < -np.sqrt(rtol) * scale * M.shape[-1]:
        raise ValueError(
            f"{name} must be positive semidefinite; smallest eigenvalue is {lam_min:.3g}"
        )


def as_covariance(M, name: str, n: int, *, batched: bool = True) -> np.ndarray:
    """Validate Hermitian PSD matrices of shape (..., n, n) (or exactly (n, n)).

    Returns the Hermitian part as complex128, so round-off asymmetry never
    propagates.
    """
    M = as_array(M, name, dtype=complex)
    check_shape_tail(M, (n, n), name)
    if not batched and M.ndim != 2:
        raise ValueError(f"{name} must have shape ({n}, {n}); got {M.shape}")
    check_psd(M, name)
    return 0.5 * (M + np.conj(np.swapaxes(M, -1, -2)))


def check_choice(value, name: str, allowed) -> str:
    """Require `value` to be one of `allowed` (e.g. a `method=` string)."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}; got {value!r}")
    return value


def check_unit_interval(value, name: str) -> np.ndarray:
    """Return `value` as a float array with every entry in [0, 1]."""
    f = as_array(value, name, dtype=float)
    if np.any((f < 0) | (f > 1)):
        raise ValueError(f"{name} must lie in [0, 1]; got values in [{f.min()}, {f.max()}]")
    return f


def readonly(arr) -> np.ndarray:
    """A read-only copy of `arr` (frozen dataclasses must not expose mutable arrays)."""
    arr = np.array(arr, copy=True)
    arr.setflags(write=False)
    return arr


def as_generator(rng) -> np.random.Generator:
    """Accept `None`, an int seed or a `numpy.random.Generator`."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, numbers.Integral | np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be None, an int seed or a numpy.random.Generator; got {rng!r}")
