r"""DoA Cramér-Rao bounds for the bistatic ISAC receiver.

Per symbol the sensing receiver observes

$$
y_t = \alpha\, b(\theta) a(\phi)^H (w_t + s_t) + n_t,
\qquad w_t \sim \mathcal{CN}(0, W),\; n_t \sim \mathcal{CN}(0, \sigma_s^2 I),
$$

where the Gaussian information signal $w_t$ has unknown realisations
(its covariance $W$ is known) and the deterministic sensing sequence
$s_t$ is known, with sample covariance $R_s$. With
$g_0 = |\alpha|^2/\sigma_s^2$, $c_W = a^H W a$,
$c_S = a^H R_s a$ and $D = \|\partial b/\partial\theta\|^2$, the
Slepian-Bangs Fisher information is block diagonal (the midpoint array
reference gives $b^H \partial b = 0$) and the DoA information is

$$
J_\theta = 2 L D \left(g_0 c_S + \frac{(g_0 c_W)^2 N_r}{1 + g_0 c_W N_r}\right),
\qquad \mathrm{CRB}(\theta) = J_\theta^{-1}.
$$

`Rs=None` is the Gaussian-only model (unknowns $\theta, |\alpha|$; the
phase of $\alpha$ is unobservable); `W = 0` is the classical
deterministic (conditional) CRB; both together is the superposition model
(unknowns $\theta, \Re\alpha, \Im\alpha$). With known realisations of
the information signal (the CRB-rate paper's benchmark), $W$ acts like
deterministic signal: $J_\theta = 2 L D g_0 (c_W + c_S)$.

References
----------
*CRB-Rate Tradeoff for Bistatic ISAC with Gaussian Information and Deterministic Sensing Signals*:
Lemma 1 and eq. (22) (Gaussian-only), eq. (23) (deterministic), eq. (45)-(46) (superposition),
Remark 2 and Remark 5.
"""

from __future__ import annotations

import numpy as np

from .._validation import as_covariance
from .scenario import BistaticScenario, check_scenario

__all__ = ["crb_doa", "crb_from_gains", "fisher_information", "doa_information", "beam_gains"]


def beam_gains(scenario: BistaticScenario, W, Rs=None) -> tuple[np.ndarray, np.ndarray]:
    """Transmit beampattern gains toward the target, $(a^H W a, a^H R_s a)$.

    Parameters
    ----------
    scenario : BistaticScenario
    W : array_like, shape (..., n_tx, n_tx), complex
        Gaussian information covariance(s), Hermitian PSD.
    Rs : array_like, shape (..., n_tx, n_tx), complex, optional
        Deterministic sensing sample covariance(s), Hermitian PSD.

    Returns
    -------
    cW, cS : ndarray, shape (...)
        Real, non-negative; `cS` is zero when `Rs` is None. Leading axes of
        `W` and `Rs` broadcast against each other.
    """
    a = check_scenario(scenario).a
    W = as_covariance(W, "W", scenario.n_tx)
    cW = np.einsum("i,...ij,j->...", a.conj(), W, a).real
    if Rs is None:
        return cW, np.zeros_like(cW)
    Rs = as_covariance(Rs, "Rs", scenario.n_tx)
    cS = np.einsum("i,...ij,j->...", a.conj(), Rs, a).real
    return np.broadcast_arrays(cW, cS)


def doa_information(cW, cS, *, g0, n_rx, n_symbols, db_norm2, known_realizations=False):
    r"""DoA Fisher information from beam gains (the vectorised core of
    [`crb_doa`][beamopt.crb_doa]).

    $$
    J_\theta = 2 L D \left(g_0 c_S + \frac{(g_0 c_W)^2 N_r}{1 + g_0 c_W N_r}\right)
    $$

    or $2 L D g_0 (c_W + c_S)$ with `known_realizations=True`.
    All arguments broadcast.
    """
    cW = np.asarray(cW, dtype=float)
    cS = np.asarray(cS, dtype=float)
    if known_realizations:
        return 2.0 * n_symbols * db_norm2 * g0 * (cW + cS)
    x = g0 * cW
    return 2.0 * n_symbols * db_norm2 * (g0 * cS + x * x * n_rx / (1.0 + x * n_rx))


def _scenario_information(scenario, cW, cS, known_realizations=False):
    return doa_information(
        cW,
        cS,
        g0=scenario.g0,
        n_rx=scenario.n_rx,
        n_symbols=scenario.n_symbols,
        db_norm2=scenario.db_norm2,
        known_realizations=known_realizations,
    )


def crb_doa(scenario: BistaticScenario, W, Rs=None, *, known_realizations: bool = False):
    r"""Cramér-Rao bound on the target DoA $\theta$ (rad^2).

    Parameters
    ----------
    scenario : BistaticScenario
    W : array_like, shape (..., n_tx, n_tx), complex
        Covariance of the Gaussian information signal (unknown realisations).
        Pass zeros for a deterministic-only transmission.
    Rs : array_like, shape (..., n_tx, n_tx), complex, optional
        Sample covariance of the deterministic sensing signal. `None` selects
        the Gaussian-only model.
    known_realizations : bool
        Treat the information signal's realisations as known at the sensing
        receiver (the CRB-rate paper's benchmark V-B1); the CRB is then the deterministic
        one of `W + Rs`.

    Returns
    -------
    float or ndarray, shape (...)
        $1/J_\theta$; `inf` where nothing is radiated toward the target.

    Raises
    ------
    ValueError
        If a covariance has the wrong shape, is non-finite, non-Hermitian or
        indefinite.

    Examples
    --------
    >>> import numpy as np, beamopt
    >>> sc = beamopt.BistaticScenario.default()
    >>> W = sc.power / sc.n_tx * np.outer(sc.a, sc.a.conj())    # MRT
    >>> bool(beamopt.crb_doa(sc, W) > beamopt.crb_doa(sc, 0 * W, Rs=W))
    True
    """
    cW, cS = beam_gains(scenario, W, Rs)
    return crb_from_gains(scenario, cW, cS, known_realizations=known_realizations)


def crb_from_gains(scenario: BistaticScenario, cW, cS, *, known_realizations: bool = False):
    """[`crb_doa`][beamopt.crb_doa] from the beam gains $c_W, c_S$ (shape (...), broadcast)."""
    J = _scenario_information(scenario, cW, cS, known_realizations)
    if J.ndim == 0:
        return 1.0 / float(J) if J > 0 else np.inf
    with np.errstate(divide="ignore"):
        crb = np.where(J > 0, 1.0 / np.where(J > 0, J, 1.0), np.inf)
    return float(crb) if crb.ndim == 0 else crb


def fisher_information(scenario: BistaticScenario, W, Rs=None) -> np.ndarray:
    r"""Full Slepian-Bangs Fisher information matrix of the echo model.

    Parameters
    ----------
    scenario : BistaticScenario
    W : array_like, shape (..., n_tx, n_tx)
        Gaussian information covariance.
    Rs : array_like, shape (..., n_tx, n_tx), optional
        Deterministic sensing sample covariance; `None` for Gaussian-only.

    Returns
    -------
    ndarray, shape (..., 2, 2) or (..., 3, 3), float
        For `Rs=None` the parameters are $(\theta, |\alpha|)$; otherwise
        $(\theta, \Re\alpha, \Im\alpha)$. With
        $c = 1 + g_0 c_W N_r$ the blocks are

        $$
        \begin{aligned}
        J_{\theta\theta} &= 2 L D\left(g_0 c_S + \frac{(g_0 c_W)^2 N_r}{c}\right),\\
        J_{|\alpha||\alpha|} &= \frac{4 L c_W^2 |\alpha|^2 N_r^2}{\sigma_s^4 c^2},\\
        J_{\alpha\alpha} &= \frac{2 L c_S N_r}{\sigma_s^2 c} I_2
        + \frac{4 L c_W^2 N_r^2}{\sigma_s^4 c^2}
          \begin{bmatrix}\Re\alpha\\ \Im\alpha\end{bmatrix}
          \begin{bmatrix}\Re\alpha & \Im\alpha\end{bmatrix},
        \end{aligned}
        $$

        and the DoA is decoupled from the gain (zero off-diagonal blocks).
    """
    cW, cS = beam_gains(scenario, W, Rs)
    L, Nr, s2 = scenario.n_symbols, scenario.n_rx, scenario.noise_power
    c = 1.0 + scenario.g0 * cW * Nr
    j_theta = _scenario_information(scenario, cW, cS)
    cov_gain = 4.0 * L * cW**2 * Nr**2 / (s2**2 * c**2)
    if Rs is None:
        J = np.zeros((*cW.shape, 2, 2))
        J[..., 0, 0] = j_theta
        J[..., 1, 1] = cov_gain * abs(scenario.alpha) ** 2
        return J
    ar = np.array([scenario.alpha.real, scenario.alpha.imag])
    J = np.zeros((*cW.shape, 3, 3))
    J[..., 0, 0] = j_theta
    J[..., 1:, 1:] = (2.0 * L * cS * Nr / (s2 * c))[..., None, None] * np.eye(2) + cov_gain[
        ..., None, None
    ] * np.outer(ar, ar)
    return J
