r"""Noise schedules: the cosine DDPM schedule and geometric variance-exploding levels.

Every model in [`beamopt.score`][] uses one parametrisation, variance exploding:
$x = z + \sigma \epsilon$ with $\epsilon \sim \mathcal{CN}(0, I)$. A DDPM state
$x_t = \sqrt{\bar\alpha_t}\, z + \sqrt{1 - \bar\alpha_t}\, \epsilon$ is the same state after
division by $\sqrt{\bar\alpha_t}$, with

$$
\sigma_t = \sqrt{\frac{1 - \bar\alpha_t}{\bar\alpha_t}}, \qquad
\bar\alpha_t = \frac{1}{1 + \sigma_t^2}.
$$

The functions accept Python floats, numpy arrays or torch tensors and return the same kind
(torch is never imported here).

References
----------
Nichol and Dhariwal, "Improved denoising diffusion probabilistic models" (the cosine
schedule); Song and Ermon, "Generative modeling by estimating gradients of the data
distribution" (geometric noise levels).
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_int, check_positive

__all__ = [
    "cosine_abar",
    "cosine_sigma",
    "cosine_time",
    "ddpm_abar",
    "sigma_from_abar",
    "abar_from_sigma",
    "ve_sigmas",
]

COSINE_S = 0.008


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _lib(x):
    if _is_torch(x):
        import torch

        return torch
    return np


def _as_float(x):
    return x if _is_torch(x) else np.asarray(x, dtype=float)


def _out(x, like):
    # plain floats in, plain floats out
    if isinstance(like, int | float) and not _is_torch(x):
        return float(x)
    return x


def cosine_abar(t, s: float = COSINE_S):
    r"""Cosine schedule $\bar\alpha(t)$ for $t \in [0, 1]$.

    $$
    \bar\alpha(t) = \frac{f(t)}{f(0)}, \qquad
    f(t) = \cos^2\!\left(\frac{t + s}{1 + s} \cdot \frac{\pi}{2}\right),
    $$

    so $\bar\alpha(0) = 1$ and $\bar\alpha(1) = 0$ (up to round-off; clip $t$ or $\sigma$
    before converting with [`sigma_from_abar`][beamopt.score.schedule.sigma_from_abar]).

    Parameters
    ----------
    t : float, array or tensor
        Diffusion time(s) in [0, 1].
    s : float
        Offset that keeps $\beta$ small near $t = 0$ (0.008 as in Nichol and Dhariwal).
    """
    t_ = _as_float(t)
    lib = _lib(t_)
    f0 = math.cos(s / (1.0 + s) * math.pi / 2) ** 2
    out = lib.cos((t_ + s) / (1.0 + s) * (math.pi / 2)) ** 2 / f0
    return _out(out, t)


def sigma_from_abar(abar):
    r"""$\sigma = \sqrt{(1 - \bar\alpha) / \bar\alpha}$ (the VE noise level of a DDPM state)."""
    a = _as_float(abar)
    out = _lib(a).sqrt((1.0 - a) / a)
    return _out(out, abar)


def abar_from_sigma(sigma):
    r"""$\bar\alpha = 1 / (1 + \sigma^2)$.

    The inverse of [`sigma_from_abar`][beamopt.score.schedule.sigma_from_abar].
    """
    s = _as_float(sigma)
    out = 1.0 / (1.0 + s * s)
    return _out(out, sigma)


def cosine_sigma(t, s: float = COSINE_S):
    r"""The VE noise level $\sigma(t)$ of the cosine schedule.

    Closed form, stable at both ends: with $u = \frac{t + s}{1 + s}\frac{\pi}{2}$ and
    $u_0 = \frac{s}{1 + s}\frac{\pi}{2}$,

    $$
    \sigma(t)^2 = \frac{\cos^2 u_0}{\cos^2 u} - 1
                = \frac{\sin(u - u_0)\,\sin(u + u_0)}{\cos^2 u},
    $$

    which is 0 at $t = 0$ and $+\infty$ at $t = 1$.
    """
    t_ = _as_float(t)
    lib = _lib(t_)
    u0 = s / (1.0 + s) * math.pi / 2
    u = (t_ + s) / (1.0 + s) * (math.pi / 2)
    out = lib.sqrt(lib.sin(u - u0) * lib.sin(u + u0)) / lib.abs(lib.cos(u))
    return _out(out, t)


def cosine_time(sigma, s: float = COSINE_S):
    r"""The time $t \in [0, 1]$ at which the cosine schedule reaches noise level $\sigma$.

    Inverse of [`cosine_sigma`][beamopt.score.schedule.cosine_sigma]:
    $t = (1 + s)\,\frac{2}{\pi} \arccos\!\big(\cos(u_0) / \sqrt{1 + \sigma^2}\big) - s$.
    """
    sg = _as_float(sigma)
    lib = _lib(sg)
    u0 = s / (1.0 + s) * math.pi / 2
    arccos = lib.arccos if lib is np else lib.acos
    out = (1.0 + s) * (2.0 / math.pi) * arccos(math.cos(u0) / lib.sqrt(1.0 + sg * sg)) - s
    return _out(out, sigma)


def ddpm_abar(n_steps: int, s: float = COSINE_S, max_beta: float = 0.999) -> np.ndarray:
    r"""The discrete cosine schedule $\bar\alpha_1, \dots, \bar\alpha_T$ of Nichol and Dhariwal.

    $\beta_i = \min(1 - \bar\alpha(i/T) / \bar\alpha((i-1)/T),\ \beta_{\max})$ and
    $\bar\alpha_i = \prod_{j \le i} (1 - \beta_j)$; the clip keeps $\bar\alpha_T > 0$.

    Returns
    -------
    numpy.ndarray, shape (n_steps,)
        Decreasing $\bar\alpha_i$, $i = 1, \dots, T$.
    """
    n_steps = check_int(n_steps, "n_steps")
    if not 0 < max_beta < 1:
        raise ValueError(f"max_beta must lie in (0, 1); got {max_beta}")
    grid = cosine_abar(np.arange(n_steps + 1) / n_steps, s)
    beta = np.minimum(1.0 - grid[1:] / grid[:-1], max_beta)
    return np.cumprod(1.0 - beta)


def ve_sigmas(n_levels: int, sigma_min: float, sigma_max: float) -> np.ndarray:
    r"""Geometric noise levels $\sigma_1 > \dots > \sigma_L$ of variance-exploding DSM.

    $\sigma_i = \sigma_{\max} (\sigma_{\min} / \sigma_{\max})^{(i-1)/(L-1)}$, largest first
    (the order a sampler visits them).
    """
    n_levels = check_int(n_levels, "n_levels")
    lo = check_positive(sigma_min, "sigma_min")
    hi = check_positive(sigma_max, "sigma_max")
    if lo >= hi:
        raise ValueError(f"sigma_min must be < sigma_max; got {lo} >= {hi}")
    if n_levels == 1:
        return np.array([hi])
    return np.geomspace(hi, lo, n_levels)
