r"""The near-field sensing model of "Scoring ISAC" (Sec. V): channel, Jacobians and references.

A ULA of $N$ antennas on the x-axis (aperture $D_a$, spacing $d = D_a/(N-1)$, element $n$ at
$(\delta_n d, 0)$, $\delta_n = n - 1 - (N-1)/2$) senses a target at $r = (x, y)$:
$$
H_s = \beta_0\gamma\, a(r) a(r)^\top,\quad [a(r)]_n = \frac{e^{-j2\pi r_n/\lambda}}{r_n},\quad
r_n = \|r - r_n^a\|,\quad \beta_0 = \sqrt{\lambda^2/(4\pi)^3},
$$
echo $y_k = H_s x + \mathcal{CN}(0, \sigma^2 I)$, $k = 1..K$. With $\gamma = 1$ the detection
KLD is $D = K\|H_s x\|^2/\sigma^2$ (eq. (106)) and the optimal detector
$\Re\{h^H\sum_k y_k\}$ has $P_d = Q\big(Q^{-1}(P_{fa}) - \sqrt{2D}\big)$.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtri

from .._validation import as_array, check_int, check_positive, check_unit_interval

__all__ = [
    "NearFieldArray",
    "detection_probability",
    "swerling_kld_per_snapshot",
    "swerling_kld",
]

SPEED_OF_LIGHT = 299_792_458.0


@dataclass(frozen=True)
class NearFieldArray:
    """ULA geometry of the near-field model (defaults: Table I of "Scoring ISAC").

    Attributes
    ----------
    n_antennas : int
    frequency : float
        Carrier frequency in Hz.
    aperture : float
        $D_a$ in metres.
    """

    n_antennas: int = 64
    frequency: float = 28e9
    aperture: float = 0.5

    def __post_init__(self) -> None:
        check_int(self.n_antennas, "n_antennas", minimum=2)
        check_positive(self.frequency, "frequency")
        check_positive(self.aperture, "aperture")

    @property
    def wavelength(self) -> float:
        return SPEED_OF_LIGHT / self.frequency

    @property
    def beta0(self) -> float:
        return float(np.sqrt(self.wavelength**2 / (4 * np.pi) ** 3))

    @property
    def element_x(self) -> np.ndarray:
        n = self.n_antennas
        return (np.arange(n) - (n - 1) / 2) * self.aperture / (n - 1)

    def _positions(self, positions):
        r = as_array(positions, "positions", dtype=float)
        if r.shape[-1] != 2:
            raise ValueError(f"positions must have shape (..., 2); got {r.shape}")
        return r

    def response(self, positions) -> np.ndarray:
        r"""$a(r)$, shape (..., N)."""
        r = self._positions(positions)
        rn = np.hypot(r[..., :1] - self.element_x, r[..., 1:])
        return np.exp(-2j * np.pi * rn / self.wavelength) / rn

    def _response_grad(self, r):
        dx = r[..., :1] - self.element_x
        rn = np.hypot(dx, r[..., 1:])
        a = np.exp(-2j * np.pi * rn / self.wavelength) / rn
        da_dr = a * (-1.0 / rn - 2j * np.pi / self.wavelength)
        return a, da_dr * dx / rn, da_dr * r[..., 1:] / rn

    def channel(self, positions, gamma=1.0) -> np.ndarray:
        r"""$H_s = \beta_0\gamma a a^\top$, shape (..., N, N)."""
        a = self.response(positions)
        g = np.asarray(gamma, dtype=float)[..., None, None]
        return self.beta0 * g * a[..., :, None] * a[..., None, :]

    def beam(self, position, power: float) -> np.ndarray:
        r"""$\sqrt{P}\,v_1$ with $v_1 = \bar a/\|a\|$ the dominant right singular vector of
        $H_s$."""
        a = self.response(position)
        return np.sqrt(check_positive(power, "power")) * a.conj() / np.linalg.norm(a)

    def echo_jacobian(self, positions, x, gamma=None, *, log_gamma: bool = False):
        r"""$\partial (H_s x)/\partial\theta^\top$ for $\theta = (x, y)$ or $(x, y, \gamma)$.

        Parameters
        ----------
        positions : array_like, shape (M, 2)
        x : array_like, shape (N,), complex
            Transmit signal.
        gamma : array_like, shape (M,), optional
            RCS draws; given, a third column $\partial/\partial\gamma$ (or
            $\partial/\partial\log\gamma = \gamma\,\partial/\partial\gamma$) is appended.

        Returns
        -------
        ndarray, shape (M, N, 2) or (M, N, 3), complex
        """
        r = self._positions(positions)
        x = as_array(x, "x", dtype=complex, ndim=1)
        if x.size != self.n_antennas:
            raise ValueError(f"x must have shape ({self.n_antennas},); got {x.shape}")
        g = np.ones(r.shape[:-1]) if gamma is None else as_array(gamma, "gamma", dtype=float)
        a, dax, day = self._response_grad(r)
        ax = a @ x
        b = self.beta0 * g[..., None]
        cols = [
            b * (dax * ax[..., None] + a * (dax @ x)[..., None]),
            b * (day * ax[..., None] + a * (day @ x)[..., None]),
        ]
        if gamma is not None:
            dg = self.beta0 * a * ax[..., None]
            cols.append(dg * g[..., None] if log_gamma else dg)
        return np.stack(cols, axis=-1)

    def channel_derivatives(self, positions, gamma=None):
        r"""$\partial H_s/\partial x$, $\partial H_s/\partial y$: shape (M, 2, N, N)."""
        r = self._positions(positions)
        g = np.ones(r.shape[:-1]) if gamma is None else np.asarray(gamma, dtype=float)
        a, dax, day = self._response_grad(r)
        b = self.beta0 * g[..., None, None]
        out = [
            b * (d[..., :, None] * a[..., None, :] + a[..., :, None] * d[..., None, :])
            for d in (dax, day)
        ]
        return np.stack(out, axis=-3)


def detection_probability(kld, p_fa=0.1) -> np.ndarray:
    r"""$P_d = Q(Q^{-1}(P_{fa}) - \sqrt{2D})$ of the matched detector for a known echo
    ($\gamma=1$)."""
    d = as_array(kld, "kld", dtype=float)
    if np.any(d < 0):
        raise ValueError("kld must be >= 0")
    pfa = check_unit_interval(p_fa, "p_fa")
    return 1.0 - np.exp(log_ndtr(ndtri(1.0 - pfa) - np.sqrt(2.0 * d)))


def swerling_kld_per_snapshot(rho: float, n_quad: int = 200) -> float:
    r"""$D(\mathcal N(0,1)\,\|\,\mathbb E_{\gamma\sim{\rm Exp}(1)}\mathcal N(\gamma\rho, 1))$
    by quadrature.

    The mixture density is $\frac1\rho e^{1/(2\rho^2) - u/\rho}\Phi(u - 1/\rho)$; the outer
    expectation uses `n_quad`-point Gauss-Hermite quadrature. This is the per-snapshot
    KLD of the matched statistic $u = \sqrt2\Re\{h^H y\}/(\|h\|\sigma)$ with
    $\rho = \sqrt2\|h\|/\sigma$ (the orthogonal components are equal under both hypotheses).
    """
    rho = check_positive(rho, "rho")
    t, w = np.polynomial.hermite_e.hermegauss(n_quad)
    w = w / w.sum()
    log_p = -0.5 * t**2 - 0.5 * np.log(2 * np.pi)
    log_q = (
        -np.log(rho)
        + 0.5 / rho**2
        - t / rho
        + log_ndtr(t - 1.0 / rho)
        - 0.5 * np.log(2 * np.pi)
        + 0.5 * np.log(2 * np.pi)
    )
    return float(np.sum(w * (log_p - log_q)))


def _log_mixture(u, rho):
    """log of the Swerling mixture density E_gamma N(u; gamma rho, 1), gamma ~ Exp(1)."""
    return -np.log(rho) + 0.5 / rho**2 - u / rho + log_ndtr(u - 1.0 / rho)


def swerling_kld(
    rho: float,
    n_snapshots: int = 1,
    *,
    direction: str = "h0||h1",
    rcs: str = "independent",
    n_quad: int = 200,
) -> float:
    r"""Detection KLD of a Swerling I target, $\gamma \sim {\rm Exp}(1)$, by quadrature.

    The matched statistic of each snapshot is $u_k = \gamma_k\rho + n_k$ under
    $\mathcal H_1$ and $n_k$ under $\mathcal H_0$, $n_k \sim \mathcal N(0, 1)$.

    Parameters
    ----------
    rho : float
        $\rho = \sqrt2\|h\|/\sigma > 0$.
    n_snapshots : int
        $K$.
    direction : {"h0||h1", "h1||h0"}
        $D(p_0\,\|\,p_1)$ (the paper's eq. (21): the Chernoff-Stein exponent of the miss
        probability at a fixed false-alarm rate) or the reverse $D(p_1\,\|\,p_0)$.
    rcs : {"independent", "shared"}
        A new $\gamma$ per snapshot (eq. (108) as written: $K\times$ the per-snapshot KLD)
        or one $\gamma$ for all $K$ snapshots (Swerling I over a dwell: the sufficient
        statistic $\sum_k u_k/\sqrt K$ has $\rho\sqrt K$).
    n_quad : int
        Gauss-Hermite (and, for "h1||h0", Gauss-Laguerre) points.
    """
    rho = check_positive(rho, "rho")
    K = check_int(n_snapshots, "n_snapshots")
    if direction not in ("h0||h1", "h1||h0"):
        raise ValueError(f"direction must be 'h0||h1' or 'h1||h0'; got {direction!r}")
    if rcs not in ("independent", "shared"):
        raise ValueError(f"rcs must be 'independent' or 'shared'; got {rcs!r}")
    n_quad = check_int(n_quad, "n_quad", minimum=8)
    r, scale = (rho, K) if rcs == "independent" else (rho * np.sqrt(K), 1)
    if direction == "h0||h1":
        return scale * swerling_kld_per_snapshot(r, n_quad)
    t, w = np.polynomial.hermite_e.hermegauss(n_quad)
    w = w / w.sum()
    g, v = np.polynomial.laguerre.laggauss(min(n_quad, 64))  # E over gamma ~ Exp(1)
    u = g[:, None] * r + t[None, :]
    log_p0 = -0.5 * u**2 - 0.5 * np.log(2 * np.pi)
    val = np.sum(v[:, None] * w[None, :] * (_log_mixture(u, r) - log_p0))
    return float(scale * val)
