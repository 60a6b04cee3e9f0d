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

**Noise-aware base** (`ScoreConfig(noise_row=True)`, observations built by
[`append_noise_level`][beamopt.score.noise_level.append_noise_level]): the last
observation row holds each drop's pilot noise standard deviation $\sigma_i$, and the base
conditions each drop on its own noise variance $v_i$ (per real feature) instead of the
average one. The fit removes the average noise from the pilot covariance,
$C_{\bar y} = C_y - \bar v I$ (the joint matrix of $z_r$ and the noise-free pilots projected
onto the PSD cone, so every posterior below is a covariance), with the pilot moments
weighted by $1 / (P + v_i)^2$, $P$ the mean noise-free pilot power per feature: the inverse
variance of a drop's second moments, without which the low-SNR drops dominate the
estimation error. The posterior of a drop is the noise-aware LMMSE one,

$$
m(y, v) = \mu_z + B \operatorname{diag}\!\Big(\frac{1}{\gamma + v}\Big) W^\top (y_r - \mu_y),
\qquad S_v = C_z - B \operatorname{diag}\!\Big(\frac{1}{\gamma + v}\Big) B^\top,
$$

with $C_{\bar y} = W \operatorname{diag}(\gamma) W^\top$ and $B = C_{zy} W$, so the mean
is exact for every $v_i$ at the cost of two matrix-vector products. An exact per-drop
denoiser would also need one $D \times D$ eigendecomposition of $S_{v_i}$ per row; instead
the eigenbasis of $S_v$ is stored on `NOISE_GRID` levels of $v$, log-spaced over the
training range, and the denoised estimate is interpolated linearly in $\log v$ between the
two levels around $v_i$ (exact at the levels; 0.5 dB apart for a 20 dB range, where the
interpolation error is far below the covariance fit's sampling error). Outside the training
range the nearest level is used.

The network's output head is zero-initialised, so the untrained model *is* this denoiser:
its posterior-mean estimate is the linear MMSE estimate fitted to the training pairs and its
samples are that Gaussian posterior's. Training then only has to learn what is not linear
(the sparse multipath structure, the noise level a drop's pilots reveal), and the held-out
selection keeps the Gaussian start where training does not beat it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["GaussianBase", "MAX_BASE_DIM", "NOISE_GRID"]

#: Largest real dimension D the base accepts (its D x D eigenbasis is held in memory and
#: applied per evaluation).
MAX_BASE_DIM = 8192
#: Noise levels of the noise-aware base's grid (log-spaced over the training range).
NOISE_GRID = 41
#: Largest memory of the noise-aware base's per-level eigenbases (float32).
MAX_GRID_BYTES = 1 << 30


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
    noise_entries : int
        Complex entries of the noise-level row that ends each observation (0: none; see
        the noise-aware base in the module text).
    """

    def __init__(
        self, n_entries: int, obs_features: int | None = None, noise_entries: int = 0
    ) -> None:
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
        self.noise_entries = int(noise_entries)
        if self.conditional and not self.noise_entries:  # the SNR-blind posterior
            p = int(obs_features)
            self.register_buffer("mu_y", torch.zeros(p))
            self.register_buffer("gain", torch.zeros(D, p))
            self.register_buffer("lam_post", torch.zeros(D))
            self.register_buffer("U_post", torch.eye(D))
        if self.noise_entries:
            if not self.conditional or obs_features <= 2 * self.noise_entries:
                raise ValueError(
                    "a noise-level row needs a conditional base with pilot rows before it; got "
                    f"{obs_features} observation features and {noise_entries} noise entries"
                )
            p = int(obs_features) - 2 * self.noise_entries
            G = NOISE_GRID
            if G * D * D * 4 > MAX_GRID_BYTES:
                raise ValueError(
                    f"noise_row=True stores {G} posterior eigenbases of {D} x {D}: at most "
                    f"{MAX_GRID_BYTES >> 20} MiB, got {G * D * D * 4 >> 20} MiB for "
                    f"{n_entries} channel entries; use noise_row=False"
                )
            self.register_buffer("log_v", torch.zeros(G, dtype=torch.float64))
            self.register_buffer("pilot_mu", torch.zeros(p))
            self.register_buffer("pilot_W", torch.eye(p))  # eigenbasis of C_ybar
            self.register_buffer("pilot_gam", torch.ones(p))  # its eigenvalues (+ ridge)
            self.register_buffer("cross", torch.zeros(D, p))  # C_zy W
            self.register_buffer("lam_v", torch.zeros(G, D))
            self.register_buffer("U_v", torch.eye(D).repeat(G, 1, 1))

    def _split(self, y_feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pilot features (B, p) and the noise variance per real feature (B,) from
        `complex_to_features` rows [sqrt2 Re, sqrt2 Im] whose last entries are sigma_i."""
        m, L = y_feat.shape[1] // 2, self.noise_entries
        re, im = y_feat[:, :m], y_feat[:, m:]
        pilots = torch.cat([re[:, : m - L], im[:, : m - L]], dim=1)
        # sqrt2 sigma / obs_scale in the real part: v = sigma^2 / obs_scale^2 per real feature
        v = 0.5 * (re[:, m - L :] ** 2).mean(dim=1)
        return pilots, v

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
            if self.noise_entries:
                self._fit_noise_aware(zr, yr, ridge)
                return self
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

    def _fit_noise_aware(self, zr, yr_all, ridge):
        yp, v = self._split(yr_all)
        n, D = zr.shape
        p = yp.shape[1]
        # pilot moments weighted by 1 / (P + v_i)^2, the inverse variance of a drop's second
        # moments: the low-SNR drops would otherwise dominate the estimation error (on the
        # channel study the base's mean is 4.7 % / 5.8 % above the LMMSE fitted to noise-free
        # pilots unweighted, 1.2 % / 1.3 % weighted); the channel moments take every drop alike
        mu_z = zr.mean(0)
        power = max(float((yp - yp.mean(0)).pow(2).mean() - v.mean()), 1e-12)
        w = 1.0 / (power + v) ** 2
        w = w / w.sum()
        mu_y = w @ yp
        dz, dy = zr - mu_z, yp - mu_y
        unbiased = 1.0 / (1.0 - float(w @ w))
        J = torch.empty(D + p, D + p, dtype=zr.dtype, device=zr.device)
        J[:D, :D] = dz.T @ dz / (n - 1)
        J[:D, D:] = (dz * w[:, None]).T @ dy * unbiased
        J[D:, :D] = J[:D, D:].T
        J[D:, D:] = (dy * w[:, None]).T @ dy * unbiased
        J[D:, D:] -= float(w @ v) * torch.eye(p, dtype=J.dtype, device=J.device)
        mu = torch.cat([mu_z, mu_y])
        lam_j, V = _eig(J)  # the noise-free joint covariance, projected onto the PSD cone
        J = (V * lam_j) @ V.T
        Cz, Czy, Cyc = J[:D, :D], J[:D, D:], J[D:, D:]
        gam, W = _eig(Cyc)
        gam = gam + ridge * max(float(gam.mean()), 1e-30)
        lo, hi = float(v.min()), float(v.max())
        log_v = torch.linspace(math.log(lo), math.log(hi), NOISE_GRID, dtype=torch.float64)
        dt = self.mu_z.dtype
        B = Czy @ W
        for g, lv in enumerate(log_v):
            lam, U = _eig(Cz - (B / (gam + math.exp(float(lv)))) @ B.T)
            self.lam_v[g].copy_(lam.to(dt))
            self.U_v[g].copy_(U.to(dt))
        self.log_v.copy_(log_v)
        self.pilot_mu.copy_(mu[D:].to(dt))
        self.pilot_W.copy_(W.to(dt))
        self.pilot_gam.copy_(gam.to(dt))
        self.cross.copy_(B.to(dt))

    def _noise_aware(self, xr, s2, y_feat):
        r"""Denoised rows $\hat z$, interpolated in $\log v$ between grid levels (module text)."""
        m, v = self._noise_aware_mean(y_feat.to(xr.dtype))
        G = self.log_v.numel()
        lo, w = self._grid_position(v)
        w = w.reshape(-1, 1)
        out = torch.zeros_like(xr)
        for k, weight in ((lo, 1.0 - w), (lo + 1, w)):
            k = k.clamp(max=G - 1)
            for g in torch.unique(k).tolist():
                rows = torch.nonzero(k == g)[:, 0]
                zh = self._denoise(xr[rows], s2[rows], m[rows], self.lam_v[g], self.U_v[g])
                out[rows] += weight[rows] * zh
        return out

    @torch.no_grad()
    def posterior(self, y_feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The base's Gaussian posterior per row: what the untrained model samples.

        Parameters
        ----------
        y_feat : torch.Tensor, real, shape (B, 2m)
            Observation features (`observation_features` of the raw pilots).

        Returns
        -------
        mean : torch.Tensor, shape (B, D)
            $m$ in real normalised coordinates ((Re, Im) interleaved per entry).
        cov : torch.Tensor, shape (B, D, D)
            $S$ (for the noise-aware base interpolated in $\log v$ between the grid levels
            as the denoiser is, exact at the levels).
        """
        if not self.conditional:
            raise ValueError("posterior() needs a conditional base")
        y = y_feat.to(self.mu_z.dtype)
        B = y.shape[0]
        if not self.noise_entries:
            mean = self.mu_z + (y - self.mu_y) @ self.gain.T
            cov = (self.U_post * self.lam_post) @ self.U_post.T
            return mean, cov.expand(B, -1, -1)
        mean, v = self._noise_aware_mean(y)
        lo, w = self._grid_position(v)
        hi = (lo + 1).clamp(max=self.log_v.numel() - 1)
        cov = {}  # only the levels these rows touch (each a D x D product)
        for g in torch.unique(torch.cat([lo, hi])).tolist():
            cov[g] = (self.U_v[g] * self.lam_v[g]) @ self.U_v[g].T
        wr = w.reshape(B, 1, 1)
        S = torch.stack([cov[int(a)] for a in lo]), torch.stack([cov[int(b)] for b in hi])
        return mean, (1 - wr) * S[0] + wr * S[1]

    def _noise_aware_mean(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """$m(y, v_i)$ per row (exact in $v_i$) and $v_i$, from observation features."""
        yp, v = self._split(y)
        coef = ((yp - self.pilot_mu) @ self.pilot_W) / (self.pilot_gam + v[:, None])
        return self.mu_z + coef @ self.cross.T, v

    def _grid_position(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Lower grid level and the interpolation weight of each noise variance."""
        log_v = self.log_v
        G = log_v.numel()
        step = float(log_v[-1] - log_v[0]) / max(G - 1, 1)
        if step > 0:
            t = ((torch.log(v.to(torch.float64)) - log_v[0]) / step).clamp(0, G - 1)
        else:
            t = torch.zeros_like(v, dtype=torch.float64)
        lo = t.floor().long().clamp(max=max(G - 2, 0))
        return lo, (t - lo).to(v.dtype).clamp(0, 1)

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
            if self.noise_entries:
                post = self._noise_aware(xr, s2, y_feat)
            else:
                m = self.mu_z + (y_feat.to(xr.dtype) - self.mu_y) @ self.gain.T
                post = self._denoise(xr, s2, m, self.lam_post, self.U_post)
            use = torch.ones(B, dtype=torch.bool, device=x.device) if keep is None else keep
            zhat = torch.where(use.reshape(B, 1), post, zhat)
        zc = torch.view_as_complex(zhat.reshape(*x.shape, 2).contiguous()).to(x.dtype)
        s = sigma.reshape(B, *(1,) * (x.ndim - 1)).to(x.real.dtype)
        return (x - zc) / s

    def extra_repr(self) -> str:
        return (
            f"D={self.mu_z.numel()}, conditional={self.conditional}, "
            f"noise_entries={self.noise_entries}"
        )
