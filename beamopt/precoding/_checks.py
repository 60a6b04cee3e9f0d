"""Shape and orthonormality checks shared by the precoders and the spectral efficiency."""

from __future__ import annotations

import numpy as np

from .._validation import as_array, check_int

#: Gramian eigenvalues below this fraction of the largest count as zero (rank).
RANK_RTOL = 1e-12
#: Allowed deviation of ``F^H F`` from the identity.
ORTHONORMAL_ATOL = 1e-6


def channel_samples(H, name: str = "H") -> np.ndarray:
    """Validate samples, shape (n_samples, n_rx, n_tx) or (n_samples, n_sc, n_rx, n_tx).

    Samples come first, exactly as a [`beamopt.PosteriorSampler`][] returns them.
    """
    H = as_array(H, name, dtype=complex)
    if H.ndim not in (3, 4) or H.size == 0:
        raise ValueError(
            f"{name} must have shape (n_samples, n_rx, n_tx) or "
            f"(n_samples, n_subcarriers, n_rx, n_tx) with no empty axis; got {H.shape}"
        )
    return H


def check_subcarrier_precoder(F: np.ndarray, H: np.ndarray, name: str = "F") -> None:
    """A per-subcarrier `F` (n_sc, n_tx, n_s) needs `H` of shape (n_samples, n_sc, ...).

    The old subcarrier-first sample order is refused with the transpose that fixes it.
    """
    if H.ndim == 4 and F.shape[0] == H.shape[1]:
        return
    if H.ndim == 4 and F.shape[0] == H.shape[0]:
        raise ValueError(
            f"a per-subcarrier {name} of shape {F.shape} needs H of shape (n_samples, "
            f"{F.shape[0]}, n_rx, n_tx) (samples first); got {H.shape}, which looks like the old "
            "(n_subcarriers, n_samples, n_rx, n_tx) order: pass np.swapaxes(H, 0, 1)"
        )
    raise ValueError(
        f"a per-subcarrier {name} of shape {F.shape} needs H of shape "
        f"(n_samples, {F.shape[0]}, n_rx, n_tx); got {H.shape}"
    )


def check_precoder(F, n_tx: int, name: str = "F") -> np.ndarray:
    """Validate a precoder of shape (..., n_tx, n_streams) with orthonormal columns."""
    F = as_array(F, name, dtype=complex, ndim=(2, 3))
    if F.shape[-2] != n_tx or F.shape[-1] < 1:
        raise ValueError(f"{name} must have shape (..., {n_tx}, n_streams); got {F.shape}")
    gram = np.swapaxes(F.conj(), -1, -2) @ F
    err = float(np.max(np.abs(gram - np.eye(F.shape[-1]))))
    if err > ORTHONORMAL_ATOL:
        raise ValueError(f"{name} must have orthonormal columns (F^H F = I); max error {err:.3g}")
    return F


def check_streams(n_streams, n_tx: int) -> int:
    n_streams = check_int(n_streams, "n_streams")
    if n_streams > n_tx:
        raise ValueError(f"n_streams must be in [1, n_tx={n_tx}]; got {n_streams}")
    return n_streams
