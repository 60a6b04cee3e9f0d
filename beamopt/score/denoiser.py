r"""The denoiser protocol every sampler runs on, and exact denoisers for Gaussian(-mixture) priors.

A denoiser predicts the noise of a noisy channel $x = z + \sigma \epsilon$, $\epsilon \sim
\mathcal{CN}(0, I)$, in normalised coordinates $z = h / \mathrm{scale}$. Tweedie's formula
turns the prediction into the posterior mean and the score,

$$
\mathbb{E}[z \mid x] = x - \sigma\, \hat\epsilon(x, \sigma), \qquad
\nabla_{\bar x} \log p_\sigma(x) = \frac{\mathbb{E}[z \mid x] - x}{\sigma^2}
= -\frac{\hat\epsilon(x, \sigma)}{\sigma},
$$

(the gradient is the conjugate Wirtinger derivative $\partial / \partial \bar x$ that matches
$\mathcal{CN}$ densities). A learned [`beamopt.score.model.ScoreModel`][] and the exact denoisers
here satisfy the same [`Denoiser`][beamopt.score.denoiser.Denoiser] protocol, so a sampler can
be checked against the exact answer with the network swapped out.

For a prior $z \sim \mathcal{CN}(\mu, C)$ with $C = V \Lambda V^H$ the exact noise prediction is

$$
\hat\epsilon(x, \sigma) = V \operatorname{diag}\!\left(\frac{\sigma}{\lambda_i + \sigma^2}\right)
V^H (x - \mu),
$$

which has no cancellation at large $\sigma$. For a mixture
$\sum_k \pi_k \mathcal{CN}(\mu_k, C_k)$ the prediction is the responsibility-weighted average
of the component predictions with responsibilities
$r_k(x) \propto \pi_k\, \mathcal{CN}(x; \mu_k, C_k + \sigma^2 I)$. Given received pilots
$y$ of a pilot model (a [`beamopt.LinearObservation`][]) the exact conditional prior is the
exact posterior
([`beamopt.GaussianPosterior`][], [`beamopt.GaussianMixturePosterior`][]), so the conditional
denoiser uses the conditioned components and weights instead.

References
----------
B. Efron, "Tweedie's formula and selection bias", JASA, 2011; Ho, Jain and Abbeel, "Denoising
diffusion probabilistic models", 2020.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from .._deprecation import deprecated_alias, renamed_keyword
from .._repr import summary_repr
from .._validation import as_array, check_int, check_positive, readonly
from ..posterior import GaussianMixturePosterior, GaussianPosterior, LinearObservation

__all__ = ["Denoiser", "GaussianDenoiser", "GaussianMixtureDenoiser", "check_denoiser"]


@runtime_checkable
class Denoiser(Protocol):
    r"""Noise prediction $\hat\epsilon(x, \sigma, y)$ in normalised coordinates.

    Attributes
    ----------
    channel_shape : tuple of int
        Shape of one channel $h$ (and of $z = h / \mathrm{scale}$).
    obs_shape : tuple of int or None
        Shape of one observation $y$; `None` for an unconditional denoiser.
    scale : float
        Data scale: $z = h / \mathrm{scale}$.

    Methods
    -------
    predict_noise(x, sigma, y=None)
        `x`: torch complex `(B, *channel_shape)`, $x = z + \sigma \epsilon$; `sigma`:
        torch float `(B,)`, > 0; `y`: torch complex `(B, *obs_shape)` in the user's raw
        units, or `None` for the unconditional prediction (the classifier-free-guidance null
        token). Returns $\hat\epsilon$, torch complex, shaped like `x`; differentiable with
        respect to `x` when `x` requires grad.
    """

    channel_shape: tuple[int, ...]
    obs_shape: tuple[int, ...] | None
    scale: float

    def predict_noise(self, x: Any, sigma: Any, y: Any = None) -> Any:
        """Return the predicted noise, shaped like `x`."""
        ...


def check_denoiser(model, name: str = "model", *, conditional: bool = False):
    """Return `model` if it satisfies [`Denoiser`][beamopt.score.denoiser.Denoiser], else raise.

    With `conditional=True` the model must also accept observations (`obs_shape` set).
    """
    missing = [a for a in ("channel_shape", "obs_shape", "scale") if not hasattr(model, a)]
    if missing or not callable(getattr(model, "predict_noise", None)):
        raise ValueError(
            f"{name} must implement the Denoiser protocol (channel_shape, obs_shape, scale, "
            f"predict_noise(x, sigma, y=None)); got {type(model).__name__}"
        )
    if conditional and model.obs_shape is None:
        raise ValueError(f"{name} must be conditional (obs_shape not None); it is unconditional")
    check_positive(model.scale, f"{name}.scale")
    return model


def _eig(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lam, V = np.linalg.eigh(0.5 * (cov + cov.conj().T))
    tol = 10.0 * lam.size * np.finfo(float).eps * max(float(np.max(np.abs(lam))), 1e-300)
    return np.where(lam > tol, lam, 0.0), V


def _mixture_noise(x, sigma, log_w, means, lam, V):
    r"""Exact $\hat\epsilon$ of a Gaussian mixture, batched, in plain torch ops (autograd-safe).

    x (B, n) complex; sigma (B,) real; log_w (B, K); means (B, K, n); lam (K, n); V (K, n, n).
    """
    d = x[:, None, :] - means
    u = torch.einsum("bkn,knm->bkm", d, V.conj())  # V_k^H (x - mu_k)
    s = sigma[:, None, None]
    denom = lam[None] + s * s
    eps_k = torch.einsum("bkm,knm->bkn", u * (s / denom), V)
    if means.shape[1] == 1:
        return eps_k[:, 0]
    log_lik = -torch.log(denom).sum(-1) - (u.abs() ** 2 / denom).sum(-1)
    r = torch.softmax(log_w + log_lik, dim=1)
    return torch.einsum("bk,bkn->bn", r.to(eps_k.dtype), eps_k)


@dataclass(frozen=True, eq=False)
class GaussianMixtureDenoiser:
    r"""Exact denoiser of a Gaussian-mixture channel prior, optionally conditioned on pilots.

    Implements [`Denoiser`][beamopt.score.denoiser.Denoiser]. With prior
    $h \sim \sum_k \pi_k \mathcal{CN}(\mu_k, C_k)$ and $z = h/\mathrm{scale}$,

    $$
    \hat\epsilon(x, \sigma) = \sum_k r_k(x)\, V_k \operatorname{diag}\!\left(
        \frac{\sigma}{\lambda_{k,i} + \sigma^2}\right) V_k^H (x - \mu_k),
    \qquad r_k(x) \propto \pi_k\, \mathcal{CN}(x; \mu_k, C_k + \sigma^2 I),
    $$

    in normalised coordinates ($\mu_k$, $C_k$ divided by scale and scale$^2$). Given $y$ the
    prior is replaced by the exact posterior mixture (weights $w_k(y)$, means $\mu_{k|y}$,
    covariances $C_{k|y}$) of [`beamopt.GaussianMixturePosterior`][].

    Parameters
    ----------
    weights : array_like, shape (n_components,)
        Prior weights, > 0, summing to one.
    means : array_like, shape (n_components, *channel_shape), complex
    covariances : array_like, shape (n_components, n_channel, n_channel), complex
        Covariances of `vec(h)` (row-major), Hermitian PSD.
    channel_shape : tuple of int, optional
        Defaults to `means.shape[1:]`.
    pilot_model : LinearObservation, optional
        Pilot model; when given, `predict_noise` accepts `y` of shape `(B, n_obs)`. (Old
        name `observation=`, accepted with a `DeprecationWarning` until beamopt 0.3.)
    scale : float
        Data scale, > 0 (1.0: normalised and raw coordinates coincide).
    """

    weights: Any
    means: Any
    covariances: Any
    channel_shape: tuple[int, ...] | None = None
    pilot_model: LinearObservation | None = None
    scale: float = 1.0
    posterior: GaussianMixturePosterior = field(init=False, repr=False)
    _prior: tuple = field(init=False, repr=False)
    _cond: tuple = field(init=False, repr=False)

    __repr__ = summary_repr

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        means = as_array(self.means, "means", dtype=complex)
        if means.ndim < 2:
            raise ValueError(
                f"means must have shape (n_components, *channel_shape); got {means.shape}"
            )
        shape = means.shape[1:] if self.channel_shape is None else self.channel_shape
        shape = tuple(check_int(d, "channel_shape entries") for d in shape)
        obs = self.pilot_model
        if obs is None:
            obs = LinearObservation(np.zeros((1, int(np.prod(shape)))), shape, 1.0)
        elif not isinstance(obs, LinearObservation):
            raise ValueError(f"pilot_model must be a LinearObservation; got {type(obs).__name__}")
        elif obs.channel_shape != shape:
            raise ValueError(
                f"pilot_model.channel_shape {obs.channel_shape} must equal channel_shape {shape}"
            )
        # The exact posterior does the validation and the conditioning maths.
        post = GaussianMixturePosterior(self.weights, means, self.covariances, obs)
        scale = check_positive(self.scale, "scale")
        set_(self, "channel_shape", shape)
        set_(self, "scale", scale)
        set_(self, "posterior", post)
        set_(self, "weights", post.weights)
        set_(self, "means", post.means)
        set_(self, "covariances", post.covariances)
        n = post.pilot_model.n_channel
        prior_eigs = [_eig(C / scale**2) for C in post.covariances]
        set_(self, "_prior", self._pack(prior_eigs, post.means.reshape(-1, n) / scale))
        cond_eigs = [_eig(c.covariance / scale**2) for c in post.components]
        set_(self, "_cond", self._pack(cond_eigs, None))

    @staticmethod
    def _pack(eigs, means):
        lam = torch.as_tensor(np.stack([e[0] for e in eigs]), dtype=torch.float64)
        V = torch.as_tensor(np.stack([e[1] for e in eigs]), dtype=torch.complex128)
        mu = None if means is None else torch.as_tensor(means, dtype=torch.complex128)
        return lam, V, mu

    @classmethod
    def from_posterior(cls, posterior: GaussianMixturePosterior, *, scale: float = 1.0):
        """The conditional exact denoiser of an exact mixture posterior (same prior and pilots)."""
        if not isinstance(posterior, GaussianMixturePosterior):
            raise ValueError(
                f"posterior must be a GaussianMixturePosterior; got {type(posterior).__name__}"
            )
        return cls(
            posterior.weights,
            posterior.means,
            posterior.covariances,
            pilot_model=posterior.pilot_model,
            scale=scale,
        )

    observation = deprecated_alias("pilot_model", "observation")

    @property
    def obs_shape(self) -> tuple[int, ...] | None:
        """`(n_obs,)` when built with a pilot model, else `None`."""
        return None if self.pilot_model is None else (self.pilot_model.n_obs,)

    def predict_noise(self, x, sigma, y=None):
        r"""Exact $\hat\epsilon(x, \sigma)$, or $\hat\epsilon(x, \sigma, y)$ given pilots `y`.

        Parameters
        ----------
        x : torch.Tensor, shape (B, *channel_shape), complex
            Noisy channel in normalised coordinates.
        sigma : torch.Tensor or float, shape (B,) or scalar
            Noise level(s), > 0.
        y : torch.Tensor or array_like, shape (B, n_obs), complex, optional
            Pilot observations (raw units); `None`: unconditional.

        Returns
        -------
        torch.Tensor, shape like `x`, complex128 (on `x`'s device)
        """
        x, sigma, B = _check_inputs(x, sigma, self.channel_shape)
        device = x.device
        x = x.to("cpu", torch.complex128).reshape(B, -1)
        sigma = sigma.to("cpu", torch.float64)
        if y is None:
            lam, V, mu = self._prior
            log_w = torch.log(torch.tensor(np.array(self.weights))).expand(B, -1)
            means = mu.expand(B, -1, -1)
        else:
            if self.pilot_model is None:
                raise ValueError("y must be None: this denoiser was built without a pilot_model")
            y_np = _check_obs(y, self.pilot_model, B)
            lam, V, _ = self._cond
            w = self.posterior.posterior_weights(y_np)
            log_w = torch.as_tensor(np.log(np.maximum(w, 1e-300)), dtype=torch.float64)
            m = np.stack([c.mean(y_np) for c in self.posterior.components], axis=1)
            means = torch.as_tensor(m.reshape(B, len(w[0]), -1) / self.scale)
        eps = _mixture_noise(x, sigma, log_w, means, lam, V)
        return eps.reshape(B, *self.channel_shape).to(device)


@dataclass(frozen=True, eq=False)
class GaussianDenoiser:
    r"""Exact denoiser of a complex Gaussian channel prior, optionally conditioned on pilots.

    Implements [`Denoiser`][beamopt.score.denoiser.Denoiser]. With prior
    $\operatorname{vec}(h) \sim \mathcal{CN}(\mu, C)$ and $z = h / \mathrm{scale}$,

    $$
    \mathbb{E}[z \mid x] = \mu + C (C + \sigma^2 I)^{-1} (x - \mu), \qquad
    \hat\epsilon = \frac{x - \mathbb{E}[z \mid x]}{\sigma}
    $$

    (in normalised coordinates). Given $y$ the prior is replaced by the exact posterior
    $\mathcal{CN}(\mu_{|y}, C_{|y})$ of [`beamopt.GaussianPosterior`][], so that
    `predict_noise(x, sigma, y)` is the exact conditional noise prediction.

    Parameters
    ----------
    prior_cov : array_like, shape (n_channel, n_channel), complex
        Covariance $C$ of `vec(h)` (row-major), Hermitian PSD.
    prior_mean : array_like, shape channel_shape, complex, optional
        Mean $\mu$ (zero by default).
    channel_shape : tuple of int, optional
        Shape of one channel; default `prior_mean.shape`, or `(n_channel,)` without a mean.
    pilot_model : LinearObservation, optional
        Pilot model; when given, `predict_noise` accepts `y` of shape `(B, n_obs)`. (Old
        name `observation=`, accepted with a `DeprecationWarning` until beamopt 0.3.)
    scale : float
        Data scale, > 0.
    """

    prior_cov: Any
    prior_mean: Any = None
    channel_shape: tuple[int, ...] | None = None
    pilot_model: LinearObservation | None = None
    scale: float = 1.0
    mixture: GaussianMixtureDenoiser = field(init=False, repr=False)

    __repr__ = summary_repr

    def __post_init__(self) -> None:
        C = as_array(self.prior_cov, "prior_cov", dtype=complex, ndim=2)
        shape = self.channel_shape
        if shape is None:
            shape = (C.shape[0],) if self.prior_mean is None else np.shape(self.prior_mean)
        shape = tuple(check_int(d, "channel_shape entries") for d in shape)
        mean = np.zeros(shape, complex) if self.prior_mean is None else self.prior_mean
        mean = as_array(mean, "prior_mean", dtype=complex)
        if mean.shape != shape:
            raise ValueError(f"prior_mean must have shape {shape}; got {mean.shape}")
        n = int(np.prod(shape))
        if C.shape != (n, n):
            raise ValueError(f"prior_cov must have shape ({n}, {n}); got {C.shape}")
        mix = GaussianMixtureDenoiser(
            [1.0], mean[None], C[None], shape, self.pilot_model, self.scale
        )
        set_ = object.__setattr__
        set_(self, "mixture", mix)
        set_(self, "channel_shape", shape)
        set_(self, "scale", mix.scale)
        set_(self, "prior_cov", readonly(mix.covariances[0]))
        set_(self, "prior_mean", readonly(mix.means[0]))

    @classmethod
    def from_posterior(cls, posterior: GaussianPosterior, *, scale: float = 1.0):
        """The conditional exact denoiser of an exact Gaussian posterior (same prior and pilots)."""
        if not isinstance(posterior, GaussianPosterior):
            raise ValueError(
                f"posterior must be a GaussianPosterior; got {type(posterior).__name__}"
            )
        return cls(
            posterior.prior_cov,
            posterior.prior_mean,
            pilot_model=posterior.pilot_model,
            scale=scale,
        )

    observation = deprecated_alias("pilot_model", "observation")

    @property
    def obs_shape(self) -> tuple[int, ...] | None:
        """`(n_obs,)` when built with a pilot model, else `None`."""
        return self.mixture.obs_shape

    @property
    def posterior(self) -> GaussianPosterior:
        """The exact posterior used for `y` (a placeholder pilot model if none was given)."""
        return self.mixture.posterior.components[0]

    def predict_noise(self, x, sigma, y=None):
        r"""Exact $\hat\epsilon(x, \sigma)$, or $\hat\epsilon(x, \sigma, y)$ given pilots `y`.

        See [`GaussianMixtureDenoiser.predict_noise`][
        beamopt.score.denoiser.GaussianMixtureDenoiser.predict_noise].
        """
        return self.mixture.predict_noise(x, sigma, y)


def _check_inputs(x, sigma, channel_shape):
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(as_array(x, "x", dtype=complex))
    k = len(channel_shape)
    if x.ndim != k + 1 or tuple(x.shape[1:]) != tuple(channel_shape):
        raise ValueError(
            f"x must have shape (B, {', '.join(map(str, channel_shape))}); got {tuple(x.shape)}"
        )
    B = x.shape[0]
    sigma = torch.as_tensor(sigma, dtype=torch.float64)
    if sigma.ndim == 0:
        sigma = sigma.expand(B)
    if sigma.shape != (B,):
        raise ValueError(f"sigma must have shape ({B},) or be a scalar; got {tuple(sigma.shape)}")
    if not bool(torch.all(torch.isfinite(sigma) & (sigma > 0))):
        raise ValueError("sigma must be finite and > 0")
    return x, sigma, B


def _check_obs(y, pilot_model: LinearObservation, B: int) -> np.ndarray:
    y = pilot_model.check_observation(y, "y")
    if y.shape != (B, pilot_model.n_obs):
        raise ValueError(f"y must have shape ({B}, {pilot_model.n_obs}); got {y.shape}")
    return y


for _cls in (GaussianMixtureDenoiser, GaussianDenoiser):
    _cls.__init__ = renamed_keyword("observation", "pilot_model")(_cls.__init__)
