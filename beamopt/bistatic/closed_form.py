r"""Closed-form optimal transmit designs (vectorised over batches of channels).

* Sensing only, any signal model: maximum-ratio transmission toward the target,
  $R = (P/N_t)\, a a^H$, the CRB-rate paper's eqs. (31) and (55).
* Gaussian-only (or known-realisation) signalling with an SNR target, the CRB-rate paper's
  Proposition 1: maximise $a^H W a$ subject to
  $h^H W h \ge \gamma\sigma_c^2$, $\mathrm{tr}\,W \le P$. The
  optimum is rank one, $W = w w^H$, in span{a, h}:

  $$
  w = \begin{cases}
      \sqrt{P/N_t}\, a & \text{if } P|h^H a|^2/N_t \ge \gamma\sigma_c^2, \\
      \sqrt{p_1}\, e^{j\angle(u_1^H a)} u_1
      + \sqrt{P - p_1}\, e^{j\angle(u_2^H a)} u_2 & \text{otherwise,}
  \end{cases}
  $$

  with $u_1 = h/\|h\|$, $u_2$ the unit component of $a$
  orthogonal to $h$ and $p_1 = \gamma\sigma_c^2/\|h\|^2$. The
  target is infeasible when $\gamma\sigma_c^2 > P\|h\|^2$.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_array, check_positive
from ..errors import InfeasibleError

__all__ = ["mrt_covariance", "gaussian_isac_beamformer", "isac_beamformer_unchecked"]


def mrt_covariance(a, power: float) -> np.ndarray:
    r"""Maximum-ratio transmit covariance $P\, a a^H / \|a\|^2$.

    Parameters
    ----------
    a : array_like, shape (..., n_tx), complex
        Steering vector(s) toward the target.
    power : float
        Transmit power budget $P$ (W).

    Returns
    -------
    ndarray, shape (..., n_tx, n_tx), complex
    """
    a = as_array(a, "a", dtype=complex)
    power = check_positive(power, "power")
    u = a / np.linalg.norm(a, axis=-1, keepdims=True)
    return power * u[..., :, None] * u[..., None, :].conj()


def gaussian_isac_beamformer(a, h, power: float, snr_min, comm_noise_power: float):
    r"""Optimal rank-one beamformer of the CRB-rate paper's Proposition 1, batched.

    Parameters
    ----------
    a : array_like, shape (n_tx,) or (..., n_tx), complex
        Transmit steering vector toward the target.
    h : array_like, shape (..., n_tx), complex
        BS-CU channel(s); leading axes are independent scenarios.
    power : float
        Transmit power budget $P$ (W).
    snr_min : float or array_like, shape (...)
        SNR target(s) $\gamma$ (linear, >= 0); broadcast against `h`.
    comm_noise_power : float
        CU noise power $\sigma_c^2$ (W).

    Returns
    -------
    w : ndarray, shape (..., n_tx), complex
        The beamformer; the optimal covariance is $w w^H$.

    Raises
    ------
    InfeasibleError
        If any target exceeds the largest achievable SNR $P\|h\|^2/\sigma_c^2$.
    """
    a = as_array(a, "a", dtype=complex)
    h = as_array(h, "h", dtype=complex)
    power = check_positive(power, "power")
    s2c = check_positive(comm_noise_power, "comm_noise_power")
    gamma = as_array(snr_min, "snr_min", dtype=float)
    if np.any(gamma < 0):
        raise ValueError("snr_min must be >= 0 (linear scale)")
    h_norm2 = np.sum(np.abs(h) ** 2, axis=-1)
    gamma, h_norm2 = np.broadcast_arrays(gamma, h_norm2)
    max_snr = power * h_norm2 / s2c
    bad = gamma > max_snr * (1 + 1e-12)
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        raise InfeasibleError(
            f"snr_min={gamma.ravel()[i]:.6g} is unreachable: the largest achievable SNR is "
            f"P*||h||^2/comm_noise_power = {max_snr.ravel()[i]:.6g}"
            + (f" (scenario index {np.unravel_index(i, bad.shape)})" if bad.ndim else ""),
            parameter="snr_min",
            requested=gamma if gamma.ndim else float(gamma),
            max_achievable=max_snr if max_snr.ndim else float(max_snr),
        )
    return isac_beamformer_unchecked(a, h, power, gamma, s2c)


def isac_beamformer_unchecked(a, h, power, gamma, comm_noise_power):
    r"""Core of [`gaussian_isac_beamformer`][beamopt.gaussian_isac_beamformer] for feasible,
    validated inputs.

    The optimum lies in span{a, h}, so it is computed as $w = c_h h + c_a a$
    with per-scenario scalar coefficients: with $\eta = h^H a$,
    $\|r\|^2 = \|a\|^2 - |\eta|^2/\|h\|^2$ (the part of $a$ orthogonal to
    $h$), $c_a = \sqrt{P - p_1}/\|r\|$ and
    $c_h = \sqrt{p_1}\, e^{jngle\eta}/\|h\| - c_a \eta/\|h\|^2$; MRT is
    $c_h = 0$, $c_a = \sqrt{P}/\|a\|$.
    """
    a_norm2 = np.sum(np.abs(a) ** 2, axis=-1)
    # the same expression as BistaticScenario.max_snr, so gamma == max_snr leaves
    # exactly zero power for the sensing direction (sqrt would amplify round-off)
    h_norm2 = np.sum(np.abs(h) ** 2, axis=-1)
    max_snr = power * h_norm2 / comm_noise_power
    eta = np.sum(h.conj() * a, axis=-1)
    abs_eta2 = eta.real**2 + eta.imag**2
    use_mrt = power * abs_eta2 / (a_norm2 * comm_noise_power) >= gamma

    p_rest = power * np.maximum(1.0 - gamma / max_snr, 0.0)  # P - p1
    # explicit residual: no cancellation when a is nearly parallel to h
    resid = a - (eta / h_norm2)[..., None] * h
    r_norm = np.sqrt(np.sum(np.abs(resid) ** 2, axis=-1))
    # if a is parallel to h (r = 0), MRT already reaches every feasible target
    c_a = np.sqrt(p_rest) / np.maximum(r_norm, np.finfo(float).tiny)
    abs_eta = np.sqrt(abs_eta2)
    phase = (eta + (abs_eta == 0)) / (abs_eta + (abs_eta == 0))  # 1 where eta = 0
    c_h = np.sqrt((power - p_rest) / h_norm2) * phase - c_a * eta / h_norm2
    # select MRT by blending with a 0/1 mask: both branches are finite
    c_a = use_mrt * np.sqrt(power / a_norm2) + (1 - use_mrt) * c_a
    c_h = (1 - use_mrt) * c_h
    return c_h[..., None] * h + c_a[..., None] * a
