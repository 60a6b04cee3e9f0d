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

Training runs the package's shared loop (see [`TrainingHistory`][beamopt.TrainingHistory]):
Adam with a linear warm-up and cosine decay, gradient clipping and an exponential moving
average of the weights; a share of the data is held out (`validation=0.1`), its loss is
recorded every `eval_every` iterations, and the EMA weights with the lowest held-out loss
are returned, with the record in `model.history`. All randomness comes from one CPU
`torch.Generator` seeded by `seed`, so a CPU run is bit-reproducible and a run resumed from
its checkpoint ends at exactly the weights (and the record) of an uninterrupted run.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .._training import LR_SCHEDULES, LoopSettings, check_improvement_z, check_patience, run
from .._validation import check_choice, check_int, check_positive
from ..training import TrainingHistory, TrainingWarning, resolve_validation
from . import _checkpoint
from ._torch import as_complex_data, randn_complex, resolve_device, rms, seeded
from .model import ScoreModel, noise_prediction, observation_features
from .networks import build_network, resolve_patch_size
from .noise_level import check_noise_row
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
        Peak Adam learning rate (after `warmup` linear warm-up iterations).
    warmup : int
    lr_schedule : {"cosine", "constant"}
        After the warm-up: cosine decay from `lr` to `lr_final * lr` at the last iteration
        (default), or constant.
    lr_final : float
        Final share of `lr` of the cosine schedule, in [0, 1].
    eval_every : int
        Iterations between held-out evaluations (see `validation=` of the trainers).
    patience : int or None
        Stop after this many evaluations without a held-out improvement (None: never stop
        early; the best held-out weights are kept either way).
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
    base : {"white", "gaussian"}
        What the zero-initialised network starts from (the first term of the noise
        prediction, `beamopt.score.model`): "white" (default), the exact denoiser of a
        white unit-power prior; "gaussian", the exact denoiser of the Gaussian fit to the
        training pairs (`beamopt.score.gaussian_base`), so the untrained conditional
        model is the linear MMSE estimator with its Gaussian posterior and training learns
        the correction. For channels of up to 4 096 complex entries.
    noise_row : bool
        With `base="gaussian"`: the last observation row holds each drop's pilot noise
        standard deviation $\sigma_i$ in every entry
        ([`append_noise_level`][beamopt.score.noise_level.append_noise_level]), and the base
        is the noise-aware LMMSE posterior of each drop (its own
        $(C_{\bar y} + \sigma_i^2 I)^{-1}$) instead of the SNR-blind one. For data whose
        pilots come at many SNRs, where one linear estimator for all of them is far from the
        best linear estimator of each. The base holds 41 posterior eigenbases of
        $D \times D$ (float32, $D = 2 \times$ channel entries: 24 MB at 192 entries; at most
        1 GiB, about 1 280 entries).
    improvement_z : float
        Where the held-out loss is known per row (the parameter-score trainers), a new best
        must lower it by this many paired standard errors; 0 (default) keeps any lower
        mean. Guards model selection against a noisy or heavy-tailed held-out loss.
    variance_rank : int
        Directions of the held-out error covariance measured after training for the analytic
        reverse steps ([`beamopt.score.variance`][]; default 32, capped at the channel's
        entries; 0 keeps only the per-entry variance). Posterior covariances of real channels
        are strongly anisotropic, and an isotropic step leaves the draws too narrow.
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
    lr_schedule: str = "cosine"
    lr_final: float = 0.05
    eval_every: int = 250
    patience: int | None = None
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    p_uncond: float = 0.1
    checkpoint_every: int = 500
    device: str = "auto"
    improvement_z: float = 0.0
    base: str = "white"
    variance_rank: int = 32
    noise_row: bool = False

    def __post_init__(self) -> None:
        check_choice(self.base, "base", ("white", "gaussian"))
        if not isinstance(self.noise_row, bool):
            raise ValueError(f"noise_row must be True or False; got {self.noise_row!r}")
        if self.noise_row and self.base != "gaussian":
            raise ValueError(
                f"noise_row=True is the noise-aware Gaussian base: it needs base='gaussian'; "
                f"got base={self.base!r}"
            )
        check_int(self.variance_rank, "variance_rank", minimum=0)
        check_choice(self.network, "network", ("auto", "mlp", "transformer"))
        check_choice(self.objective, "objective", ("ddpm", "ve_dsm"))
        check_choice(self.weighting, "weighting", ("eps", "v"))
        check_choice(self.lr_schedule, "lr_schedule", LR_SCHEDULES)
        check_patience(self.patience)
        check_improvement_z(self.improvement_z)
        for name in (
            "width",
            "n_blocks",
            "d_model",
            "n_heads",
            "dim_feedforward",
            "n_levels",
            "batch_size",
            "checkpoint_every",
            "eval_every",
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
        if not (isinstance(self.lr_final, int | float) and 0 <= self.lr_final <= 1):
            raise ValueError(f"lr_final must lie in [0, 1]; got {self.lr_final!r}")
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


def loop_settings(config: ScoreConfig) -> LoopSettings:
    """The shared loop's settings of a `ScoreConfig`."""
    return LoopSettings(
        n_iterations=config.n_iterations,
        lr=config.lr,
        warmup=config.warmup,
        lr_schedule=config.lr_schedule,
        lr_final=config.lr_final,
        grad_clip=config.grad_clip,
        ema_decay=config.ema_decay,
        eval_every=config.eval_every,
        patience=config.patience,
        checkpoint_every=config.checkpoint_every,
        improvement_z=config.improvement_z,
    )


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
    validate=None,
    n_train: int = 0,
    n_validation: int = 0,
    band_edges=None,
    loss_name: str = "loss",
) -> tuple[torch.nn.Module, TrainingHistory]:
    """The shared loop (`beamopt._training.run`) with this family's checkpoints.

    `loss_fn(network, generator)` draws its own minibatch from the generator; `validate`
    maps the EMA network to its held-out loss. `meta` holds the checkpoint fields that do
    not change during training (kind, config, shapes, scales). Returns the EMA network with
    the kept (best held-out) weights and the training record.
    """
    generator = torch.Generator().manual_seed(seed)
    network.to(device)
    save = None
    if checkpoint is not None:

        def save(state, kept, history):
            training = {"seed": seed, **state}
            _checkpoint.save(
                checkpoint,
                _checkpoint.payload(
                    **meta, weights=kept, training=training, history=history.to_dict()
                ),
            )

    return run(
        network,
        loss_fn,
        settings=loop_settings(config),
        generator=generator,
        validate=validate,
        resume=None if resume is None else resume["training"],
        save=save,
        progress=_progress_enabled(progress),
        desc=desc,
        n_train=n_train,
        n_validation=n_validation,
        band_edges=band_edges,
        loss_name=loss_name,
    )


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
    validation=0.1,
    checkpoint=None,
    progress: bool = True,
) -> ScoreModel:
    r"""Train a (conditional) noise-prediction model on channel samples.

    Parameters
    ----------
    channels : array_like, complex, shape (n_samples, *channel_shape)
        Training channels in the user's units (normalised internally by the RMS `scale` of
        the training rows).
    observations : array_like, complex, shape (n_samples, *obs_shape), optional
        Raw observations paired with `channels` (e.g. pilots $y = A\,\mathrm{vec}(h) + n$);
        given, the model is conditional and also learns the unconditional score through the
        NULL token.
    config : ScoreConfig
    seed : int
        Seeds network initialisation, the held-out split and every random draw of training.
    validation : float or array or tuple of arrays or None
        Held-out data: a share of the rows in [0, 1) (default 0.1, a random subset drawn
        from `seed`), 0 or None for none, or explicit held-out `channels` (unconditional) /
        `(channels, observations)` (conditional). Every `config.eval_every` iterations the
        held-out loss (the training objective with fixed noise, stratified over five noise
        bands, on at most 1024 held-out rows) is recorded, and the returned weights are those
        with the lowest held-out loss.
    checkpoint : path, optional
        File to write training checkpoints to (atomically, every `config.checkpoint_every`
        iterations and at the end). If it exists, training resumes from it, bit for bit
        (the held-out record included); a checkpoint from another config, data shape or seed
        raises ValueError. Raising `config.n_iterations` continues a finished run.
    progress : bool
        Show a tqdm bar (only when stderr is a terminal).

    Returns
    -------
    ScoreModel
        The kept EMA weights, in eval mode on the training device, with its training record
        in `history` ([`TrainingHistory`][beamopt.TrainingHistory]).

    Warns
    -----
    TrainingWarning (a UserWarning)
        When the held-out loss was still falling at the end (train longer), and when a
        conditional model's held-out denoising error at the largest noise level is not
        clearly below its NULL-token error (the model ignores its observations; see
        [`check_conditioning`][beamopt.check_conditioning]).
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
    if config.noise_row:
        if obs is None:
            raise ValueError("noise_row=True needs observations (a conditional model)")
        check_noise_row(obs)
    if config.network != "mlp":
        resolve_patch_size(channel_shape, config.patch_size)
    (data, obs), held = resolve_validation(
        (data, obs), validation, seed, ("channels", "observations")
    )
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
    if getattr(network, "base", None) is not None:
        # training rows only (the held-out ones judge it); a resume reloads the same values
        y_fit = None
        if obs is not None:
            y_fit = observation_features(
                torch.as_tensor(obs, dtype=torch.complex128), obs_scale, len(obs)
            )
        network.base.fit(torch.as_tensor(data / scale, dtype=torch.complex128), y_fit)
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

    validate = edges = None
    n_val = 0
    if held is not None:
        n_val = held[0].shape[0]
        validate, edges = _band_validator(held, scale, obs_scale, config, seed, device)

    meta = {
        "kind": "score",
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
        desc="score model",
        validate=validate,
        n_train=n_data,
        n_validation=n_val,
        band_edges=edges,
        loss_name=f"noise-prediction loss ({config.weighting} weighting)",
    )
    model = ScoreModel(
        ema,
        channel_shape=channel_shape,
        obs_shape=obs_shape,
        scale=scale,
        obs_scale=obs_scale,
        config=config,
        history=history,
    )
    if held is not None:
        model.posterior_variance = _posterior_variance(model.network, held, scale, obs_scale,
                                                       config, seed, device)  # fmt: skip
    warn_if_still_improving(history, "train_score_model", config.n_iterations, config.improvement_z)
    if held is not None and obs is not None:
        from .diagnostics import check_conditioning

        check_conditioning(model, held[0], held[1], train=(data, obs), seed=seed, warn=True)
    return model


def warn_if_still_improving(
    history: TrainingHistory, who: str, n_iterations: int, improvement_z: float = 0.0
) -> None:
    """UserWarning when the held-out loss was still falling at the end of training, or when
    it never fell below the untrained model's (the returned weights are then the untrained
    ones: a zero-initialised output layer makes them predict zero). With the paired rule
    (`improvement_z > 0`) a held-out mean below the start that was not significant says so
    instead: keeping the start is then the rule's decision, not a failure to train."""
    if history.has_validation and history.n_iterations > 0 and history.best_iteration == 0:
        lowest = float(np.nanmin(history.validation_loss))
        if improvement_z > 0 and lowest < history.initial_validation_loss:
            warnings.warn(
                f"{who}: no held-out improvement was significant at improvement_z = "
                f"{improvement_z:g} standard errors in {history.n_iterations} iterations "
                f"(lowest held-out mean {lowest:.4g} against the untrained model's "
                f"{history.initial_validation_loss:.4g}), so the returned model is the "
                "untrained one (for a score model: the standardised Gaussian fit it starts "
                "from). Lower improvement_z if the gains are real but slow",
                TrainingWarning,
                stacklevel=3,
            )
            return
        warnings.warn(
            f"{who}: the held-out loss never fell below the untrained model's "
            f"({history.initial_validation_loss:.4g}) in {history.n_iterations} iterations, so "
            "the returned model is the untrained one (its output head is zero-initialised). "
            f"Train longer (n_iterations={n_iterations}), with a shorter warm-up or a larger "
            "learning rate",
            TrainingWarning,
            stacklevel=3,
        )
        return
    if history.still_improving():
        val = history.validation_loss
        late = history.iterations > 0.75 * history.iterations[-1]
        warnings.warn(
            f"{who}: the held-out loss was still falling when training ended "
            f"({float(np.nanmin(val[~late])):.4g} before the last quarter, "
            f"{history.best_validation_loss:.4g} at iteration {history.best_iteration} of "
            f"{history.n_iterations}); more iterations would likely help (raise n_iterations "
            f"above {n_iterations}; with a checkpoint, training resumes where it ended)",
            TrainingWarning,
            stacklevel=3,
        )


#: Held-out rows used per evaluation (a fixed subset) and noise bands of the held-out loss.
EVAL_ROWS = 1024
N_BANDS = 5


def noise_bands(config: ScoreConfig):
    """Band edges (normalised sigma), the training probability of each band and a draw.

    `draw(band, n, generator)` returns `n` noise levels of the training distribution
    restricted to the band (float32).
    """
    lo, hi = config.sigma_min, config.sigma_max
    if config.objective == "ddpm":
        edges = np.geomspace(lo, hi, N_BANDS + 1)
        t_edges = np.array([cosine_time(float(e)) for e in edges])
        prob = np.diff(t_edges) / (t_edges[-1] - t_edges[0])

        def draw(b, n, gen):
            t0, t1 = float(t_edges[b]), float(t_edges[b + 1])
            t = t0 + (t1 - t0) * torch.rand(n, generator=gen, dtype=torch.float64)
            return cosine_sigma(t).to(torch.float32)

        return edges, prob, draw
    levels = np.asarray(ve_sigmas(config.n_levels, lo, hi), dtype=float)
    n_bands = min(N_BANDS, levels.size)
    edges = np.geomspace(lo, hi, n_bands + 1)
    which = np.clip(np.searchsorted(edges, levels, side="right") - 1, 0, n_bands - 1)
    members = [torch.as_tensor(levels[which == b], dtype=torch.float32) for b in range(n_bands)]
    prob = np.array([m.numel() for m in members], dtype=float) / levels.size

    def draw(b, n, gen):
        m = members[b]
        return m[torch.randint(m.numel(), (n,), generator=gen)]

    return edges, prob, draw


def _held_tensors(held, scale, obs_scale, device):
    """The first `EVAL_ROWS` held-out pairs as normalised tensors (states, pilot features)."""
    h_val, y_val = held
    rows = min(h_val.shape[0], EVAL_ROWS)
    z = torch.as_tensor(h_val[:rows] / scale, dtype=torch.complex64, device=device)
    y_feat = None
    if y_val is not None:
        y_raw = torch.as_tensor(y_val[:rows], dtype=torch.complex64, device=device)
        y_feat = observation_features(y_raw, obs_scale, rows)
    return z, y_feat


def _posterior_variance(net, held, scale, obs_scale, config, seed, device):
    """The held-out posterior-variance curve of the trained network (see `variance`)."""
    from .variance import estimate_posterior_variance

    z, y_feat = _held_tensors(held, scale, obs_scale, device)
    return estimate_posterior_variance(
        lambda x, sigma, yf: noise_prediction(net, x, sigma, yf, None), z, y_feat,
        sigma_min=config.sigma_min, sigma_max=config.sigma_max, seed=seed,
        rank=config.variance_rank,
    )  # fmt: skip


def _band_validator(held, scale, obs_scale, config, seed, device):
    """A deterministic held-out loss: the training objective with fixed noise per band."""
    z_val, y_feat = _held_tensors(held, scale, obs_scale, device)
    rows = z_val.shape[0]
    edges, prob, draw = noise_bands(config)
    channel_shape = tuple(z_val.shape[1:])
    extra = (1,) * len(channel_shape)
    p = config.p_uncond

    def weighted(net, x, sigma, eps, yf):
        eps_hat = noise_prediction(net, x, sigma, yf, None)
        err = (eps_hat - eps).abs().square().reshape(x.shape[0], -1).mean(dim=1)
        if config.weighting == "v":
            err = err * (1.0 + sigma * sigma)
        return err.sum()

    @torch.no_grad()
    def validate(net):
        bands = np.zeros(len(prob))
        for b in range(len(prob)):
            # the same noise at every evaluation (and after a resume)
            gen = torch.Generator().manual_seed(seed * 1_000_003 + 7_919 * (b + 1))
            total = 0.0
            for start in range(0, rows, 512):
                stop = min(start + 512, rows)
                n = stop - start
                sigma = draw(b, n, gen).to(device)
                eps = randn_complex((n, *channel_shape), gen, device)
                x = z_val[start:stop] + sigma.reshape(-1, *extra) * eps
                if y_feat is None:
                    total += float(weighted(net, x, sigma, eps, None))
                else:
                    cond = float(weighted(net, x, sigma, eps, y_feat[start:stop]))
                    null = float(weighted(net, x, sigma, eps, None))
                    total += (1.0 - p) * cond + p * null
            bands[b] = total / rows
        return float(np.dot(prob, bands)), bands

    return validate, edges


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
