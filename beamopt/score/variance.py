r"""The average posterior variance of a denoiser along the noise levels (analytic reverse steps).

A DDPM step from $\bar\alpha_t$ to $\bar\alpha_s$ replaces the clean state $z$ in the exact
Gaussian kernel $q(x_s \mid x_t, z)$ by its Tweedie estimate $\hat z = \mathbb{E}[z \mid x_t]$.
Averaging that kernel over $z \mid x_t$ instead keeps its mean and adds the spread of $z$:

$$
x_s = \sqrt{\bar\alpha_s}\,\hat z + \sqrt{1 - \bar\alpha_s - c^2}\,\hat\epsilon
    + \sqrt{c^2 + k^2 V_t}\;\xi,
\qquad
k = \sqrt{\bar\alpha_s} - \sqrt{1 - \bar\alpha_s - c^2}\,
    \sqrt{\bar\alpha_t / (1 - \bar\alpha_t)},
$$

with $V_t$ the posterior variance of one entry of $z$ given $x_t$ (and the pilots, for a
conditional model). With $V_t = 0$ this is the usual step; with the exact $V_t$ it is the
moment-matched Gaussian step of Analytic-DPM (Bao et al., "Analytic-DPM: an analytic estimate
of the optimal reverse variance in diffusion probabilistic models", 2022), exact at any step
count for an isotropic Gaussian posterior. Few-step DDPM without it is too narrow: the
$k^2 V_t$ it drops is of the order of the posterior variance itself when steps are long.

$V_t$ is estimated once, on held-out training pairs, as the denoising error
$\mathbb{E}|z - \hat z|^2 = \sigma^2\,\mathbb{E}|\hat\epsilon - \epsilon|^2$ per entry at a grid
of noise levels (the average over pilots of the posterior variance), and interpolated in
$\log\sigma$.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._repr import summary_repr
from .._validation import check_int
from ._torch import randn_complex

__all__ = ["PosteriorVariance", "estimate_posterior_variance"]


@dataclass(frozen=True, eq=False)
class PosteriorVariance:
    r"""Per-entry posterior variance $V(\sigma) = \mathbb{E}|z - \hat z(x, \sigma)|^2$ of a model.

    Attributes
    ----------
    sigma : ndarray, shape (n,)
        Increasing noise levels (normalised coordinates).
    conditional : ndarray, shape (n,) or None
        $V$ with the pilots (conditional models), None for unconditional ones.
    null : ndarray, shape (n,)
        $V$ without them (the prior's, or the null token's).
    n_rows : int
        Held-out rows it was measured on.
    """

    sigma: np.ndarray
    conditional: np.ndarray | None
    null: np.ndarray
    n_rows: int

    __repr__ = summary_repr

    def __call__(self, sigma: float, conditional: bool = True) -> float:
        """$V(\\sigma)$, log-log interpolated and clamped to the measured range."""
        curve = self.conditional if conditional and self.conditional is not None else self.null
        logv = np.log(np.maximum(curve, 1e-300))
        return float(np.exp(np.interp(math.log(max(sigma, 1e-300)), np.log(self.sigma), logv)))

    def to_dict(self) -> dict:
        return {
            "sigma": [float(s) for s in self.sigma],
            "conditional": None
            if self.conditional is None
            else [float(v) for v in self.conditional],
            "null": [float(v) for v in self.null],
            "n_rows": int(self.n_rows),
        }

    @classmethod
    def from_dict(cls, data) -> PosteriorVariance | None:
        if data is None:
            return None
        cond = data.get("conditional")
        return cls(
            np.asarray(data["sigma"], dtype=float),
            None if cond is None else np.asarray(cond, dtype=float),
            np.asarray(data["null"], dtype=float),
            int(data["n_rows"]),
        )


@torch.no_grad()
def estimate_posterior_variance(
    predict_noise, z, y_feat=None, *, sigma_min: float, sigma_max: float, n_levels: int = 24,
    seed: int = 0, batch_size: int = 512,
) -> PosteriorVariance:  # fmt: skip
    r"""Measure $V(\sigma) = \sigma^2\,\mathbb{E}|\hat\epsilon - \epsilon|^2$ per entry.

    Parameters
    ----------
    predict_noise : callable
        `(x, sigma, y_feat_or_None) -> eps_hat` in normalised coordinates.
    z : torch.Tensor, shape (n, *channel_shape), complex
        Held-out clean states (normalised).
    y_feat : torch.Tensor, optional
        Their pilot features (conditional models).
    sigma_min, sigma_max : float
        Range of the grid (geometric, `n_levels` points).
    seed : int
        Seed of the noise draws (the estimate is deterministic).
    """
    n_levels = check_int(n_levels, "n_levels", minimum=2)
    sigmas = np.geomspace(sigma_min, sigma_max, n_levels)
    gen = torch.Generator().manual_seed(int(seed) * 7_919 + 17)
    rows = z.shape[0]
    extra = (1,) * (z.ndim - 1)
    cond = np.zeros(n_levels) if y_feat is not None else None
    null = np.zeros(n_levels)
    for i, s in enumerate(sigmas):
        for start in range(0, rows, batch_size):
            stop = min(start + batch_size, rows)
            n = stop - start
            eps = randn_complex((n, *z.shape[1:]), gen, z.device)
            sig = torch.full((n,), float(s), dtype=torch.float32, device=z.device)
            x = z[start:stop] + sig.reshape(-1, *extra).to(z.real.dtype) * eps
            err = (predict_noise(x, sig, None) - eps).abs().square().mean()
            null[i] += float(err) * n
            if cond is not None:
                err = (predict_noise(x, sig, y_feat[start:stop]) - eps).abs().square().mean()
                cond[i] += float(err) * n
    scale = sigmas**2 / rows
    return PosteriorVariance(
        sigmas, None if cond is None else cond * scale, null * scale, int(rows)
    )
