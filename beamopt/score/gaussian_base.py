r"""The exact denoiser of the Gaussian fit to the training pairs: a base for the network to correct.

With `ScoreConfig(base="gaussian")` the noise prediction of
[`noise_prediction`][beamopt.score.model.noise_prediction] starts from the exact noise
prediction of a Gaussian channel instead of a white one. In real coordinates
$z_r = (\Re z, \Im z)$ (dimension $D = 2 \times$ channel entries) the training pairs give
the joint Gaussian fit $z_r \sim \mathcal N(\mu_z, C_z)$,
$\operatorname{Cov}(z_r, y_r) = C_{zy}$, $\operatorname{Cov}(y_r) = C_y$. Given the
observation the Gaussian posterior is the SNR-blind LMMSE one,

$$
m(y) = \mu_z + K (y_r - \mu_y), \qquad K = C_{zy} C_y^{-1}, \qquad
S = C_z - K C_{zy}^\top,
$$

(and $m = \mu_z$, $S = C_z$ for the NULL token), and with $x = z + \sigma\epsilon$,
$\epsilon \sim \mathcal{CN}(0, I)$ (real variance $\sigma^2/2$ per coordinate) the exact
Gaussian denoiser is

$$
\hat z_G = m + U \operatorname{diag}\!\Big(\frac{\lambda}{\lambda + \sigma^2/2}\Big)
    U^\top (x_r - m), \qquad
\hat\epsilon_G = \frac{x - \hat z_G}{\sigma}, \qquad S = U \operatorname{diag}(\lambda) U^\top .
$$

The network's output head is zero-initialised, so the untrained model *is* this denoiser:
its posterior-mean estimate is the linear MMSE estimate fitted to the training pairs and its
samples are that Gaussian posterior's. Training then only has to learn what is not linear
(the sparse multipath structure, the noise level a drop's pilots reveal), and the held-out
selection keeps the Gaussian start where training does not beat it.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GaussianBase", "MAX_BASE_DIM"]

#: Largest real dimension D the base accepts (its D x D eigenbasis is held in memory and
#: applied per evaluation).
MAX_BASE_DIM = 8192


def _flat(x: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(x).reshape(x.shape[0], -1)


def _eig(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lam, U = torch.linalg.eigh(0.5 * (cov + cov.T))
    return lam.clamp_min(0.0), U


class GaussianBase(nn.Module):
    r"""Exact noise prediction of the joint Gaussian fit (module text); buffers only.

    Parameters
    ----------
    n_entries : int
        Complex channel entries ($D = 2\,$`n_entries`).
    obs_features : int or None
        Real observation features ($2m$), None for an unconditional model.
    """

    def __init__(self, n_entries: int, obs_features: int | None = None) -> None:
        super().__init__()
        D = 2 * int(n_entries)
        if D > MAX_BASE_DIM:
            raise ValueError(
                f"base='gaussian' supports channels of at most {MAX_BASE_DIM // 2} complex "
                f"entries (a dense {MAX_BASE_DIM} x {MAX_BASE_DIM} covariance); got "
                f"{n_entries}: use base='white'"
            )
        self.conditional = obs_features is not None
        self.register_buffer("mu_z", torch.zeros(D))
        self.register_buffer("lam_prior", torch.zeros(D))
        self.register_buffer("U_prior", torch.eye(D))
        if self.conditional:
            p = int(obs_features)
            self.register_buffer("mu_y", torch.zeros(p))
            self.register_buffer("gain", torch.zeros(D, p))
            self.register_buffer("lam_post", torch.zeros(D))
            self.register_buffer("U_post", torch.eye(D))

    @torch.no_grad()
    def fit(self, z: torch.Tensor, y_feat: torch.Tensor | None = None, *, ridge: float = 1e-6):
        r"""Fit the Gaussian to training rows `z` (complex, (n, *shape), normalised) and their
        observation features `y_feat` ((n, 2m)); in float64, stored in the buffers' dtype.

        `ridge` times the mean eigenvalue regularises $C_y$ (pilots with no noise or
        repeated entries make it singular)."""
        zr = _flat(z).to(torch.float64)
        n = zr.shape[0]
        if n < 2:
            raise ValueError(f"base='gaussian' needs at least 2 training rows; got {n}")
        dt = self.mu_z.dtype
        mu = zr.mean(0)
        dz = zr - mu
        Cz = dz.T @ dz / (n - 1)
        lam, U = _eig(Cz)
        self.mu_z.copy_(mu.to(dt))
        self.lam_prior.copy_(lam.to(dt))
        self.U_prior.copy_(U.to(dt))
        if self.conditional:
            if y_feat is None:
                raise ValueError("a conditional base needs the observation features")
            yr = y_feat.to(torch.float64)
            my = yr.mean(0)
            dy = yr - my
            Cy = dy.T @ dy / (n - 1)
            Czy = dz.T @ dy / (n - 1)
            Cy = Cy + ridge * max(float(torch.trace(Cy)) / Cy.shape[0], 1e-30) * torch.eye(
                Cy.shape[0], dtype=Cy.dtype, device=Cy.device
            )
            K = torch.linalg.solve(Cy, Czy.T).T
            lam, U = _eig(Cz - K @ Czy.T)
            self.mu_y.copy_(my.to(dt))
            self.gain.copy_(K.to(dt))
            self.lam_post.copy_(lam.to(dt))
            self.U_post.copy_(U.to(dt))
        return self

    def _denoise(self, xr, s2, m, lam, U):
        coef = (xr - m) @ U
        return m + (coef * (lam / (lam + 0.5 * s2))) @ U.T

    def noise(self, x: torch.Tensor, sigma: torch.Tensor, y_feat=None, keep=None):
        r"""$\hat\epsilon_G(x, \sigma, y)$: complex, the shape of `x` ((B, *shape)); `sigma`
        (B,); `y_feat` (B, 2m) or None (NULL token for all rows); `keep` (B,) bool or None
        (rows with False take the NULL token, as in training with classifier-free dropout)."""
        B = x.shape[0]
        xr = _flat(x).to(self.mu_z.dtype)
        s2 = (sigma.to(xr.dtype) ** 2).reshape(B, 1)
        zhat = self._denoise(xr, s2, self.mu_z, self.lam_prior, self.U_prior)
        if self.conditional and y_feat is not None:
            m = self.mu_z + (y_feat.to(xr.dtype) - self.mu_y) @ self.gain.T
            post = self._denoise(xr, s2, m, self.lam_post, self.U_post)
            use = torch.ones(B, dtype=torch.bool, device=x.device) if keep is None else keep
            zhat = torch.where(use.reshape(B, 1), post, zhat)
        zc = torch.view_as_complex(zhat.reshape(*x.shape, 2).contiguous()).to(x.dtype)
        s = sigma.reshape(B, *(1,) * (x.ndim - 1)).to(x.real.dtype)
        return (x - zc) / s

    def extra_repr(self) -> str:
        return f"D={self.mu_z.numel()}, conditional={self.conditional}"
