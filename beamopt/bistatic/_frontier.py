r"""Closed-form support points of the superposition design's gain region.

Normalise the single-user superposition problem (the CRB-rate paper's P4) by the power
budget and the array size: $\tilde W = W/P$, $\tilde R = R_s/P$,
$\hat a = a/\sqrt{N_t}$, $\hat h = h/\|h\|$, and write

$$
w = \hat a^H \tilde W \hat a, \qquad s = \hat a^H \tilde R \hat a, \qquad
\Gamma = P\|h\|^2/\sigma_c^2, \qquad \beta = \gamma/\Gamma \in [0, 1].
$$

The constraints become $\hat h^H \tilde W \hat h \ge \gamma\, \hat h^H \tilde R \hat h
+ \beta$ and $\mathrm{tr}(\tilde W + \tilde R) \le 1$. The gain region
$\mathcal A = \{(w, s)\}$ of feasible designs is convex (a linear image of a
convex set). Its support function in the direction $(\nu, 1)$ is the SDP

$$
h(\nu) = \max\; s + \nu w \quad\text{s.t. the constraints above},
$$

whose Lagrange dual is one-dimensional: with $\mu \ge 0$ on the SINR
constraint,

$$
h(\nu) = \min_{\mu \ge 0}\; \max\{\lambda_1(\mu), \lambda_2(\mu)\} - \mu\beta, \quad
\lambda_1 = \lambda_{\max}(\hat a\hat a^H - \mu\gamma\, \hat h\hat h^H), \quad
\lambda_2 = \lambda_{\max}(\nu\, \hat a\hat a^H + \mu\, \hat h\hat h^H).
$$

Everything lives in $\mathrm{span}\{\hat a, \hat h\}$. In the orthonormal
basis $e_1 \propto \hat h$, $e_2 \perp \hat h$ with phases chosen so that
$\hat a = \rho e_1 + \sigma e_2$, $\rho = |\hat h^H \hat a|$,
$\sigma = \sqrt{1-\rho^2}$, both matrices are real 2x2 and their top
eigenvalues and eigenvectors are explicit. $\lambda_1$ decreases from 1 to
$\sigma^2$ and $\lambda_2$ increases from $\nu$, so for
$\nu < 1$ they cross exactly once. Eliminating $\mu$ between the two
characteristic equations gives the crossing eigenvalue as the larger root of

$$
(1+\gamma)\lambda^2 - \big(1 + \gamma\nu + \sigma^2(\nu + \gamma)\big)\lambda
+ (1+\gamma)\nu\sigma^2 = 0.
$$

At the crossing both blocks are rank one along the top eigenvectors,
$\tilde W = p\, u_w u_w^H$, $\tilde R = (1-p)\, u_r u_r^H$ with
$u = \cos\vartheta\, e_1 + \sin\vartheta\, e_2$,
$\vartheta = \tfrac12\operatorname{atan2}(2b, a-d)$ for the matrix
$[\begin{smallmatrix} a & b\\ b & d\end{smallmatrix}]$, and the SINR
constraint is tight:

$$
p = \frac{\gamma\cos^2\vartheta_r + \beta}{\cos^2\vartheta_w + \gamma\cos^2\vartheta_r}.
$$

When this $p$ exceeds 1 the dual minimum lies beyond the crossing, the
sensing block is empty and $\tilde W$ is the Gaussian-only beam of the
CRB-rate paper's Proposition 1 ($\cos^2\vartheta_w = \beta$). The dual value at the
chosen $\mu$ is a rigorous upper bound on $h(\nu)$ for any
$\mu \ge 0$ (weak duality) and agrees with the primal value to rounding.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["FrontierPoint", "span_basis", "frontier_point", "information_shape", "slope"]

#: Largest dual multiplier used at the maximum target (beta = 1), where the dual
#: optimum is only reached as mu -> inf; the dual gap there is O(1/mu).
_MU_CAP = 1e13


class FrontierPoint(NamedTuple):
    """A support point of the normalised gain region (all arrays broadcast together)."""

    w: np.ndarray  #: normalised Gaussian beam gain a^H W a / (P N_t)
    s: np.ndarray  #: normalised sensing beam gain a^H Rs a / (P N_t)
    p: np.ndarray  #: power fraction tr W / P
    q: np.ndarray  #: power fraction tr Rs / P (= 1 - p, computed without cancellation)
    theta_w: np.ndarray  #: angle of the information beam from e_1 (toward h)
    theta_r: np.ndarray  #: angle of the sensing beam from e_1
    dual: np.ndarray  #: dual value, an upper bound on the support function h(nu)


def span_basis(a: np.ndarray, h: np.ndarray):
    r"""Orthonormal basis of span{a, h} with real coordinates for $\hat a$.

    Returns
    -------
    rho, sigma : float
        $\hat a = \rho e_1 + \sigma e_2$, $\rho, \sigma \ge 0$.
    e1, e2 : ndarray, shape (n_tx,), complex
        $e_1 = e^{j\angle(\hat h^H \hat a)}\hat h$; $e_2$ is the unit
        component of $\hat a$ orthogonal to $h$ (zero when
        $a \parallel h$, where it is never used with a non-zero weight).
    """
    a_hat = a / np.linalg.norm(a)
    u1 = h / np.linalg.norm(h)
    proj = np.vdot(u1, a_hat)
    e1 = np.exp(1j * np.angle(proj)) * u1
    rho = min(abs(proj), 1.0)
    resid = a_hat - rho * e1
    r_norm = np.linalg.norm(resid)
    sigma = float(np.sqrt(max(1.0 - rho * rho, 0.0)))
    e2 = resid / r_norm if r_norm > 1e-14 else np.zeros_like(a_hat)
    return float(rho), sigma, e1, e2


def _top(a_s, d_s, b, diff):
    """Top eigen-pair of the real symmetric [[a, b], [b, d]] shifted by `-c I`.

    Takes `a_s = a - c`, `d_s = d - c` and `diff = a - d`; returns
    `lambda_max - c = max(a_s, d_s) + b^2 / (hypot(diff/2, b) + |diff|/2)` (no
    cancellation even for a huge shift) and the eigenvector angle from `e_1`.
    """
    half = 0.5 * np.abs(diff)
    r = np.hypot(half, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(r > 0, b * b / (r + half), 0.0)
    return np.maximum(a_s, d_s) + tail, 0.5 * np.arctan2(2.0 * b, diff)


def _blocks(mu, nu, rho, sigma, gamma, beta=0.0, beta_c=1.0):
    """Top eigen-pairs of K_r and K_w, eigenvalues shifted by `-mu*beta` (the dual value).

    `mu (1 - beta)` is formed from `beta_c = 1 - beta` directly: at the maximum
    target the multiplier is huge and `(nu rho^2 + mu) - mu` would lose every digit.
    """
    r2, s2, mb = rho * rho, sigma * sigma, mu * beta
    lam_r, th_r = _top(r2 - mu * gamma - mb, s2 - mb, rho * sigma, r2 - s2 - mu * gamma)
    lam_w, th_w = _top(nu * r2 + mu * beta_c, nu * s2 - mb, nu * rho * sigma,
                       nu * (r2 - s2) + mu)  # fmt: skip
    return lam_r, th_r, lam_w, th_w


def _crossing_mu(nu, rho, sigma, gamma):
    """Dual multiplier where lambda_1 = lambda_2 (closed form, see module docstring).

    Cancellation-free: the discriminant is a sum of squares,
    `(1 - nu s2 + gamma (nu - s2))^2 + 4 gamma s2 (1 - nu)^2`, and of the two gaps
    `lambda - nu` and `lambda - s2` (whose product is `(1 - nu) rho^2 lambda / (1 + gamma)`)
    the larger is formed directly and the smaller from the product.
    """
    r2, s2, c = rho * rho, sigma * sigma, 1.0 + gamma
    B = 1.0 + gamma * nu + s2 * (nu + gamma)
    X = 1.0 - nu * s2 + gamma * (nu - s2)
    lam = (B + np.sqrt(X * X + 4.0 * gamma * s2 * (1.0 - nu) ** 2)) / (2.0 * c)
    prod = (1.0 - nu) * r2 * lam / c
    direct_nu = nu <= s2
    big = np.where(direct_nu, lam - nu, lam - s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.where(big > 0, prod / big, 0.0)
    d_nu = np.where(direct_nu, big, small)
    # mu from lambda_2's characteristic equation: lam (lam - nu) / (lam - nu s2)
    den = d_nu + nu * r2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, lam * d_nu / den, lam)


def frontier_point(nu, rho: float, sigma: float, gamma, beta, beta_c=None) -> FrontierPoint:
    r"""Support point of the gain region in the direction $(\nu, 1)$.

    Parameters
    ----------
    nu : array_like, shape (...)
        Weight of the information gain, $0 \le \nu < 1$.
    rho, sigma : float
        Coordinates of $\hat a$ from `span_basis`.
    gamma, beta : array_like, shape (...)
        SINR target (linear) and normalised target $\gamma/\Gamma \in [0, 1]$.
    beta_c : array_like, shape (...), optional
        $1 - \beta$, best computed as $(\Gamma - \gamma)/\Gamma$; near the
        largest target the sensing gain is proportional to it, and forming
        `1 - beta` would leave it with a relative error of `eps / (1 - beta)`.

    Returns
    -------
    FrontierPoint
        Arrays broadcast over `nu`, `gamma` and `beta`.
    """
    if beta_c is None:
        beta_c = 1.0 - np.asarray(beta, dtype=float)
    nu, gamma, beta, beta_c = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (nu, gamma, beta, beta_c))
    )
    theta_a = np.arctan2(sigma, rho)
    # candidate 1: the crossing of the two eigenvalue curves (feasible when p <= 1)
    mu_c = _crossing_mu(nu, rho, sigma, gamma)
    _, th_r, _, th_w = _blocks(mu_c, nu, rho, sigma, gamma)
    cw, cr = np.cos(th_w) ** 2, np.cos(th_r) ** 2
    # power fractions p (information) and q = 1 - p with the SINR met with equality;
    # q from cos^2(th_w) - beta = (1 - beta) - sin^2(th_w), free of cancellation
    den = cw + gamma * cr
    p = (gamma * cr + beta) / den
    q = (beta_c - np.sin(th_w) ** 2) / den
    # candidate 2: all power in the Gaussian beam with h-gain beta (Proposition 1)
    th_g = np.arctan2(np.sqrt(np.clip(beta_c, 0.0, 1.0)), np.sqrt(np.clip(beta, 0.0, 1.0)))
    w_g = np.cos(th_g - theta_a) ** 2
    w_c = np.minimum(p, 1.0) * np.cos(th_w - theta_a) ** 2
    s_c = np.maximum(q, 0.0) * np.cos(th_r - theta_a) ** 2
    # Exactly one is the support point (the second when p > 1); comparing values as
    # well keeps the choice right when rounding blurs p = 1 (beta = 1, tiny nu).
    w_only = (p > 1.0) | (nu * w_g > s_c + nu * w_c)
    # dual multipliers: mu_c, and the one making th_g K_w's top eigenvector
    # (mu -> inf at beta = 1); each gives an upper bound, keep the smaller
    sin2, cos2 = np.sin(2.0 * th_g), np.cos(2.0 * th_g)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_g = 2.0 * nu * rho * sigma * cos2 / sin2 - nu * (rho * rho - sigma * sigma)
    mu_g = np.where(sin2 > 0, np.clip(mu_g, 0.0, _MU_CAP), _MU_CAP)
    duals = []
    for mu in (mu_c, mu_g):
        lam_r, _, lam_w, _ = _blocks(mu, nu, rho, sigma, gamma, beta, beta_c)
        # lam_w - mu beta is a sum of non-negative terms (accurate to its own size);
        # lam_r - mu beta cancels O(1 + mu (gamma + beta)) terms, so its excess over
        # lam_w counts only beyond that rounding error. Near beta = 1 the support
        # value is ~1e-12 and the plain maximum would be off by 1e-16 absolute.
        err_r = 8 * np.finfo(float).eps * (1.0 + mu * (gamma + beta))
        duals.append(np.maximum(lam_w, lam_r - err_r))
    return FrontierPoint(
        w=np.where(w_only, w_g, w_c),
        s=np.where(w_only, 0.0, s_c),
        p=np.where(w_only, 1.0, p),
        q=np.where(w_only, 0.0, np.maximum(q, 0.0)),
        theta_w=np.where(w_only, th_g, th_w),
        theta_r=np.where(w_only, theta_a, th_r),
        dual=np.minimum(*duals),
    )


def information_shape(w, s, kappa: float, n_rx: int):
    r"""Normalised DoA information $\Phi = \kappa s + f(\kappa w)$.

    With $\kappa = g_0 P N_t$ and $f(x) = N_r x^2 / (1 + N_r x)$,
    $J_\theta = 2 L \|\partial b\|^2\, \Phi$. $\Phi$ is convex and
    non-decreasing in both gains.
    """
    x = kappa * np.asarray(w)
    return kappa * np.asarray(s) + n_rx * x * x / (1.0 + n_rx * x)


def slope(w, kappa: float, n_rx: int):
    r"""$f'(\kappa w) = 1 - (1 + N_r\kappa w)^{-2}$, the SCA weight $\nu$."""
    return 1.0 - 1.0 / (1.0 + n_rx * kappa * np.asarray(w)) ** 2
