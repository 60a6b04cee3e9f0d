r"""Communication metrics at the single-antenna users.

User $k$ receives $h_k^H x_t + n_t$ with
$x_t = \sum_j w_{j,t} + s_t$; its SINR treats the other users' streams
and the deterministic sensing signal as interference:

$$
\mathrm{SINR}_k = \frac{h_k^H W_k h_k}
    {\sum_{j\neq k} h_k^H W_j h_k + h_k^H R_s h_k + \sigma_c^2},
\qquad R_k = \log_2(1 + \mathrm{SINR}_k).
$$
"""

from __future__ import annotations

import numpy as np

from .._validation import as_array, check_psd, check_shape_tail
from .scenario import BistaticScenario, check_scenario

__all__ = ["communication_sinr", "communication_rate", "sinr_unchecked"]


def _quad(H: np.ndarray, M: np.ndarray) -> np.ndarray:
    """`h_k^H M h_k` for every user k; M shape (..., n_tx, n_tx) -> (..., n_users)."""
    return np.einsum("ki,...ij,kj->...k", H.conj(), M, H).real


def communication_sinr(scenario: BistaticScenario, W, Rs=None):
    """SINR of every user (linear).

    Parameters
    ----------
    scenario : BistaticScenario
    W : array_like, complex
        Information covariance(s): shape (..., n_tx, n_tx) for a single user,
        or (..., n_users, n_tx, n_tx) with one covariance per user.
    Rs : array_like, shape (..., n_tx, n_tx), optional
        Deterministic sensing covariance (interference at the users).

    Returns
    -------
    float or ndarray, shape (...) for one user, (..., n_users) for several
    """
    H = check_scenario(scenario).channels
    K = scenario.n_users
    W = as_array(W, "W", dtype=complex)
    if K > 1:
        check_shape_tail(W, (K, scenario.n_tx, scenario.n_tx), "W")
    else:
        check_shape_tail(W, (scenario.n_tx, scenario.n_tx), "W")
        W = W[..., None, :, :]
    check_psd(W, "W")
    if Rs is not None:
        Rs = as_array(Rs, "Rs", dtype=complex)
        check_shape_tail(Rs, (scenario.n_tx, scenario.n_tx), "Rs")
        check_psd(Rs, "Rs")
    out = sinr_unchecked(H, W, Rs, scenario.comm_noise_power)
    if K == 1:
        out = out[..., 0]
    return float(out) if np.ndim(out) == 0 else out


def sinr_unchecked(H, W, Rs, comm_noise_power):
    """Per-user SINR without argument checks (for solvers that built W themselves).

    `H` (n_users, n_tx), `W` (..., n_users, n_tx, n_tx), `Rs` (..., n_tx, n_tx)
    or None; returns shape (..., n_users).
    """
    # gains[..., j, k] = h_k^H W_j h_k
    gains = np.einsum("ki,...jil,kl->...jk", H.conj(), W, H).real
    signal = np.diagonal(gains, axis1=-2, axis2=-1)
    interference = gains.sum(axis=-2) - signal + comm_noise_power
    if Rs is not None:
        interference = interference + _quad(H, Rs)
    return signal / interference


def communication_rate(scenario: BistaticScenario, W, Rs=None):
    r"""Achievable rate $\log_2(1+\mathrm{SINR}_k)$ in bit/s/Hz, shaped as
    [`communication_sinr`][beamopt.communication_sinr]."""
    return np.log2(1.0 + np.asarray(communication_sinr(scenario, W, Rs)))[()]
