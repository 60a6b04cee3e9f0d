r"""Score learning for real parameters: implicit, sliced, denoising and Fisher score matching.

A [`ParameterScore`][beamopt.metrics.score_matching.ParameterScore] is a small network
$s_\phi(\theta \mid c)$ (or $s_\phi(x_t, \sigma \mid c)$ for a noise-conditional model) on
real vectors $\theta \in \mathbb R^D$, trained by one of

- `"ism"`, implicit score matching (exact Jacobian trace, one backward pass per dimension;
  used up to `exact_trace_max` dimensions, Hutchinson above):
  $$\mathcal L_{\rm ISM} = \mathbb E\big[\operatorname{Tr}\nabla_\theta s_\phi(\theta)
    + \tfrac12 \|s_\phi(\theta)\|^2\big];$$
- `"ssm"`, sliced score matching, $v \sim \mathcal N(0, I)$:
  $\mathbb E[v^\top \nabla_\theta (v^\top s_\phi) + \tfrac12\|s_\phi\|^2]$;
- `"dsm"`, multi-level denoising score matching with $\lambda(\sigma) = \sigma^2$,
  $\sigma$ log-uniform in $[\sigma_{\min}, \sigma_{\max}]$ (normalised units):
  $$\mathcal L_{\rm DSM} = \mathbb E\big\|\sigma s_\phi(\theta + \sigma n, \sigma) + n\big\|^2;$$
- `"fsm"` ([`train_fisher_score`][beamopt.metrics.score_matching.train_fisher_score]),
  Fisher score matching for the measurement score $\nabla_\theta \log p(y\mid\theta)$ with
  $y$ the condition and a (learned or exact) prior score:
  $$\mathcal L_{\rm FSM} = \mathbb E_{p(\theta, y)}\big[\operatorname{Tr}\nabla_\theta
    s_\phi(y\mid\theta) + \tfrac12\|s_\phi\|^2 + s_\phi^\top \nabla_\theta\log p(\theta)\big].$$

Conditioning on a vector $c$ (observations, class labels, SNR) makes the model conditional.
The optimisation loop, checkpoints and noise embedding are those of [`beamopt.score`][]:
[`ScoreConfig`][beamopt.score.training.ScoreConfig] supplies `width`, `n_blocks`, `lr`,
`n_iterations`, `batch_size`, `warmup`, `grad_clip`, `ema_decay`, `sigma_min`, `sigma_max`,
`checkpoint_every` and `device`; its `objective`, `network` and `weighting` fields are unused.

Inputs are normalised by their mean and one scalar scale (the RMS standard deviation), and
the network output is preconditioned so that $F = 0$ is the exact score of a white Gaussian
(of the normalised data, smoothed by $\sigma$):
$s_u = -u / (1+\sigma^2) + F / \sqrt{1+\sigma^2}$ ($\sigma = 0$ for ISM/SSM/FSM).
Coordinates flagged `positive` (e.g. a Swerling RCS) are learned in $\eta = \log\theta$, where
the density vanishes at both ends so integration by parts holds, and mapped back by
$\nabla_\theta \log p = (s_\eta - 1) / \theta$.

References
----------
A. Hyvärinen, "Estimation of non-normalized statistical models by score matching", JMLR 2005;
Y. Song et al., "Sliced score matching", UAI 2019; P. Vincent, "A connection between score
matching and denoising autoencoders", 2011; "Scoring ISAC: Score-based ISAC performance
evaluation" (the FSM objective and the measurement-prior decomposition).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_int
from ..score import _checkpoint
from ..score._torch import resolve_device, seeded
from ..score.networks import NoiseEmbedding
from ..score.training import ScoreConfig, fit, prepare_resume, warn_if_still_improving
from ..training import resolve_validation
from ._checks import as_samples

__all__ = [
    "ParameterScoreNet",
    "ParameterScore",
    "train_parameter_score",
    "train_fisher_score",
]

KIND = "metrics-score"
OBJECTIVES = ("ism", "ssm", "dsm", "fsm")


class ParameterScoreNet(nn.Module):
    r"""Residual SiLU MLP $F(u, \log\sigma, c)$ on real vectors (zero-initialised head).

    Parameters
    ----------
    dim : int
        Parameter dimension $D$.
    cond_dim : int
        Condition dimension (0: unconditional).
    width, n_blocks : int
    noise_conditional : bool
        Whether the network takes a noise level (DSM) through the score family's
        [`NoiseEmbedding`][beamopt.score.networks.NoiseEmbedding].
    """

    def __init__(self, dim, cond_dim=0, *, width=64, n_blocks=2, noise_conditional=False):
        super().__init__()
        self.dim, self.cond_dim = int(dim), int(cond_dim)
        self.noise = NoiseEmbedding(width) if noise_conditional else None
        self.inp = nn.Linear(self.dim + self.cond_dim, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.LayerNorm(width), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width)
            )
            for _ in range(n_blocks)
        )
        self.out = nn.Linear(width, self.dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, u, c_noise=None, c=None):
        h = self.inp(u if c is None else torch.cat([u, c], dim=-1))
        if self.noise is not None:
            h = h + self.noise(c_noise)
        for block in self.blocks:
            h = h + block(nn.functional.silu(h))
        return self.out(nn.functional.silu(h))


class ParameterScore(nn.Module):
    r"""A learned score of real parameters (see the module text for the parametrisation).

    Use [`score`][beamopt.metrics.score_matching.ParameterScore.score] for
    $\nabla_\theta\log p(\theta\mid c)$ (ISM/SSM/FSM models) and
    [`smoothed_score`][beamopt.metrics.score_matching.ParameterScore.smoothed_score] for
    $\nabla_{x}\log p_\sigma(x\mid c)$ (DSM models). Both take and return numpy arrays.

    Attributes
    ----------
    dim, cond_dim : int
    objective : str
        "ism", "ssm", "dsm" or "fsm".
    mean : ndarray, shape (dim,)
    scale : float
    cond_mean, cond_scale : ndarray, shape (cond_dim,)
    positive : ndarray of bool, shape (dim,)
    config : ScoreConfig
    history : TrainingHistory or None
        The training record (held-out loss per evaluation).
    """

    def __init__(
        self,
        network,
        *,
        objective,
        mean,
        scale,
        cond_mean,
        cond_scale,
        positive,
        config,
        history=None,
    ):
        super().__init__()
        self.network = network
        self.dim, self.cond_dim = network.dim, network.cond_dim
        self.objective = objective
        self.mean = np.asarray(mean, dtype=float)
        self.scale = float(scale)
        self.cond_mean = np.asarray(cond_mean, dtype=float)
        self.cond_scale = np.asarray(cond_scale, dtype=float)
        self.positive = np.asarray(positive, dtype=bool)
        self.config = config
        self.history = history
        self.requires_grad_(False)
        self.eval()

    @property
    def noise_conditional(self) -> bool:
        return self.objective == "dsm"

    # -- torch core (normalised units) ----------------------------------------------------
    def _u_score(self, u, sigma_u, c):
        s2 = sigma_u * sigma_u
        out = self.network(u / torch.sqrt(1 + s2)[:, None], torch.log(sigma_u) / 4, c)
        return -u / (1 + s2)[:, None] + out / torch.sqrt(1 + s2)[:, None]

    def _plain_u_score(self, u, c):
        return -u + self.network(u, None, c)

    def _cond(self, c, batch):
        if self.cond_dim == 0:
            if c is not None:
                raise ValueError("condition must be None: this model is unconditional")
            return None
        if c is None:
            raise ValueError(f"condition is required: shape (n, {self.cond_dim})")
        arr = as_samples(c, "condition", dim=self.cond_dim)
        if arr.shape[0] == 1 and batch != 1:
            arr = np.broadcast_to(arr, (batch, self.cond_dim))
        if arr.shape[0] != batch:
            raise ValueError(f"condition must hold 1 or {batch} rows; got {arr.shape[0]}")
        return self._t((arr - self.cond_mean) / self.cond_scale)

    def _t(self, arr):
        p = next(self.network.parameters())
        return torch.as_tensor(np.asarray(arr), dtype=p.dtype, device=p.device)

    # -- public numpy interface ------------------------------------------------------------
    def score(self, theta, condition=None) -> np.ndarray:
        r"""$\nabla_\theta \log p(\theta \mid c)$ (or the Fisher score for an FSM model).

        Parameters
        ----------
        theta : array_like, shape (n, dim)
        condition : array_like, shape (n, cond_dim) or (1, cond_dim), optional

        Returns
        -------
        ndarray, shape (n, dim)
        """
        if self.noise_conditional:
            raise ValueError("this is a DSM model: use smoothed_score(x, sigma)")
        theta = as_samples(theta, "theta", dim=self.dim)
        if np.any(theta[:, self.positive] <= 0):
            raise ValueError("theta must be > 0 in the coordinates flagged positive")
        eta = theta.copy()
        eta[:, self.positive] = np.log(theta[:, self.positive])
        c = self._cond(condition, theta.shape[0])
        with torch.no_grad():
            s = self._plain_u_score(self._t((eta - self.mean) / self.scale), c)
        s = s.double().cpu().numpy() / self.scale
        if self.objective != "fsm":
            s[:, self.positive] = (s[:, self.positive] - 1.0) / theta[:, self.positive]
        else:
            s[:, self.positive] = s[:, self.positive] / theta[:, self.positive]
        return s

    def smoothed_score(self, x, sigma, condition=None) -> np.ndarray:
        r"""$\nabla_x \log p_\sigma(x \mid c)$ of $x = \theta + \sigma n$ (DSM models).

        Parameters
        ----------
        x : array_like, shape (n, dim)
        sigma : float or array_like, shape (n,)
            Noise standard deviation in the data's units, > 0.
        condition : array_like, shape (n, cond_dim) or (1, cond_dim), optional
        """
        if not self.noise_conditional:
            raise ValueError("this model is not noise-conditional: use score(theta)")
        x = as_samples(x, "x", dim=self.dim)
        sig = np.broadcast_to(np.asarray(sigma, dtype=float), (x.shape[0],))
        if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise ValueError("sigma must be finite and > 0")
        c = self._cond(condition, x.shape[0])
        with torch.no_grad():
            s = self._u_score(self._t((x - self.mean) / self.scale), self._t(sig / self.scale), c)
        return s.double().cpu().numpy() / self.scale

    def save(self, path) -> Path:
        """Write the model (weights, normalisation, config) atomically."""
        return _checkpoint.save(path, _payload(self, self.network.state_dict()))

    @classmethod
    def load(cls, path, *, device="cpu") -> ParameterScore:
        """Load a model written by `save` or a training checkpoint."""
        ck = _checkpoint.load(path, kind=KIND)
        config = ScoreConfig(**ck["config"])
        net = _build(config, ck["channel_shape"][0], ck["cond_dim"], ck["objective"])
        net.load_state_dict(ck["weights"])
        return cls(net, config=config, history=_checkpoint.history_of(ck), **_norm_fields(ck)).to(
            resolve_device(device)
        )


def _norm_fields(ck):
    return {
        "objective": ck["objective"],
        "mean": ck["mean"],
        "scale": ck["scale"],
        "cond_mean": ck["cond_mean"],
        "cond_scale": ck["cond_scale"],
        "positive": ck["positive"],
    }


def _payload(model, weights, training=None):
    return _checkpoint.payload(
        history=_checkpoint.history_dict(model),
        kind=KIND,
        config=asdict(model.config),
        channel_shape=(model.dim,),
        obs_shape=None if model.cond_dim == 0 else (model.cond_dim,),
        scale=model.scale,
        obs_scale=None,
        weights=weights,
        training=training,
        objective=model.objective,
        mean=[float(v) for v in model.mean],
        cond_dim=model.cond_dim,
        cond_mean=[float(v) for v in model.cond_mean],
        cond_scale=[float(v) for v in model.cond_scale],
        positive=[bool(v) for v in model.positive],
    )


def _build(config, dim, cond_dim, objective):
    return ParameterScoreNet(
        dim,
        cond_dim,
        width=config.width,
        n_blocks=config.n_blocks,
        noise_conditional=objective == "dsm",
    )


def _divergence(s, u, *, exact: bool, gen):
    """Tr(ds/du) per row: exactly (one backward pass per dimension) or by Hutchinson."""
    if exact:
        cols = [
            torch.autograd.grad(s[:, i].sum(), u, create_graph=True)[0][:, i]
            for i in range(u.shape[1])
        ]
        return torch.stack(cols, dim=1).sum(dim=1)
    v = torch.randn(u.shape, generator=gen, dtype=u.dtype).to(u.device)
    (g,) = torch.autograd.grad((s * v).sum(), u, create_graph=True)
    return (g * v).sum(dim=1)


def _train(
    theta,
    cond,
    *,
    objective,
    config,
    seed,
    checkpoint,
    positive,
    prior_score,
    exact_trace_max,
    progress,
    validation,
    names,
):
    if not isinstance(config, ScoreConfig):
        raise ValueError(f"config must be a ScoreConfig; got {type(config).__name__}")
    seed = check_int(seed, "seed", minimum=0)
    exact_trace_max = check_int(exact_trace_max, "exact_trace_max", minimum=0)
    (theta, cond, prior_score), held = resolve_validation(
        (theta, cond, prior_score), validation, seed, names
    )
    if held is not None and held[0].ndim != 2:
        raise ValueError("validation: held-out samples must have shape (n, dim)")
    dim = theta.shape[1]
    pos = np.zeros(dim, dtype=bool)
    if positive is not None:
        pos[np.asarray(positive, dtype=int)] = True
        if objective == "dsm":
            raise ValueError("positive is only supported for ism/ssm/fsm (not dsm)")
        if np.any(theta[:, pos] <= 0) or (held is not None and np.any(held[0][:, pos] <= 0)):
            raise ValueError("samples must be > 0 in the coordinates named by positive")
    eta = theta.copy()
    eta[:, pos] = np.log(theta[:, pos])
    mean = eta.mean(axis=0)
    scale = float(np.sqrt(np.mean(eta.var(axis=0))))
    if not scale > 0:
        raise ValueError("samples must not all be equal (zero spread)")
    cond_dim = 0 if cond is None else cond.shape[1]
    if cond is not None:
        c_mean, c_scale = cond.mean(axis=0), cond.std(axis=0)
        c_scale = np.where(c_scale > 0, c_scale, 1.0)
    else:
        c_mean = c_scale = np.zeros(0)
    path, resume = prepare_resume(
        checkpoint,
        kind=KIND,
        config=config,
        channel_shape=(dim,),
        obs_shape=None if cond is None else (cond_dim,),
        seed=seed,
    )
    if resume is not None and resume["objective"] != objective:
        raise ValueError(
            f"checkpoint {str(path)!r} was trained with objective {resume['objective']!r}, "
            f"not {objective!r}"
        )
    device = resolve_device(config.device)
    with seeded(seed):
        net = _build(config, dim, cond_dim, objective)
    fields = dict(
        objective=objective,
        mean=mean,
        scale=scale,
        cond_mean=c_mean,
        cond_scale=c_scale,
        positive=pos,
        config=config,
    )
    # a frozen copy only for the checkpoint fields; the trained network is wrapped at the end
    model = ParameterScore(_build(config, dim, cond_dim, objective), **fields)
    log_lo, log_hi = math.log(config.sigma_min), math.log(config.sigma_max)
    exact = dim <= exact_trace_max

    def tensors(eta_rows, cond_rows, theta_rows, prior_rows):
        u = torch.as_tensor((eta_rows - mean) / scale, dtype=torch.float32, device=device)
        c = None
        if cond_rows is not None:
            c = torch.as_tensor((cond_rows - c_mean) / c_scale, dtype=torch.float32,
                                device=device)  # fmt: skip
        p = None
        if objective == "fsm" and prior_rows is not None:
            # d/d eta log p(theta) prior term, in normalised units: s_theta * dtheta/du;
            # the density of eta = log(theta) carries the Jacobian theta: d/d eta = theta s + 1
            ps = np.asarray(prior_rows, dtype=float)
            ps = (ps * np.where(pos, theta_rows, 1.0) + pos) * scale
            p = torch.as_tensor(ps, dtype=torch.float32, device=device)
        return u, c, p

    def row_loss(net_, u, c, prior, gen):
        """The objective per row (before the mean), drawing its noise from `gen`."""
        n_rows = u.shape[0]
        if objective == "dsm":
            sig = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(n_rows, generator=gen))
            sig = sig.to(device)
            n = torch.randn(u.shape, generator=gen).to(device)
            s2 = sig * sig
            x = u + sig[:, None] * n
            out = net_(x / torch.sqrt(1 + s2)[:, None], torch.log(sig) / 4, c)
            s = -x / (1 + s2)[:, None] + out / torch.sqrt(1 + s2)[:, None]
            return (sig[:, None] * s + n).square().sum(dim=1)
        u = u.detach().requires_grad_(True)
        base = -u if objective != "fsm" else 0.0
        s = base + net_(u, None, c)
        div = _divergence(s, u, exact=exact and objective in ("ism", "fsm"), gen=gen)
        loss = div + 0.5 * s.square().sum(dim=1)
        if prior is not None:
            loss = loss + (s * prior).sum(dim=1)
        return loss

    u_all, c_all, prior_all = tensors(eta, cond, theta, prior_score)
    n_data, batch = u_all.shape[0], min(config.batch_size, u_all.shape[0])

    def loss_fn(net_, gen):
        idx = torch.randint(n_data, (batch,), generator=gen).to(device)
        c = None if c_all is None else c_all[idx]
        p = None if prior_all is None else prior_all[idx]
        return row_loss(net_, u_all[idx], c, p, gen).mean()

    validate = None
    if held is not None:
        h_theta, h_cond, h_prior = held
        h_eta = h_theta.copy()
        h_eta[:, pos] = np.log(h_theta[:, pos])
        u_val, c_val, p_val = tensors(h_eta, h_cond, h_theta, h_prior)
        rows = u_val.shape[0]

        def validate(net_):
            # the same noise / probe vectors at every evaluation (and after a resume)
            gen = torch.Generator().manual_seed(seed * 1_000_003 + 7_919)
            total = 0.0
            for start in range(0, rows, 1024):
                sl = slice(start, min(start + 1024, rows))
                c = None if c_val is None else c_val[sl]
                p = None if p_val is None else p_val[sl]
                total += float(row_loss(net_, u_val[sl], c, p, gen).detach().sum())
            return total / rows

    # the checkpoint fields fit() writes besides weights and training state
    meta = {
        k: v
        for k, v in _payload(model, {}).items()
        if k not in ("format", "version", "weights", "training", "history")
    }
    ema, history = fit(
        net,
        loss_fn,
        config=config,
        seed=seed,
        device=device,
        checkpoint=path,
        resume=resume,
        meta=meta,
        progress=progress,
        desc=f"{objective} score",
        validate=validate,
        n_train=n_data,
        n_validation=0 if held is None else held[0].shape[0],
        loss_name=f"{objective} loss (normalised units)",
    )
    warn_if_still_improving(history, f"{objective} score matching", config.n_iterations)
    return ParameterScore(ema, **fields, history=history).to(device)


DEFAULT_CONFIG = ScoreConfig(
    width=64,
    n_blocks=2,
    n_iterations=2000,
    batch_size=256,
    lr=2e-3,
    warmup=50,
    ema_decay=0.99,
    sigma_min=1e-2,
    sigma_max=30.0,
)


def train_parameter_score(
    samples,
    *,
    conditions=None,
    objective: str = "ism",
    config: ScoreConfig = DEFAULT_CONFIG,
    seed: int = 0,
    positive=None,
    exact_trace_max: int = 8,
    validation=0.1,
    checkpoint=None,
    progress: bool = False,
) -> ParameterScore:
    r"""Learn $\nabla_\theta \log p(\theta)$ or $\nabla_\theta \log p(\theta \mid c)$ from samples.

    Parameters
    ----------
    samples : array_like, shape (n_samples, dim)
        Parameter draws $\theta_m$ (a 1-D array is read as scalar samples).
    conditions : array_like, shape (n_samples, cond_dim), optional
        Paired conditions $c_m$ (observations, labels); given, the model is conditional.
    objective : {"ism", "ssm", "dsm"}
        Implicit (exact trace up to `exact_trace_max` dimensions, Hutchinson above), sliced,
        or multi-level denoising score matching.
    config : ScoreConfig
        Network size and optimisation (see the module text for the fields used).
    seed : int
    positive : sequence of int, optional
        Coordinates supported on $(0, \infty)$, learned in $\log\theta$ (ISM/SSM).
    exact_trace_max : int
    validation : float or array or tuple of arrays or None
        Held-out samples: a share in [0, 1) (default 0.1, drawn from `seed`), 0 or None for
        none, or explicit held-out `samples` (`(samples, conditions)` for a conditional
        model). The held-out objective (the same loss with fixed noise; for ISM exactly
        $\tfrac12 E\|s_\phi - \nabla\log p\|^2$ minus a constant) is recorded every
        `config.eval_every` iterations and the best weights are returned.
    checkpoint : path, optional
        Training checkpoint written atomically, resumed when it exists (as in
        [`train_score_model`][beamopt.score.training.train_score_model]).
    progress : bool

    Returns
    -------
    ParameterScore
        With the training record in `history`.
    """
    check_choice(objective, "objective", ("ism", "ssm", "dsm"))
    theta = as_samples(samples, "samples")
    cond = None
    if conditions is not None:
        cond = as_samples(conditions, "conditions", n=theta.shape[0])
    return _train(
        theta,
        cond,
        objective=objective,
        config=config,
        seed=seed,
        checkpoint=checkpoint,
        positive=positive,
        prior_score=None,
        exact_trace_max=exact_trace_max,
        progress=progress,
        validation=validation,
        names=("samples", "conditions", "prior_scores"),
    )


def train_fisher_score(
    theta,
    observations,
    prior_scores,
    *,
    config: ScoreConfig = DEFAULT_CONFIG,
    seed: int = 0,
    positive=None,
    exact_trace_max: int = 8,
    validation=0.1,
    checkpoint=None,
    progress: bool = False,
) -> ParameterScore:
    r"""Fisher score matching: learn $\nabla_\theta \log p(y \mid \theta)$ for an unknown
    likelihood.

    Parameters
    ----------
    theta : array_like, shape (n_samples, dim)
        Joint draws $(\theta_m, y_m) \sim p(\theta)\, p(y \mid \theta)$: the parameters ...
    observations : array_like, shape (n_samples, obs_dim), real
        ... and the observations (stack real and imaginary parts of complex data).
    prior_scores : array_like, shape (n_samples, dim)
        $\nabla_\theta \log p(\theta_m)$ at the training parameters: exact, or a learned
        prior's [`score`][beamopt.metrics.score_matching.ParameterScore.score].
    config, seed, positive, exact_trace_max, checkpoint, progress
        As in [`train_parameter_score`][beamopt.metrics.score_matching.train_parameter_score].
    validation : float or tuple of arrays or None
        A held-out share (default 0.1), 0 or None, or explicit held-out
        `(theta, observations, prior_scores)`.

    Returns
    -------
    ParameterScore
        Conditional on the observation; `score(theta, condition=y)` is the Fisher score.
    """
    theta = as_samples(theta, "theta")
    obs = as_samples(observations, "observations", n=theta.shape[0])
    prior = as_samples(prior_scores, "prior_scores", dim=theta.shape[1], n=theta.shape[0])
    return _train(
        theta,
        obs,
        objective="fsm",
        config=config,
        seed=seed,
        checkpoint=checkpoint,
        positive=positive,
        prior_score=prior,
        exact_trace_max=exact_trace_max,
        progress=progress,
        validation=validation,
        names=("theta", "observations", "prior_scores"),
    )
