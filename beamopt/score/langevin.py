r"""Annealed Langevin dynamics with the measurement score (NCSNv2-style posterior sampling).

At geometric noise levels $\sigma_1 > \dots > \sigma_L$ (normalised coordinates) it runs `T`
unadjusted Langevin steps on the annealed posterior

$$
x \leftarrow x + \alpha_i\Big(-\frac{\hat\epsilon(x, \sigma_i)}{\sigma_i}
   + \tilde A^H\big(\sigma_n^2 I + \sigma_i^2 \tilde A\tilde A^H\big)^{-1}(y - \tilde A x)\Big)
   + \sqrt{2\alpha_i}\,\xi, \qquad \alpha_i = \epsilon\,\sigma_i^2/\sigma_L^2,
$$

$\xi \sim \mathcal{CN}(0, I)$, $\tilde A = \mathrm{scale}\cdot A$ (the likelihood of $y$ given
$x = z + \sigma_i\epsilon$ with the prior of $z$ ignored, the annealing of Jalal et al. and of
the score-based MIMO channel estimation of Arvinte and Tamir), and returns the Tweedie
estimate $x - \sigma_L\hat\epsilon(x, \sigma_L)$. The step $\epsilon$ follows NCSNv2's
technique 4 (the step that keeps the variance of a point-mass data set on schedule from one
level to the next, see [`ncsn_step_size`][beamopt.score.langevin.ncsn_step_size]).

It is exact only in the limit of infinitely many levels and steps with $\sigma_L$ and the
step size going to zero; with a few steps per level it is biased (unadjusted Langevin
inflates the spread by about $1/(1 - \epsilon/2\sigma_L^2)$, and mixing between modes freezes
once $\sigma_i$ drops below their separation). The published channel estimators run it at
several thousand network evaluations per sample.

References
----------
Song and Ermon, "Improved techniques for training score-based generative models" (NCSNv2),
2020; Jalal et al., "Robust compressed sensing MRI with deep generative priors", 2021;
Arvinte and Tamir, "MIMO channel estimation using score-based generative models", 2022.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from .._validation import check_int, check_positive
from ._sampling import complex_normal, predict_noise

__all__ = ["ncsn_step_size", "annealed_langevin"]


def ncsn_step_size(gamma: float, steps_per_level: int) -> float:
    r"""NCSNv2's step $u = \epsilon/\sigma_L^2$ for level ratio $\gamma$ and $T$ steps per level.

    For a point-mass data set, $T$ Langevin steps with $\alpha = u\,\sigma^2$ take a state of
    variance $\gamma^2\sigma^2$ (the previous level's) to variance $f(u)\,\sigma^2$,

    $$
    f(u) = (1-u)^{2T}\Big(\gamma^2 - \frac{2}{2-u}\Big) + \frac{2}{2-u},
    $$

    and the step is the $u \in (0, 1)$ that brings $f(u)$ closest to 1.

    Parameters
    ----------
    gamma : float
        $\sigma_{i-1}/\sigma_i > 1$.
    steps_per_level : int
        $T \ge 1$.
    """
    gamma = check_positive(gamma, "gamma")
    if gamma <= 1.0:
        raise ValueError(f"gamma must be > 1 (the ratio of consecutive levels); got {gamma}")
    T = check_int(steps_per_level, "steps_per_level")

    def gap(log_u):
        u = math.exp(log_u)
        f = (1.0 - u) ** (2 * T) * (gamma**2 - 2.0 / (2.0 - u)) + 2.0 / (2.0 - u)
        return abs(f - 1.0)

    grid = np.linspace(math.log(1e-9), math.log(0.999), 400)
    best = grid[int(np.argmin([gap(g) for g in grid]))]
    lo, hi = max(best - 0.05, grid[0]), min(best + 0.05, grid[-1])
    res = minimize_scalar(gap, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    return float(math.exp(res.x))


def annealed_langevin(
    model,
    A: torch.Tensor,
    noise_var: float,
    y: torch.Tensor,
    *,
    shape,
    sigmas: np.ndarray,
    steps_per_level: int,
    step_size: float,
    generator: torch.Generator,
    device="cpu",
) -> torch.Tensor:
    r"""Annealed Langevin posterior draws (module docstring); one row of `y` per draw.

    `A` is $\tilde A$ (normalised coordinates, (n_obs, n)); `y` raw pilots (B, n_obs);
    `sigmas` decreasing; `step_size` is $\epsilon/\sigma_L^2$. Returns $z$, `(B, *shape)`.
    """
    B = y.shape[0]
    n = int(np.prod(shape))
    U, s, Vh = torch.linalg.svd(A, full_matrices=False)
    V = Vh.mH
    x = float(sigmas[0]) * complex_normal((B, n), generator, device)
    sig_L = float(sigmas[-1])
    for sigma in map(float, sigmas):
        alpha = step_size * sigma**2
        sig = torch.full((B,), sigma, dtype=torch.float64, device=device)
        gain = s / (noise_var + sigma**2 * s**2)  # A^H (nv I + sigma^2 A A^H)^-1 = V g U^H
        for _ in range(steps_per_level):
            with torch.no_grad():
                eps = predict_noise(model, x.reshape(B, *shape), sig).reshape(B, n)
            lik = ((y - x @ A.T) @ U.conj() * gain) @ V.T
            x = x + alpha * (lik - eps / sigma)
            x = x + math.sqrt(2.0 * alpha) * complex_normal((B, n), generator, device)
    sig = torch.full((B,), sig_L, dtype=torch.float64, device=device)
    with torch.no_grad():
        eps = predict_noise(model, x.reshape(B, *shape), sig).reshape(B, n)
    return (x - sig_L * eps).reshape(B, *shape)
