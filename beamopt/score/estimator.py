r"""The discriminative baseline: the same backbone trained by MSE to estimate the channel.

Empirical risk minimisation with the squared error,

$$
\hat\theta = \arg\min_\theta \frac1N \sum_i \big\| f_\theta(y_i) - z_i \big\|^2,
\qquad z_i = h_i / \mathrm{scale},
$$

approximates the conditional mean $E[h \mid y]$ (the MMSE estimator), the supervised (SL)
model that "Score-based channel estimation and Bayesian precoding" compares its diffusion
model with. The transformer decoder then queries with the positional encodings alone.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..training import resolve_validation
from . import _checkpoint
from ._torch import as_complex_data, features_to_complex, resolve_device, rms, seeded
from .model import observation_features
from .networks import build_network, resolve_patch_size
from .training import (
    EVAL_ROWS,
    ScoreConfig,
    _check_config,
    _check_seed,
    fit,
    prepare_resume,
    warn_if_still_improving,
)

__all__ = ["ChannelEstimator", "train_estimator"]


class ChannelEstimator(nn.Module):
    r"""A trained point estimator $\hat h(y)$ (the conditional-mean approximation).

    Attributes
    ----------
    channel_shape, obs_shape : tuple of int
    scale, obs_scale : float
        RMS per complex entry of the training channels / observations.
    config : ScoreConfig
        The training configuration (its diffusion fields are unused).
    history : TrainingHistory or None
        The training record (held-out MSE per evaluation).
    """

    def __init__(
        self, network, *, channel_shape, obs_shape, scale, obs_scale, config, history=None
    ) -> None:
        super().__init__()
        self.network = network
        self.channel_shape = tuple(int(d) for d in channel_shape)
        self.obs_shape = tuple(int(d) for d in obs_shape)
        self.scale = float(scale)
        self.obs_scale = float(obs_scale)
        self.config = config
        self.history = history
        self.requires_grad_(False)
        self.eval()

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.network.parameters())

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Complex (B, *obs_shape) raw observations -> complex (B, *channel_shape) estimates."""
        y = y.to(self.device, torch.complex64)
        y_feat = observation_features(y, self.obs_scale, y.shape[0])
        out = self.network(None, None, y_feat, None)
        return features_to_complex(out, self.channel_shape) * self.scale

    def estimate(self, y, *, batch_size: int = 4096) -> np.ndarray:
        r"""Channel estimates $\hat h(y)$.

        Parameters
        ----------
        y : array_like, complex, shape (n, *obs_shape) or obs_shape
            Raw observations in the user's units.

        Returns
        -------
        numpy.ndarray, complex128, shape (n, *channel_shape)
        """
        arr = np.asarray(y.detach().cpu() if torch.is_tensor(y) else y)
        if tuple(arr.shape) == self.obs_shape:
            arr = arr[None]
        arr = as_complex_data(arr, "y", shape=self.obs_shape)
        out = []
        with torch.no_grad():
            for start in range(0, arr.shape[0], batch_size):
                chunk = torch.as_tensor(arr[start : start + batch_size], dtype=torch.complex64)
                out.append(self(chunk).cpu().numpy())
        return np.concatenate(out).astype(np.complex128)

    def save(self, path) -> Path:
        """Write the estimator (weights, config, scaling, shapes, version) atomically."""
        return _checkpoint.save_model(path, "estimator", self)

    @classmethod
    def load(cls, path, *, device="auto") -> ChannelEstimator:
        """Load an estimator written by `save` or a checkpoint of `train_estimator`.

        `device`: "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".
        """
        return _checkpoint.load_model(cls, path, kind="estimator", device=device, denoising=False)


def train_estimator(
    channels,
    observations,
    *,
    config: ScoreConfig | None = None,
    seed: int = 0,
    validation=0.1,
    checkpoint=None,
    progress: bool = True,
) -> ChannelEstimator:
    r"""Train the discriminative MSE estimator on (channel, observation) pairs.

    Parameters
    ----------
    channels : array_like, complex, shape (n_samples, *channel_shape)
    observations : array_like, complex, shape (n_samples, *obs_shape)
    config : ScoreConfig, optional
        Backbone and optimiser settings (default `ScoreConfig()`; its objective, sigma and
        `p_uncond` fields are unused).
    seed : int
    validation : float or tuple of arrays or None
        Held-out pairs: a share of the rows in [0, 1) (default 0.1, drawn from `seed`), 0 or
        None for none, or explicit `(channels, observations)`. Their normalised MSE is
        recorded every `config.eval_every` iterations and the best weights are returned.
    checkpoint : path, optional
        Resumable training checkpoint, as in
        [`train_score_model`][beamopt.score.training.train_score_model].
    progress : bool

    Returns
    -------
    ChannelEstimator
        The kept EMA weights, eval mode, with the training record in `history`.
    """
    config = _check_config(ScoreConfig() if config is None else config)
    if config.base != "white":
        raise ValueError(
            f"config.base must be 'white' for train_estimator (a Gaussian base is a denoiser's "
            f"first term; fit_lmmse is the linear estimator); got {config.base!r}"
        )
    seed = _check_seed(seed)
    data = as_complex_data(channels, "channels")
    obs = as_complex_data(observations, "observations", n=data.shape[0])
    channel_shape, obs_shape = tuple(data.shape[1:]), tuple(obs.shape[1:])
    if config.network != "mlp":
        resolve_patch_size(channel_shape, config.patch_size)
    (data, obs), held = resolve_validation(
        (data, obs), validation, seed, ("channels", "observations")
    )
    path, resume = prepare_resume(
        checkpoint,
        kind="estimator",
        config=config,
        channel_shape=channel_shape,
        obs_shape=obs_shape,
        seed=seed,
    )
    scale = resume["scale"] if resume else rms(data, "channels")
    obs_scale = resume["obs_scale"] if resume else rms(obs, "observations")
    device = resolve_device(config.device)
    with seeded(seed):
        network = build_network(config, channel_shape, obs_shape, denoising=False)
    z = torch.as_tensor(data / scale, dtype=torch.complex64, device=device)
    y_raw = torch.as_tensor(obs, dtype=torch.complex64, device=device)
    y_all = observation_features(y_raw, obs_scale, y_raw.shape[0])
    n_data, batch = z.shape[0], config.batch_size

    def loss_fn(net, gen):
        idx = torch.randint(n_data, (batch,), generator=gen).to(device)
        z_hat = features_to_complex(net(None, None, y_all[idx], None), channel_shape)
        return (z_hat - z[idx]).abs().square().mean()

    validate = None
    if held is not None:
        rows = min(held[0].shape[0], EVAL_ROWS)
        z_val = torch.as_tensor(held[0][:rows] / scale, dtype=torch.complex64, device=device)
        y_val = torch.as_tensor(held[1][:rows], dtype=torch.complex64, device=device)
        y_val = observation_features(y_val, obs_scale, rows)

        @torch.no_grad()
        def validate(net):
            total = 0.0
            for start in range(0, rows, 512):
                stop = min(start + 512, rows)
                out = net(None, None, y_val[start:stop], None)
                err = (features_to_complex(out, channel_shape) - z_val[start:stop]).abs()
                total += float(err.square().reshape(stop - start, -1).mean(dim=1).sum())
            return total / rows

    meta = {
        "kind": "estimator",
        "config": asdict(config),
        "channel_shape": channel_shape,
        "obs_shape": obs_shape,
        "scale": scale,
        "obs_scale": obs_scale,
    }
    ema, history = fit(
        network,
        loss_fn,
        config=config,
        seed=seed,
        device=device,
        checkpoint=path,
        resume=resume,
        meta=meta,
        progress=progress,
        desc="estimator",
        validate=validate,
        n_train=n_data,
        n_validation=0 if held is None else held[0].shape[0],
        loss_name="MSE per entry (normalised)",
    )
    warn_if_still_improving(history, "train_estimator", config.n_iterations, config.improvement_z)
    return ChannelEstimator(
        ema,
        channel_shape=channel_shape,
        obs_shape=obs_shape,
        scale=scale,
        obs_scale=obs_scale,
        config=config,
        history=history,
    )
