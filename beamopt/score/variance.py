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

**Low-rank covariance.** Channel posteriors are far from isotropic (on the 3GPP channels of the
channel-estimation study the largest posterior eigenvalue is thousands of times the median
one, and ten of 192 directions hold three quarters of the trace), and one scalar $V_t$ then
widens the few wide directions too little: 20 analytic steps on the study's exact Gaussian
posteriors give 0.82 of their spread (0.98 with the step below at $r = 32$). With `rank`
$r > 0$ the error covariance is measured too, in an orthonormal basis
$U \in \mathbb{C}^{d \times r}$ of its dominant directions (those of its sum over six noise
levels, which the large ones dominate; with and without the pilots separately),

$$
\Sigma_t = \mathbb{E}\big[(z - \hat z)(z - \hat z)^H\big]
\approx U S_t U^H + v_t\,(I - U U^H), \qquad
S_t = U^H \Sigma_t U, \quad v_t = \frac{d\,V_t - \operatorname{tr} S_t}{d - r},
$$

and the step injects $\mathcal{CN}(0, c^2 I + k^2 \Sigma_t)$ instead of
$\mathcal{CN}(0, (c^2 + k^2 V_t) I)$: the moment-matched step of a Gaussian posterior with that
covariance (exact at any step count when it is the posterior's), at $O(d r)$ per draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._repr import summary_repr
from .._validation import as_array, check_finite, check_int
from ..posterior.lmmse import _paired
from ._torch import randn_complex

__all__ = [
    "LowRankVariance",
    "PosteriorVariance",
    "estimate_posterior_variance",
    "measure_posterior_variance",
]


@dataclass(frozen=True, eq=False)
class LowRankVariance:
    r"""The error covariance $U S U^H + v\,(I - U U^H)$ at one noise level (per entry units).

    Attributes
    ----------
    basis : ndarray, shape (d, r), complex
        Orthonormal columns $U$.
    sub : ndarray, shape (r, r), complex
        $S = U^H \Sigma U$ (Hermitian, positive semi-definite).
    rest : float
        $v$, the per-entry variance of the other $d - r$ directions.
    """

    basis: np.ndarray
    sub: np.ndarray
    rest: float

    __repr__ = summary_repr

    @property
    def trace(self) -> float:
        r"""$\operatorname{tr}\Sigma$."""
        d, r = self.basis.shape
        return float(np.real(np.trace(self.sub)) + (d - r) * self.rest)


def inject_noise(xi: torch.Tensor, c: float, k: float, variance) -> torch.Tensor:
    r"""Noise of covariance $c^2 I + k^2 \Sigma$ from standard complex normal `xi`.

    `variance` is $V$ (a float: $\Sigma = V I$) or a
    [`LowRankVariance`][beamopt.score.variance.LowRankVariance] (basis and sub-matrix as numpy
    or torch arrays); `xi` has shape `(n, *shape)` with $\prod$ `shape` $= d$.
    """
    if not isinstance(variance, LowRankVariance):
        return math.sqrt(c * c + k * k * max(float(variance), 0.0)) * xi
    flat = xi.reshape(xi.shape[0], -1)
    U, S = (torch.as_tensor(np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a,
                            dtype=flat.dtype, device=flat.device)
            for a in (variance.basis, variance.sub))  # fmt: skip
    lam, Q = torch.linalg.eigh(c * c * torch.eye(S.shape[0], dtype=S.dtype, device=S.device)
                               + k * k * S)  # fmt: skip
    root = (Q * lam.clamp(min=0.0).sqrt().to(Q.dtype)) @ Q.conj().T  # Hermitian square root
    q = flat @ U.conj()  # rows of U^H xi
    out = math.sqrt(c * c + k * k * max(float(variance.rest), 0.0)) * (flat - q @ U.T)
    out = out + (q @ root.T) @ U.T
    return out.reshape(xi.shape)


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
    conditional_basis, null_basis : ndarray, shape (d, r), complex, or None
        Orthonormal dominant directions $U$ of the error covariance with and without the
        pilots (None: isotropic only).
    conditional_sub, null_sub : ndarray, shape (n, r, r), complex, or None
        $S(\sigma) = U^H \Sigma(\sigma) U$ in those bases.
    """

    sigma: np.ndarray
    conditional: np.ndarray | None
    null: np.ndarray
    n_rows: int
    conditional_basis: np.ndarray | None = None
    conditional_sub: np.ndarray | None = None
    null_basis: np.ndarray | None = None
    null_sub: np.ndarray | None = None

    __repr__ = summary_repr

    def __call__(self, sigma: float, conditional: bool = True) -> float:
        """$V(\\sigma)$, log-log interpolated and clamped to the measured range."""
        curve = self.conditional if conditional and self.conditional is not None else self.null
        logv = np.log(np.maximum(curve, 1e-300))
        return float(np.exp(np.interp(math.log(max(sigma, 1e-300)), np.log(self.sigma), logv)))

    @property
    def rank(self) -> int:
        """Directions of the low-rank covariance (0 when only $V$ was measured)."""
        return 0 if self.null_basis is None else int(self.null_basis.shape[1])

    def covariance(self, sigma: float, conditional: bool = True):
        r"""$\Sigma(\sigma)$ as a [`LowRankVariance`][beamopt.score.variance.LowRankVariance]
        ($S$ interpolated linearly in $\log\sigma$, so it stays positive semi-definite, and
        $v$ from the trace $d\,V(\sigma)$), or $V(\sigma)$ when no basis was measured."""
        v = self(sigma, conditional)
        use_cond = conditional and self.conditional is not None
        basis = self.conditional_basis if use_cond else self.null_basis
        if basis is None:
            return v
        subs = self.conditional_sub if use_cond else self.null_sub
        t = np.log(self.sigma)
        pos = float(np.interp(math.log(max(sigma, 1e-300)), t, np.arange(len(t))))
        i = min(int(pos), len(t) - 2)
        w = pos - i
        sub = (1.0 - w) * subs[i] + w * subs[i + 1]
        d, r = basis.shape
        rest = 0.0 if d == r else max((d * v - float(np.real(np.trace(sub)))) / (d - r), 0.0)
        return LowRankVariance(basis, sub, rest)

    def to_dict(self) -> dict:
        def cplx(a):
            return None if a is None else {"re": a.real.tolist(), "im": a.imag.tolist()}

        return {
            "sigma": [float(s) for s in self.sigma],
            "conditional": None
            if self.conditional is None
            else [float(v) for v in self.conditional],
            "null": [float(v) for v in self.null],
            "n_rows": int(self.n_rows),
            "conditional_basis": cplx(self.conditional_basis),
            "conditional_sub": cplx(self.conditional_sub),
            "null_basis": cplx(self.null_basis),
            "null_sub": cplx(self.null_sub),
        }

    @classmethod
    def from_dict(cls, data) -> PosteriorVariance | None:
        if data is None:
            return None
        cond = data.get("conditional")

        def cplx(key):
            a = data.get(key)
            return None if a is None else np.asarray(a["re"]) + 1j * np.asarray(a["im"])

        return cls(
            np.asarray(data["sigma"], dtype=float),
            None if cond is None else np.asarray(cond, dtype=float),
            np.asarray(data["null"], dtype=float),
            int(data["n_rows"]),
            cplx("conditional_basis"),
            cplx("conditional_sub"),
            cplx("null_basis"),
            cplx("null_sub"),
        )


def _errors(predict_noise, z, y_feat, s, gen, start, stop):
    r"""Per-row errors $\sigma(\hat\epsilon - \epsilon)$, flattened, without and with pilots."""
    n = stop - start
    extra = (1,) * (z.ndim - 1)
    eps = randn_complex((n, *z.shape[1:]), gen, z.device)
    sig = torch.full((n,), float(s), dtype=torch.float32, device=z.device)
    x = z[start:stop] + sig.reshape(-1, *extra).to(z.real.dtype) * eps
    null = (predict_noise(x, sig, None) - eps).reshape(n, -1) * float(s)
    if y_feat is None:
        return null, None
    cond = (predict_noise(x, sig, y_feat[start:stop]) - eps).reshape(n, -1) * float(s)
    return null, cond


#: Error rows stacked for the basis of a channel of more than DENSE_ENTRIES entries: at most
#: this many bytes (complex64), so a 16 384-entry channel uses 2 048 rows (256 MiB).
STACK_BYTES = 2**28
DENSE_ENTRIES = 4096


def _dominant_bases(predict_noise, z, y_feat, sigmas, rank, gen, batch_size):
    """Orthonormal top-`rank` directions of the error covariance summed over noise levels,
    without and with the pilots. Unscaled, the sum is dominated by the large noise levels,
    where the error covariance is the (pilot-averaged) posterior covariance itself.

    Up to `DENSE_ENTRIES` entries: 4 096 rows over six levels of the grid, one dense
    eigendecomposition. Above: the three largest of those levels only (the small ones add
    isotropic noise that a row-limited randomised SVD cannot afford) and as many rows as
    `STACK_BYTES` allows."""
    d = int(np.prod(z.shape[1:]))
    levels = sigmas[np.unique(np.round(np.linspace(0, len(sigmas) - 1, 6)).astype(int))]
    if d <= DENSE_ENTRIES:
        total = 4096
    else:
        levels = levels[-3:]
        total = max(4 * rank, STACK_BYTES // (8 * d))
    rows = min(z.shape[0], max(total // len(levels), rank))
    stacks = ([], [])
    for s in levels:
        for start in range(0, rows, batch_size):
            stop = min(start + batch_size, rows)
            for stack, e in zip(stacks, _errors(predict_noise, z, y_feat, s, gen, start, stop)):
                if e is not None:
                    stack.append(e)
    return tuple(None if not stack else _top(torch.cat(stack).T, rank) for stack in stacks)


def _top(A, rank):
    """Top-`rank` left singular vectors of `A` (d, N): the dominant directions of A A^H."""
    if A.shape[0] <= DENSE_ENTRIES:
        _, vecs = torch.linalg.eigh((A @ A.conj().T).to(torch.complex128))
        return vecs[:, -rank:].flip(-1).cpu().numpy()
    U, _, _ = torch.svd_lowrank(A, q=min(rank + 8, *A.shape), niter=4)
    return U[:, :rank].to(torch.complex128).cpu().numpy()


@torch.no_grad()
def estimate_posterior_variance(
    predict_noise, z, y_feat=None, *, sigma_min: float, sigma_max: float, n_levels: int = 24,
    seed: int = 0, batch_size: int = 512, rank: int = 0,
) -> PosteriorVariance:  # fmt: skip
    r"""Measure $V(\sigma) = \sigma^2\,\mathbb{E}|\hat\epsilon - \epsilon|^2$ per entry and,
    with `rank` $> 0$, the error covariance $\Sigma(\sigma)$ in its dominant directions.

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
    rank : int
        Directions $r$ of the low-rank covariance (module text); 0 measures $V$ only. Capped
        at the number of channel entries $d$ (with $r = d$ the covariance is full).
    """
    n_levels = check_int(n_levels, "n_levels", minimum=2)
    rank = check_int(rank, "rank", minimum=0)
    sigmas = np.geomspace(sigma_min, sigma_max, n_levels)
    gen = torch.Generator().manual_seed(int(seed) * 7_919 + 17)
    rows = z.shape[0]
    d = int(np.prod(z.shape[1:]))
    rank = min(rank, d)
    bases = {"null": None, "cond": None}
    if rank > 0:
        found = _dominant_bases(predict_noise, z, y_feat, sigmas, rank, gen, batch_size)
        bases = dict(zip(("null", "cond"), found))
        U = {
            k: None if b is None else torch.as_tensor(b, device=z.device) for k, b in bases.items()
        }
    keys = ("null",) if y_feat is None else ("null", "cond")
    v = {k: np.zeros(n_levels) for k in keys}  # summed |e|^2 / d per level
    subs = {k: np.zeros((n_levels, rank, rank), complex) for k in keys}
    for i, s in enumerate(sigmas):
        for start in range(0, rows, batch_size):
            stop = min(start + batch_size, rows)
            for key, e in zip(keys, _errors(predict_noise, z, y_feat, s, gen, start, stop)):
                v[key][i] += float(e.abs().square().sum()) / d
                if rank > 0:
                    q = e.to(U[key].dtype) @ U[key].conj()  # rows of U^H e
                    subs[key][i] += (q.T @ q.conj()).cpu().numpy()
    cond = v["cond"] / rows if "cond" in v else None
    if rank == 0:
        return PosteriorVariance(sigmas, cond, v["null"] / rows, int(rows))
    return PosteriorVariance(
        sigmas, cond, v["null"] / rows, int(rows),
        bases["cond"], subs["cond"] / rows if "cond" in subs else None,
        bases["null"], subs["null"] / rows,
    )  # fmt: skip


def measure_posterior_variance(
    model, channels, observations=None, *, rank: int | None = None, n_levels: int = 24,
    seed: int = 0, batch_size: int = 512,
) -> PosteriorVariance:  # fmt: skip
    r"""A trained model's posterior-variance curve (and low-rank covariance) on given pairs.

    `train_score_model` measures one curve on its held-out pairs, averaged over everything
    they hold. Where the posterior width depends on something known per observation (its
    SNR, a user's speed), measure one curve per group of like pairs with this and hand each
    observation its own: `ConditionalSampler(model, variance=curve)`.

    Parameters
    ----------
    model : ScoreModel or denoiser
        Anything with `predict_noise(x, sigma, y)` (normalised $x$, raw $y$) and `scale`.
    channels : array_like, complex, shape (n, *channel_shape)
        Pairs the model was not trained on (raw units).
    observations : array_like, shape (n, *obs_shape), optional
        Their observations (conditional models); None measures the prior's curve only.
    rank : int, optional
        Directions of the low-rank covariance; default `model.config.variance_rank` (32).
    n_levels, seed, batch_size
        As [`estimate_posterior_variance`][beamopt.score.variance.estimate_posterior_variance].

    Returns
    -------
    PosteriorVariance
    """
    if observations is None:
        H, Y = as_array(channels, "channels", dtype=complex), None
        check_finite(H, "channels")
    else:
        H, Y = _paired(channels, observations)  # the LMMSE fit's checks of paired draws
    shape = tuple(getattr(model, "channel_shape", H.shape[1:]))
    if H.ndim < 2 or tuple(H.shape[1:]) != shape:
        raise ValueError(f"channels must have shape (n, {shape}); got {H.shape}")
    config = getattr(model, "config", None)
    if rank is None:
        rank = getattr(config, "variance_rank", 32)
    z = torch.as_tensor(H / float(getattr(model, "scale", 1.0)), dtype=torch.complex128)
    y = None if Y is None else torch.as_tensor(Y)
    return estimate_posterior_variance(
        model.predict_noise, z, y,
        sigma_min=getattr(config, "sigma_min", 2e-3), sigma_max=getattr(config, "sigma_max", 100.0),
        n_levels=n_levels, seed=seed, batch_size=batch_size, rank=rank,
    )  # fmt: skip
