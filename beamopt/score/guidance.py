r"""Likelihood guidance of an unconditional prior: moment projection (tmpd, pigdm) and DPS.

These methods add an approximate score of the noisy likelihood $p(y \mid x_t)$ to the prior
score and run one reverse pass; none reweights, so none is exact for a non-Gaussian prior
(the asymptotically exact method is the twisted SMC of [`beamopt.score.smc`][]).

* **tmpd** (Tweedie moment projection): $p(y \mid x) \approx \mathcal{CN}(y;\ \tilde A\hat z(x),
  \tilde A\Sigma(x)\tilde A^H + \sigma_n^2 I)$ with the Tweedie mean
  $\hat z = x - \sigma\hat\epsilon$ and covariance $\Sigma = \sigma^2\,\partial\hat z/\partial
  x^T$ (autograd, $2 n_{obs}$ extra backward passes per step). Exact for Gaussian priors as
  `n_steps` grows; for other priors exact only as $\sigma \to 0$.
* **pigdm**: the same with $\Sigma = \sigma^2/(1+\sigma^2)\, I$ (exact for a white
  unit-variance prior; one backward pass per step).
* **DPS** (diffusion posterior sampling): a point mass at $\hat z(x_t)$ for $p(z \mid x_t)$
  and, after each DDPM step, the correction
  $x_s \leftarrow x_s - \zeta'\,\nabla_{x_t}\|y/\mathrm{scale} - A\hat z(x_t)\|^2 /
  \|y/\mathrm{scale} - A\hat z(x_t)\|$ (the normalised step of Chung et al., Algorithm 1).
  Biased even for Gaussian priors; `step_size` $\zeta'$ trades data fit against prior fit.

Coordinates: $x$ is the variance-exploding state of normalised channels $z = h/\mathrm{scale}$;
$\tilde A = \mathrm{scale}\cdot A$, so $y = \tilde A z + n$ in the user's units.

References
----------
Boys et al., "Tweedie moment projected diffusions for inverse problems", 2023; Song, Vahdat,
Mardani and Kautz, "Pseudoinverse-guided diffusion models for inverse problems", 2023; Chung,
Kim, McCann, Klasky and Ye, "Diffusion posterior sampling for general noisy inverse
problems", 2023.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch

from ._sampling import abar_grid, complex_normal, predict_noise

__all__ = ["moment_guided_noise", "dps_reverse"]

NoiseFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def moment_guided_noise(
    model,
    A: torch.Tensor,
    noise_var: float,
    y: torch.Tensor,
    *,
    method: str = "tmpd",
    sigma_jacobian: float = math.inf,
    sigma_guidance: float = math.inf,
) -> NoiseFn:
    r"""The guided noise $\hat\epsilon - \sigma\nabla_{\bar x}\log p(y \mid x)$ (tmpd or pigdm).

    `A` is the raw pilot matrix (n_obs, n); `y` the received pilots, one row per state
    `(B, n_obs)` (or one row broadcast to all states).
    """
    scale = float(model.scale)
    m = A.shape[0]

    def fn(x, sigma):
        B = x.shape[0]
        s = sigma.reshape(-1, *[1] * (x.ndim - 1))
        if float(sigma.min()) > sigma_guidance:
            return predict_noise(model, x, sigma, None)
        yb = y if y.shape[0] == B else y.expand(B, m)
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            eps = predict_noise(model, xg, sigma, None)
            Am = scale * ((xg - s * eps).reshape(B, -1) @ A.T)  # raw-unit A E[h | x]
            rows = []
            # The Jacobian of a network is unreliable at large sigma (it is trained on
            # finite noise levels, and sigma^2 J amplifies its errors), so above
            # sigma_jacobian the isotropic covariance takes over.
            use_jac = method == "tmpd" and float(sigma.max()) <= sigma_jacobian
            for k in range(m if use_jac else 0):
                v = torch.zeros(B, m, dtype=torch.complex128, device=x.device)
                v[:, k] = 1.0
                (g1,) = torch.autograd.grad(Am, xg, v, retain_graph=True)
                (g2,) = torch.autograd.grad(Am, xg, 1j * v, retain_graph=True)
                # torch's VJP is J^H v + P^T conj(v); two real/imaginary probes isolate J.
                rows.append(((g1 - 1j * g2) / 2).conj().reshape(B, -1))
            if rows:
                JA = torch.stack(rows, dim=1)  # (B, m, n) = d(A E[h|x]) / dx^T
                data = (scale * sigma**2)[:, None, None] * (JA @ A.mH)
            else:
                # Cov[z | x] ~ sigma^2 / (1 + sigma^2) I: exact for a white CN(0, I) prior.
                r2 = (sigma**2 / (1.0 + sigma**2)).to(torch.complex128)[:, None, None]
                data = (scale**2 * r2) * (A @ A.mH)
            data = 0.5 * (data + data.mH)
            lam, U = torch.linalg.eigh(data)
            S = (U * (lam.clamp_min(0.0) + noise_var)[:, None, :].to(U.dtype)) @ U.mH
            r = yb - Am
            w = torch.linalg.solve(S.detach(), r[..., None])[..., 0]
            log_lik = -(r.conj() * w).real.sum()
            (g,) = torch.autograd.grad(log_lik, xg)
        # torch returns 2 d/d(conj x) of a real function.
        return (eps - s * (g / 2)).detach()

    return fn


def dps_reverse(
    model,
    A: torch.Tensor,
    y: torch.Tensor,
    *,
    shape,
    n_steps: int,
    step_size: float,
    generator: torch.Generator,
    device="cpu",
    callback=None,
) -> torch.Tensor:
    r"""DPS (Chung et al., Algorithm 1) on the DDPM grid: one forward and one backward pass
    per step.

    `A` raw (n_obs, n); `y` raw pilots, one row per state `(B, n_obs)`. Returns the clean
    states $z$, `(B, *shape)`, normalised coordinates.
    """
    scale = float(model.scale)
    B = y.shape[0]
    y_n = y / scale  # y / scale = A z + n / scale
    x = complex_normal((B, *shape), generator, device)
    ones = torch.ones(B, dtype=torch.float64, device=device)
    abars = abar_grid(n_steps)
    for step, (a_t, a_s) in enumerate(itertools.pairwise(abars)):
        sigma = math.sqrt((1.0 - a_t) / a_t)
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            eps = predict_noise(model, xg / math.sqrt(a_t), sigma * ones, None)
            z_hat = (xg - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)
            r = y_n - z_hat.reshape(B, -1) @ A.T
            norm2 = r.abs().square().sum(-1)
            (g,) = torch.autograd.grad(norm2.sum(), xg)  # real gradient as a complex number
        eps, z_hat = eps.detach(), z_hat.detach()
        if callback is not None:
            callback(step, sigma, x, z_hat)
        bt = max((1.0 - a_s) / (1.0 - a_t) * (1.0 - a_t / a_s), 0.0)
        x = math.sqrt(a_s) * z_hat + math.sqrt(max(1.0 - a_s - bt, 0.0)) * eps
        if bt > 0.0:
            x = x + math.sqrt(bt) * complex_normal(x.shape, generator, device)
        norm = norm2.detach().sqrt().clamp_min(1e-30).reshape(-1, *[1] * len(shape))
        x = x - step_size * g.detach() / norm
    return x
