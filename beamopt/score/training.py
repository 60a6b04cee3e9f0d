r"""Training learned channel denoisers: `ScoreConfig` and `train_score_model`.

Two objectives, both a noise-prediction loss on $x = z + \sigma\epsilon$,
$\epsilon \sim \mathcal{CN}(0, I)$, $z = h / \mathrm{scale}$:

$$
\mathcal L(\theta) = \mathbb E_{z, y, \sigma, \epsilon}
  \big\| \hat\epsilon_\theta(z + \sigma\epsilon, \sigma, y) - \epsilon \big\|^2 .
$$

Per sample the loss is weighted by $1 + \sigma^2$ by default (`weighting="v"`, see
[`ScoreConfig`][beamopt.score.training.ScoreConfig]) or not at all (`weighting="eps"`).

- `"ddpm"`: $\sigma = \sigma(t)$ of the cosine schedule with $t$ uniform (the DDPM "simple"
  loss, the choice of "Score-based channel estimation and Bayesian precoding"), restricted
  to $\sigma \in [\sigma_{\min}, \sigma_{\max}]$;
- `"ve_dsm"`: $\sigma$ uniform over geometric levels (multi-level denoising score matching
  with weights $\lambda(\sigma) = \sigma^2$, since $s_\theta = -\hat\epsilon_\theta / \sigma$).

For a conditional model the observation is replaced by the NULL token with probability
`p_uncond`, so the one network learns $\hat\epsilon(x, \sigma, y)$ and
$\hat\epsilon(x, \sigma, \varnothing)$ (classifier-free guidance).

Training uses Adam with a linear warm-up, gradient clipping and an exponential moving
average of the weights (the returned model carries the EMA weights). All randomness comes
from one CPU `torch.Generator` seeded by `seed`, so a CPU run is bit-reproducible and a run
resumed from its checkpoint ends at exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .._io import progress_bar
from .._validation import check_choice, check_int, check_positive
from . import _checkpoint
from ._torch import as_complex_data, randn_complex, resolve_device, rms, seeded
from .model import ScoreModel, noise_prediction, observation_features
from .networks import build_network, resolve_patch_size
from .schedule import cosine_sigma, cosine_time, ve_sigmas

__all__ = ["ScoreConfig", "train_score_model"]


@dataclass(frozen=True)
class ScoreConfig:
    r"""Network, objective and optimisation settings of a learned model.

    Parameters
    ----------
    network : {"auto", "mlp", "transformer"}
        Backbone; "auto" takes the MLP up to 64 complex channel entries, else the transformer.
    width, n_blocks : int
        MLP hidden width and residual blocks.
    d_model, n_heads, n_encoder_layers, n_decoder_layers, dim_feedforward : int
        Transformer sizes (small by default so CPU training is practical).
    patch_size, obs_patch_size : int or None
        Complex entries per channel / observation token (None: the channel's last axis).
    dropout : float
        Transformer dropout.
    objective : {"ddpm", "ve_dsm"}
        Cosine-schedule noise prediction or geometric multi-level DSM.
    weighting : {"eps", "v"}
        "eps": the plain noise-prediction loss (the DDPM simple loss, which "Score-based
        channel estimation and Bayesian precoding" trains with). "v" (default): the loss times
        $1 + \sigma^2$, the weighting of v-prediction, which counts the posterior-mean error
        $\|\hat z - z\|^2 = \sigma^2 \|\hat\epsilon - \epsilon\|^2$ at large $\sigma$ too
        (the eps loss all but ignores it there).
    sigma_min, sigma_max : float
        Noise-level range in normalised coordinates.
    n_levels : int
        Number of geometric levels for "ve_dsm".
    n_iterations, batch_size : int
    lr : float
        Adam learning rate (after `warmup` linear warm-up iterations).
    warmup : int
    grad_clip : float
        Max global gradient norm.
    ema_decay : float
        EMA decay of the returned weights (with the usual $\min(d, (1+k)/(10+k))$ ramp).
    p_uncond : float
        Probability of replacing the observation by the NULL token (conditional models).
    checkpoint_every : int
        Iterations between checkpoints when a checkpoint path is given.
    device : str
        "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
    """

    network: str = "auto"
    width: int = 128
    n_blocks: int = 3
    d_model: int = 64
    n_heads: int = 4
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    dim_feedforward: int = 128
    patch_size: int | None = None
    obs_patch_size: int | None = None
    dropout: float = 0.0
    objective: str = "ddpm"
    weighting: str = "v"
    sigma_min: float = 2e-3
    sigma_max: float = 100.0
    n_levels: int = 100
    n_iterations: int = 5000
    batch_size: int = 128
    lr: float = 1e-3
    warmup: int = 100
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    p_uncond: float = 0.1
    checkpoint_every: int = 500
    device: str = "auto"

    def __post_init__(self) -> None:
        check_choice(self.network, "network", ("auto", "mlp", "transformer"))
        check_choice(self.objective, "objective", ("ddpm", "ve_dsm"))
        check_choice(self.weighting, "weighting", ("eps", "v"))
        for name in (
            "width",
            "n_blocks",
            "d_model",
            "n_heads",
            "dim_feedforward",
            "n_levels",
            "batch_size",
            "checkpoint_every",
            "n_decoder_layers",
        ):
            check_int(getattr(self, name), name)
        for name in ("n_encoder_layers", "n_iterations", "warmup"):
            check_int(getattr(self, name), name, minimum=0)
        for name in ("patch_size", "obs_patch_size"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name)
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model must be a multiple of n_heads={self.n_heads}; got {self.d_model}"
            )
        lo = check_positive(self.sigma_min, "sigma_min")
        hi = check_positive(self.sigma_max, "sigma_max")
        if lo >= hi:
            raise ValueError(f"sigma_min must be < sigma_max; got {lo} >= {hi}")
        check_positive(self.lr, "lr")
        check_positive(self.grad_clip, "grad_clip")
        for name in ("dropout", "p_uncond", "ema_decay"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 <= value < 1):
                raise ValueError(f"{name} must lie in [0, 1); got {value!r}")
        if not isinstance(self.device, str):
            raise ValueError(
                f"device must be a string such as 'auto' or 'cpu'; got {self.device!r}"
            )


def _check_config(config) -> ScoreConfig:
    if not isinstance(config, ScoreConfig):
        raise ValueError(f"config must be a ScoreConfig; got {type(config).__name__}")
    return config


def _check_seed(seed) -> int:
    return check_int(seed, "seed", minimum=0)


def _progress_enabled(progress: bool) -> bool:
    return bool(progress) and sys.stderr.isatty()


def fit(
    network: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, torch.Generator], torch.Tensor],
    *,
    config: ScoreConfig,
    seed: int,
    device: torch.device,
    checkpoint: Path | None,
    resume: dict | None,
    meta: dict,
    progress: bool,
    desc: str,
) -> torch.nn.Module:
    """The optimisation loop shared by score models and estimators; returns the EMA network.

    `loss_fn(network, generator)` draws its own minibatch from the generator. `meta` holds
    the checkpoint fields that do not change during training (kind, config, shapes, scales).
    """
    generator = torch.Generator().manual_seed(seed)
    network.to(device).train()
    ema = copy.deepcopy(network).requires_grad_(False)
    optimizer = torch.optim.Adam(network.parameters(), lr=config.lr)
    start = 0
    if resume is not None:
        state = resume["training"]
        network.load_state_dict(state["weights"])
        ema.load_state_dict(resume["weights"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["rng"])
        start = int(state["iteration"])

    def write(iteration: int) -> None:
        training = {
            "iteration": iteration,
            "seed": seed,
            "weights": {k: v.detach().cpu() for k, v in network.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "rng": generator.get_state(),
        }
        _checkpoint.save(
            checkpoint, _checkpoint.payload(**meta, weights=ema.state_dict(), training=training)
        )

    steps = range(start, config.n_iterations)
    bar = progress_bar(steps, _progress_enabled(progress), desc, total=len(steps))
    running = None
    for it in bar:
        for group in optimizer.param_groups:
            group["lr"] = config.lr * min(1.0, (it + 1) / max(config.warmup, 1))
        loss = loss_fn(network, generator)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at iteration {it}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), config.grad_clip)
        optimizer.step()
        decay = min(config.ema_decay, (1.0 + it) / (10.0 + it))
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), network.parameters(), strict=True):
                p_ema.lerp_(p, 1.0 - decay)
        if hasattr(bar, "set_postfix") and it % 50 == 0:
            running = loss.item() if running is None else 0.9 * running + 0.1 * loss.item()
            bar.set_postfix(loss=f"{running:.4f}")
        done = it + 1
        if checkpoint is not None and (
            done % config.checkpoint_every == 0 or done == config.n_iterations
        ):
            write(done)
    return ema.eval()


def prepare_resume(checkpoint, *, kind, config, channel_shape, obs_shape, seed):
    """Load `checkpoint` if it exists and matches this run (else ValueError); None if absent."""
    if checkpoint is None:
        return None, None
    path = Path(checkpoint)
    if not path.exists():
        return path, None
    data = _checkpoint.load(path, kind=kind)
    _checkpoint.check_compatible(
        data,
        path,
        config=asdict(config),
        channel_shape=channel_shape,
        obs_shape=obs_shape,
        seed=seed,
    )
    return path, data


def train_score_model(
    channels,
    *,
    observations=None,
    config: ScoreConfig = ScoreConfig(),
    seed: int = 0,
    checkpoint=None,
    progress: bool = True,
) -> ScoreModel:
    r"""Train a (conditional) noise-prediction model on channel samples.

    Parameters
    ----------
    channels : array_like, complex, shape (n_samples, *channel_shape)
        Training channels in the user's units (normalised internally by their RMS `scale`).
    observations : array_like, complex, shape (n_samples, *obs_shape), optional
        Raw observations paired with `channels` (e.g. pilots $y = A\,\mathrm{vec}(h) + n$);
        given, the model is conditional and also learns the unconditional score through the
        NULL token.
    config : ScoreConfig
    seed : int
        Seeds network initialisation and every random draw of training.
    checkpoint : path, optional
        File to write training checkpoints to (atomically, every `config.checkpoint_every`
        iterations and at the end). If it exists, training resumes from it; a checkpoint from
        another config, data shape or seed raises ValueError. Raising `config.n_iterations`
        continues a finished run.
    progress : bool
        Show a tqdm bar (only when stderr is a terminal).

    Returns
    -------
    ScoreModel
        The EMA weights, in eval mode on the training device.
    """
    config = _check_config(config)
    seed = _check_seed(seed)
    data = as_complex_data(channels, "channels")
    channel_shape = tuple(data.shape[1:])
    obs = None
    obs_shape = None
    if observations is not None:
        obs = as_complex_data(observations, "observations", n=data.shape[0])
        obs_shape = tuple(obs.shape[1:])
    if config.network != "mlp":
        resolve_patch_size(channel_shape, config.patch_size)
    path, resume = prepare_resume(
        checkpoint,
        kind="score",
        config=config,
        channel_shape=channel_shape,
        obs_shape=obs_shape,
        seed=seed,
    )
    scale = resume["scale"] if resume else rms(data, "channels")
    obs_scale = None
    if obs is not None:
        obs_scale = resume["obs_scale"] if resume else rms(obs, "observations")

    device = resolve_device(config.device)
    with seeded(seed):
        network = build_network(config, channel_shape, obs_shape)
    z = torch.as_tensor(data / scale, dtype=torch.complex64, device=device)
    y_all = None
    if obs is not None:
        y_raw = torch.as_tensor(obs, dtype=torch.complex64, device=device)
        y_all = observation_features(y_raw, obs_scale, y_raw.shape[0])
    sample_sigma = _sigma_sampler(config)
    n_data, batch = z.shape[0], config.batch_size

    def loss_fn(net, gen):
        idx = torch.randint(n_data, (batch,), generator=gen).to(device)
        sigma = sample_sigma(batch, gen).to(device)
        eps = randn_complex((batch, *channel_shape), gen, device)
        x = z[idx] + sigma.reshape(-1, *(1,) * len(channel_shape)) * eps
        y_feat = keep = None
        if y_all is not None:
            y_feat = y_all[idx]
            keep = (torch.rand(batch, generator=gen) >= config.p_uncond).to(device)
        eps_hat = noise_prediction(net, x, sigma, y_feat, keep)
        err = (eps_hat - eps).abs().square().reshape(batch, -1).mean(dim=1)
        if config.weighting == "v":
            err = err * (1.0 + sigma * sigma)
        return err.mean()

    meta = {
        "kind": "score",
        "config": asdict(config),
        "channel_shape": channel_shape,
        "obs_shape": obs_shape,
        "scale": scale,
        "obs_scale": obs_scale,
    }
    ema = fit(
        network,
        loss_fn,
        config=config,
        seed=seed,
        device=device,
        checkpoint=path,
        resume=resume,
        meta=meta,
        progress=progress,
        desc="score model",
    )
    return ScoreModel(
        ema,
        channel_shape=channel_shape,
        obs_shape=obs_shape,
        scale=scale,
        obs_scale=obs_scale,
        config=config,
    )


def _sigma_sampler(config: ScoreConfig):
    """Noise levels per minibatch, drawn from the CPU generator (float32, shape (B,))."""
    if config.objective == "ddpm":
        t_lo = cosine_time(config.sigma_min)
        t_hi = cosine_time(config.sigma_max)

        def draw(n, gen):
            t = t_lo + (t_hi - t_lo) * torch.rand(n, generator=gen, dtype=torch.float64)
            return cosine_sigma(t).to(torch.float32)

        return draw
    levels = torch.as_tensor(
        np.asarray(ve_sigmas(config.n_levels, config.sigma_min, config.sigma_max)),
        dtype=torch.float32,
    )

    def draw(n, gen):
        return levels[torch.randint(len(levels), (n,), generator=gen)]

    return draw
