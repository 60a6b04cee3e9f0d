r"""`ScoreModel`: a trained noise-prediction network in normalised coordinates.

The model sees $x = z + \sigma\epsilon$ with $z = h / \mathrm{scale}$ and
$\epsilon \sim \mathcal{CN}(0, I)$ and predicts $\epsilon$. The network output $F$ is
preconditioned so that its training target has unit variance at every noise level and so
that $F = 0$ is the exact answer for a white unit-power prior:

$$
\hat\epsilon(x, \sigma, y) = \frac{\sigma}{1 + \sigma^2}\, x
  + \frac{1}{\sqrt{1 + \sigma^2}}\, F\!\left(\frac{x}{\sqrt{1 + \sigma^2}},
  \tfrac14 \log\sigma, y\right).
$$

With `ScoreConfig(base="gaussian")` the first term is the exact noise prediction of the
Gaussian fit to the training pairs instead ([`beamopt.score.gaussian_base`][]): $F = 0$ is
then the linear MMSE denoiser. Tweedie's formula gives the posterior mean
$E[z \mid x] = x - \sigma\hat\epsilon$ and the score
$\nabla_x \log p_\sigma(x) = -\hat\epsilon / \sigma$.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from . import _checkpoint
from ._torch import complex_to_features, features_to_complex

__all__ = ["ScoreModel", "noise_prediction", "observation_features"]


def observation_features(y: torch.Tensor, obs_scale: float, batch: int) -> torch.Tensor:
    """Raw complex observations (B or 1, *obs_shape) -> normalised real features (batch, 2m)."""
    feat = complex_to_features((y / obs_scale).reshape(y.shape[0], -1), 1)[:, 0]
    return feat.expand(batch, -1) if feat.shape[0] == 1 and batch != 1 else feat


def noise_prediction(
    network: nn.Module, x, sigma, y_feat=None, keep=None, sigma_range=None
) -> torch.Tensor:
    r"""$\hat\epsilon$ from the raw network output with the preconditioning above.

    `x` complex (B, *channel_shape), `sigma` real (B,), `y_feat` real (B, 2m) or None.
    `sigma_range` = (lo, hi) clamps the noise level the network is told (not the
    preconditioning): outside the trained range the network sees its nearest trained level,
    so for $\sigma \to \infty$ the Tweedie mean tends to the one learned at $\sigma_{\max}$
    instead of an extrapolation of the noise embedding.
    """
    extra = (1,) * (x.ndim - 1)
    s = sigma.reshape(-1, *extra)
    norm = torch.sqrt(1.0 + s * s)
    feat = complex_to_features(x / norm, network.n_tokens)
    told = sigma if sigma_range is None else sigma.clamp(*sigma_range)
    out = features_to_complex(network(feat, torch.log(told) / 4, y_feat, keep), x.shape[1:])
    base = getattr(network, "base", None)
    linear = x * (s / (1.0 + s * s)) if base is None else base.noise(x, sigma, y_feat, keep)
    return linear + out / norm


class ScoreModel(nn.Module):
    r"""A learned denoiser of complex channels (implements the `Denoiser` protocol).

    Built by [`train_score_model`][beamopt.score.training.train_score_model] or
    [`ScoreModel.load`][beamopt.score.model.ScoreModel.load]. Parameters are frozen: the
    output of [`predict_noise`][beamopt.score.model.ScoreModel.predict_noise] requires grad
    only when its input does (posterior samplers differentiate through it).

    Attributes
    ----------
    channel_shape : tuple of int
        Shape of one channel.
    obs_shape : tuple of int or None
        Shape of one raw observation; None for an unconditional model.
    scale : float
        RMS per complex channel entry of the training data; $z = h / \mathrm{scale}$.
    obs_scale : float or None
        RMS per complex observation entry (observations are normalised by it internally).
    config : ScoreConfig
        The training configuration.
    sigma_min, sigma_max : float
        Range of noise levels seen in training (normalised coordinates).
    history : TrainingHistory or None
        The training record (held-out losses per iteration and noise band); None for a model
        saved without one.
    """

    def __init__(
        self,
        network: nn.Module,
        *,
        channel_shape,
        obs_shape=None,
        scale: float,
        obs_scale: float | None = None,
        config,
        history=None,
    ) -> None:
        super().__init__()
        self.network = network
        self.channel_shape = tuple(int(d) for d in channel_shape)
        self.obs_shape = None if obs_shape is None else tuple(int(d) for d in obs_shape)
        self.scale = float(scale)
        self.obs_scale = None if obs_scale is None else float(obs_scale)
        self.config = config
        self.history = history
        # PosteriorVariance measured on held-out pairs after training (analytic reverse steps)
        self.posterior_variance = None
        self.sigma_min = float(config.sigma_min)
        self.sigma_max = float(config.sigma_max)
        self.requires_grad_(False)
        self.eval()

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.network.parameters())

    def predict_noise(self, x, sigma, y=None) -> torch.Tensor:
        r"""Predicted noise $\hat\epsilon(x, \sigma, y)$: complex, shape, dtype and device of `x`.

        Parameters
        ----------
        x : torch.Tensor, complex, shape (B, *channel_shape)
            Noisy channel in normalised coordinates, $x = z + \sigma\epsilon$.
        sigma : torch.Tensor or float
            Noise levels, shape (B,) (or a scalar / shape (1,), broadcast), all > 0.
        y : torch.Tensor or None, complex, shape (B, *obs_shape) or (1, *obs_shape) or obs_shape
            Raw observation in the user's units; None gives the unconditional prediction
            (the NULL token).
        """
        if not torch.is_tensor(x) or not x.is_complex():
            raise ValueError("x must be a complex torch tensor of shape (B, *channel_shape)")
        if tuple(x.shape[1:]) != self.channel_shape:
            raise ValueError(
                f"x must have shape (B, {', '.join(map(str, self.channel_shape))}); "
                f"got {tuple(x.shape)}"
            )
        param = next(self.network.parameters())
        dev, real = param.device, param.dtype
        cplx = torch.complex128 if real == torch.float64 else torch.complex64
        batch = x.shape[0]
        xin = x.to(device=dev, dtype=cplx)
        sig = torch.as_tensor(sigma, device=dev).to(real).reshape(-1)
        if sig.shape[0] == 1 and batch != 1:
            sig = sig.expand(batch)
        if sig.shape[0] != batch:
            raise ValueError(
                f"sigma must have shape ({batch},) or be a scalar; got {tuple(sig.shape)}"
            )
        y_feat = None
        if y is not None:
            if self.obs_shape is None:
                raise ValueError("y must be None: this model is unconditional (obs_shape is None)")
            yt = torch.as_tensor(y, device=dev).to(cplx)
            if tuple(yt.shape) == self.obs_shape:
                yt = yt[None]
            if tuple(yt.shape[1:]) != self.obs_shape or yt.shape[0] not in (1, batch):
                raise ValueError(
                    f"y must have shape ({batch} or 1, {', '.join(map(str, self.obs_shape))}); "
                    f"got {tuple(yt.shape)}"
                )
            y_feat = observation_features(yt, self.obs_scale, batch)
        if not bool((sig > 0).all()):
            raise ValueError("sigma must be > 0")
        eps = noise_prediction(
            self.network, xin, sig, y_feat, sigma_range=(self.sigma_min, self.sigma_max)
        )
        return eps.to(device=x.device, dtype=x.dtype)

    forward = predict_noise

    def denoise(self, x, sigma, y=None) -> torch.Tensor:
        r"""Tweedie posterior mean $E[z \mid x] = x - \sigma\hat\epsilon$ (normalised coords)."""
        eps = self.predict_noise(x, sigma, y)
        sig = torch.as_tensor(sigma, device=x.device, dtype=x.real.dtype).reshape(-1)
        return x - sig.reshape(-1, *(1,) * (x.ndim - 1)) * eps

    def save(self, path) -> Path:
        """Write the model (EMA weights, config, scaling, shapes, version) atomically."""
        return _checkpoint.save_model(path, "score", self)

    @classmethod
    def load(cls, path, *, device="auto") -> ScoreModel:
        """Load a model written by [`save`][beamopt.score.model.ScoreModel.save] or a training
        checkpoint of [`train_score_model`][beamopt.score.training.train_score_model].

        `device`: "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".
        """
        return _checkpoint.load_model(cls, path, kind="score", device=device)

    def extra_repr(self) -> str:
        return (
            f"channel_shape={self.channel_shape}, obs_shape={self.obs_shape}, "
            f"scale={self.scale:.4g}, n_parameters={self.n_parameters}"
        )
