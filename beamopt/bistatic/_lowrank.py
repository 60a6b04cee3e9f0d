r"""Low-rank transmit designs: covariances kept as factors $M = V V^H$.

The optimal bistatic designs live in $\mathrm{span}\{a, h_1, \dots, h_K\}$, so a
covariance of rank $r \ll N_t$ is stored as its factor $V$ of shape
`(..., n_tx, r)`. Every metric the solvers report is a quadratic form
$x^H V V^H x = \|V^H x\|^2$, which costs $O(N_t r)$ per design instead of the
$O(N_t^2)$ of a dense matrix (and $O(N_t^3)$ for a PSD check). Dense matrices are
formed only when a user asks for them (`dense`).

Factors built here come from the solvers themselves and are PSD by construction,
so nothing in this module validates its input: public functions check what users
pass in, internal code paths call these helpers on their own output.

Every reduction is written as an elementwise product and a sum (no `matmul`, no
BLAS call), so batched evaluation does not depend on the BLAS thread count.
"""

from __future__ import annotations

import numpy as np

from .crb import crb_from_gains

__all__ = ["quad", "dense", "from_dense", "from_vector", "metrics"]


def quad(x: np.ndarray, V: np.ndarray) -> np.ndarray:
    r"""$x^H V V^H x = \sum_r |x^H v_r|^2$ for a vector `x` of shape (n_tx,).

    `V` has shape (..., n_tx, r); returns shape (...), real and non-negative.
    """
    proj = (x.conj()[:, None] * V).sum(axis=-2)  # x^H V, shape (..., r)
    return (proj.real**2 + proj.imag**2).sum(axis=-1)


def dense(V: np.ndarray) -> np.ndarray:
    """The covariance $V V^H$, shape (..., n_tx, n_tx), complex (formed on request)."""
    out = np.einsum("...ir,...jr->...ij", V, V.conj())
    out.setflags(write=False)
    return out


def from_vector(v: np.ndarray) -> np.ndarray:
    """Rank-one factor of $v v^H$: shape (..., n_tx) -> (..., n_tx, 1)."""
    return np.asarray(v, dtype=complex)[..., None]


def from_dense(M: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    r"""Factor a stack of PSD matrices built by a solver, $M \approx V V^H$.

    Eigenvalues below `rtol` times the largest one of the whole stack are dropped (round-off
    and the slightly negative eigenvalues an interior-point solver leaves); the factor has the
    largest numerical rank of the stack, padded with zero columns. Shape (..., n, n) ->
    (..., n, r).
    """
    M = np.asarray(M, dtype=complex)
    if M.size == 0:
        return np.zeros((*M.shape[:-1], 0), dtype=complex)
    lam, U = np.linalg.eigh(0.5 * (M + np.conj(np.swapaxes(M, -1, -2))))
    floor = rtol * max(float(np.max(lam, initial=0.0)), np.finfo(float).tiny)
    lam = np.where(lam > floor, lam, 0.0)
    keep = np.any(lam > 0, axis=tuple(range(lam.ndim - 1)))
    return U[..., keep] * np.sqrt(lam[..., keep])[..., None, :]


def metrics(scenario, VW: np.ndarray, VR: np.ndarray, signal: str):
    r"""DoA CRB and SINR of one-user designs given as factors (no argument checks).

    `VW`, `VR` of shape (..., n_tx, r) are the factors of the information covariance
    (summed over users' streams) and of the deterministic sample covariance. With
    $c_W = a^H W a$, $c_S = a^H R_s a$ the CRB is
    `crb_from_gains` under `signal`'s model
    (`"gaussian"` ignores $R_s$ in the CRB), and the SINR is
    $h^H W h / (h^H R_s h + \sigma_c^2)$.

    Returns
    -------
    crb, sinr : ndarray, shape (...)
    """
    a, h = scenario.a, scenario.channels[0]
    cW = quad(a, VW)
    cS = quad(a, VR) if signal == "superposition" else np.zeros_like(cW)
    crb = np.atleast_1d(crb_from_gains(scenario, cW, cS, known_realizations=signal == "known"))
    sinr = quad(h, VW) / (quad(h, VR) + scenario.comm_noise_power)
    return crb.reshape(cW.shape), sinr
