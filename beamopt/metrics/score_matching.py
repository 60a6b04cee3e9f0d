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

import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._io import write_atomic
from .._parallel import check_executor, run_tasks
from .._validation import check_choice, check_int, readonly
from ..score import _checkpoint
from ..score._torch import resolve_device, seeded
from ..score.networks import NoiseEmbedding
from ..score.training import ScoreConfig, fit, prepare_resume, warn_if_still_improving
from ..training import resolve_validation, split_validation
from ._checks import as_samples, data_fingerprint

__all__ = [
    "DEFAULT_CONFIG",
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
        `beamopt.score.networks.NoiseEmbedding`.
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
    classifier_free : bool
        Whether the model was trained with the condition dropped (a NULL token) with
        probability `config.p_uncond`: then `condition=None` gives the marginal score
        $\nabla\log p(\theta)$ and a condition the conditional one, from one network.
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
        classifier_free=False,
    ):
        super().__init__()
        self.network = network
        self.classifier_free = bool(classifier_free)
        self.dim = network.dim
        self.cond_dim = network.cond_dim - int(self.classifier_free)
        self.objective = objective
        self.mean = np.asarray(mean, dtype=float)
        self.scale = float(scale)
        self.cond_mean = np.asarray(cond_mean, dtype=float)
        self.cond_scale = np.asarray(cond_scale, dtype=float)
        self.positive = np.asarray(positive, dtype=bool)
        self.config = config
        self.history = history
        #: rows of the training samples held out from training (None: none or given apart)
        self.held_out_rows = None
        #: fingerprint of the samples (and conditions) passed to the trainer
        self.data_fingerprint = None
        self.requires_grad_(False)
        self.eval()

    @property
    def noise_conditional(self) -> bool:
        return self.objective == "dsm"

    @property
    def sigma_range(self) -> tuple[float, float] | None:
        """The noise levels a DSM model was trained on, in the data's units (None for
        ISM/SSM/FSM models). Outside it `smoothed_score` extrapolates."""
        if not self.noise_conditional:
            return None
        return float(self.config.sigma_min * self.scale), float(self.config.sigma_max * self.scale)

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
            if not self.classifier_free:
                raise ValueError(
                    f"condition is required: shape (n, {self.cond_dim}) (only a model trained "
                    "with classifier_free=True gives the marginal score for condition=None)"
                )
            return self._t(np.zeros((batch, self.cond_dim + 1)))
        arr = as_samples(c, "condition", dim=self.cond_dim)
        if arr.shape[0] == 1 and batch != 1:
            arr = np.broadcast_to(arr, (batch, self.cond_dim))
        if arr.shape[0] != batch:
            raise ValueError(f"condition must hold 1 or {batch} rows; got {arr.shape[0]}")
        c = (arr - self.cond_mean) / self.cond_scale
        if self.classifier_free:
            c = np.concatenate([c, np.ones((batch, 1))], axis=1)
        return self._t(c)

    def _t(self, arr):
        p = next(self.network.parameters())
        return torch.as_tensor(np.asarray(arr), dtype=p.dtype, device=p.device)

    # -- public numpy interface ------------------------------------------------------------
    def _theta_inputs(self, theta, condition):
        if self.noise_conditional:
            raise ValueError("this is a DSM model: use smoothed_score(x, sigma)")
        theta = as_samples(theta, "theta", dim=self.dim)
        if np.any(theta[:, self.positive] <= 0):
            raise ValueError("theta must be > 0 in the coordinates flagged positive")
        eta = theta.copy()
        eta[:, self.positive] = np.log(theta[:, self.positive])
        return theta, eta, self._cond(condition, theta.shape[0])

    def _to_theta(self, s_eta, theta):
        """Score of eta = log theta (positive coordinates) -> score of theta."""
        s = s_eta.copy()
        offset = 1.0 if self.objective != "fsm" else 0.0  # the Jacobian of the density map
        s[:, self.positive] = (s[:, self.positive] - offset) / theta[:, self.positive]
        return s

    def score(self, theta, condition=None) -> np.ndarray:
        r"""$\nabla_\theta \log p(\theta \mid c)$ (or the Fisher score for an FSM model).

        Parameters
        ----------
        theta : array_like, shape (n, dim)
        condition : array_like, shape (n, cond_dim) or (1, cond_dim), optional
            None for an unconditional model, or for the marginal score of a
            classifier-free one.

        Returns
        -------
        ndarray, shape (n, dim)
        """
        theta, eta, c = self._theta_inputs(theta, condition)
        with torch.no_grad():
            s = self._plain_u_score(self._t((eta - self.mean) / self.scale), c)
        return self._to_theta(s.double().cpu().numpy() / self.scale, theta)

    def score_jacobian(self, theta, condition=None) -> np.ndarray:
        r"""$\partial s_i / \partial\theta_j$ of the learned score at each row (autograd).

        Used by the divergence and debiased Fisher-information estimators
        ([`score_fim`][beamopt.metrics.fim.score_fim]); for coordinates flagged `positive`
        the chain rule through $\eta = \log\theta$ is applied.

        Parameters
        ----------
        theta : array_like, shape (n, dim)
        condition : array_like, shape (n, cond_dim) or (1, cond_dim), optional

        Returns
        -------
        ndarray, shape (n, dim, dim)
            Entry `[m, i, j]` is $\partial s_i(\theta_m) / \partial \theta_j$.
        """
        theta, eta, c = self._theta_inputs(theta, condition)
        n, d = theta.shape
        out = np.empty((n, d, d))
        s_eta = np.empty((n, d))
        for start in range(0, n, 4096):
            sl = slice(start, min(start + 4096, n))
            u = self._t((eta[sl] - self.mean) / self.scale).requires_grad_(True)
            with torch.enable_grad():
                s = self._plain_u_score(u, None if c is None else c[sl])
                rows = [
                    torch.autograd.grad(s[:, i].sum(), u, retain_graph=i + 1 < d)[0]
                    for i in range(d)
                ]
            out[sl] = torch.stack(rows, dim=1).double().cpu().numpy()
            s_eta[sl] = s.detach().double().cpu().numpy()
        out /= self.scale**2  # d s_eta / d eta
        s_eta /= self.scale
        if self.positive.any():
            inv = np.where(self.positive, 1.0 / theta, 1.0)  # d eta / d theta
            out *= inv[:, :, None] * inv[:, None, :]
            offset = 1.0 if self.objective != "fsm" else 0.0
            idx = np.flatnonzero(self.positive)
            out[:, idx, idx] -= (s_eta[:, idx] - offset) / theta[:, idx] ** 2
        return out

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
        cfg = bool(ck.get("classifier_free", False))
        net = _build(config, ck["channel_shape"][0], ck["cond_dim"], ck["objective"], cfg)
        net.load_state_dict(ck["weights"])
        model = cls(
            net,
            config=config,
            history=_checkpoint.history_of(ck),
            classifier_free=cfg,
            **_norm_fields(ck),
        )
        rows = ck.get("held_out_rows")
        model.held_out_rows = None if rows is None else readonly(np.asarray(rows, np.int64))
        model.data_fingerprint = ck.get("data_fingerprint")
        return model.to(resolve_device(device))


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
        classifier_free=bool(model.classifier_free),
        held_out_rows=None
        if model.held_out_rows is None
        else [int(v) for v in model.held_out_rows],
        data_fingerprint=model.data_fingerprint,
    )


def _build(config, dim, cond_dim, objective, classifier_free=False):
    # a classifier-free model sees the condition and a keep flag (0: the NULL token)
    return ParameterScoreNet(
        dim,
        cond_dim + int(classifier_free),
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


#: fewest training rows (after the held-out split) a parameter score is trained on
MIN_TRAIN_ROWS = 16


def _seed_int(seed) -> int:
    """An int seed >= 0 from an int or a numpy Generator (one draw; pass an int to resume)."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31 - 1))
    if isinstance(seed, torch.Generator):
        return int(torch.randint(2**31 - 1, (1,), generator=seed))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(
            f"seed must be an int >= 0 or a numpy/torch Generator; got {type(seed).__name__}"
        )
    return check_int(int(seed), "seed", minimum=0)


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
    classifier_free=False,
    held_rows=None,
):
    if not isinstance(config, ScoreConfig):
        raise ValueError(f"config must be a ScoreConfig; got {type(config).__name__}")
    seed = _seed_int(seed)
    exact_trace_max = check_int(exact_trace_max, "exact_trace_max", minimum=0)
    if classifier_free and cond is None:
        raise ValueError(
            "classifier_free=True needs conditions (it learns p(theta | c) and p(theta))"
        )
    p_uncond = float(config.p_uncond) if classifier_free else 0.0
    if classifier_free and not 0.0 < p_uncond < 1.0:
        raise ValueError(f"config.p_uncond must lie in (0, 1) for classifier_free; got {p_uncond}")
    fingerprint = data_fingerprint(theta, cond)
    n_all = theta.shape[0]
    if held_rows is None and _is_share(validation):
        # the same split resolve_validation would draw, kept as row indices for cross-fitting
        _, held_rows = split_validation(n_all, validation, seed)
    if held_rows is not None:
        held_rows = np.asarray(held_rows, dtype=np.int64)
        keep = np.setdiff1d(np.arange(n_all), held_rows)
        arrays = (theta, cond, prior_score)
        validation = tuple(a[held_rows] for a in arrays if a is not None)
        theta, cond, prior_score = (None if a is None else a[keep] for a in arrays)
    (theta, cond, prior_score), held = resolve_validation(
        (theta, cond, prior_score), validation, seed, names
    )
    if theta.shape[0] < MIN_TRAIN_ROWS:
        raise ValueError(
            f"{names[0]} must leave at least {MIN_TRAIN_ROWS} training rows after the held-out "
            f"split; got {theta.shape[0]} (a score learned from so few samples is noise)"
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
    if resume is not None and bool(resume.get("classifier_free", False)) != classifier_free:
        raise ValueError(f"checkpoint {str(path)!r}: classifier_free differs from this run")
    device = resolve_device(config.device)
    with seeded(seed):
        net = _build(config, dim, cond_dim, objective, classifier_free)
    fields = dict(
        objective=objective,
        mean=mean,
        scale=scale,
        cond_mean=c_mean,
        cond_scale=c_scale,
        positive=pos,
        config=config,
        classifier_free=classifier_free,
    )
    # a frozen copy only for the checkpoint fields; the trained network is wrapped at the end
    model = ParameterScore(_build(config, dim, cond_dim, objective, classifier_free), **fields)
    model.held_out_rows = None if held_rows is None else readonly(held_rows.copy())
    model.data_fingerprint = fingerprint
    log_lo, log_hi = math.log(config.sigma_min), math.log(config.sigma_max)
    exact = dim <= exact_trace_max

    def tensors(eta_rows, cond_rows, theta_rows, prior_rows):
        u = torch.as_tensor((eta_rows - mean) / scale, dtype=torch.float32, device=device)
        c = None
        if cond_rows is not None:
            c = torch.as_tensor((cond_rows - c_mean) / c_scale, dtype=torch.float32, device=device)
        p = None
        if objective == "fsm" and prior_rows is not None:
            # d/d eta log p(theta) prior term, in normalised units: s_theta * dtheta/du;
            # the density of eta = log(theta) carries the Jacobian theta: d/d eta = theta s + 1
            ps = np.asarray(prior_rows, dtype=float)
            ps = (ps * np.where(pos, theta_rows, 1.0) + pos) * scale
            p = torch.as_tensor(ps, dtype=torch.float32, device=device)
        return u, c, p

    def with_null(c, gen):
        """Classifier-free guidance: the condition and a keep flag, dropped w.p. p_uncond."""
        if not classifier_free:
            return c
        keep = (torch.rand(c.shape[0], generator=gen) >= p_uncond).to(c.dtype).to(device)
        return torch.cat([c * keep[:, None], keep[:, None]], dim=1)

    def row_loss(net_, u, c, prior, gen):
        """The objective per row (before the mean), drawing its noise from `gen`."""
        n_rows = u.shape[0]
        if c is not None:
            c = with_null(c, gen)
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
            out = []
            for start in range(0, rows, 1024):
                sl = slice(start, min(start + 1024, rows))
                c = None if c_val is None else c_val[sl]
                p = None if p_val is None else p_val[sl]
                out.append(row_loss(net_, u_val[sl], c, p, gen).detach().double().cpu())
            # per row, so the loop can ask for a paired, significant improvement
            return torch.cat(out).numpy()

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
    warn_if_still_improving(
        history, f"{objective} score matching", config.n_iterations, config.improvement_z
    )
    out = ParameterScore(ema, **fields, history=history).to(device)
    out.held_out_rows, out.data_fingerprint = model.held_out_rows, fingerprint
    return out


def _is_share(validation) -> bool:
    return (
        isinstance(validation, int | float | np.floating)
        and not isinstance(validation, bool)
        and validation != 0
    )


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
    eval_every=100,
    patience=5,
    p_uncond=0.2,
)
r"""The default `ScoreConfig` of the parameter-score trainers (small MLP, 2000 iterations,
held-out loss every 100 iterations, early stopping after 5 evaluations without improvement,
a NULL-token share of 0.2 for classifier-free models).

For a prior-dominated BCRB from an ISM prior score use
`replace(DEFAULT_CONFIG, improvement_z=3)`: once the network sharpens around its training
points, the per-row ISM loss is heavy-tailed (rare rows with a large divergence), so the
mean over a few hundred held-out rows usually *under*-states the true loss and keeps
falling while the model gets worse; accepting any lower mean then picked near-field
members 10-60 % low. The paired rule keeps a new best only after a 3-standard-error drop.
It is not the default because the same held-out noise also holds back models that do keep
improving, slowly: a classifier-free ISM score stays at iteration 100 (marginal-score error
0.37 against 0.12 at 1 500 iterations with any lower mean), and a two-mode prior's
plug-in BCRB is 7 % high (docs, "Prior information from a learned score")."""

#: `validation` default: a 0.1 share for one model, 1 / n_seeds folds for an ensemble
AUTO = "auto"


def _train_member(task: dict):
    """One ensemble member (module level, so process pools can pickle it)."""
    return _train(**task)


def _fit(theta, cond, prior, *, n_seeds, seed, validation, checkpoint, executor, **common):
    """A single model, or an ensemble of `n_seeds` trained on disjoint held-out folds."""
    from .ensemble import ScoreEnsemble, fold_rows

    if n_seeds is None:
        if validation == AUTO:
            validation = 0.1
        return _train(
            theta,
            cond,
            prior_score=prior,
            seed=seed,
            validation=validation,
            checkpoint=checkpoint,
            **common,
        )
    n_seeds = check_int(n_seeds, "n_seeds")
    base = _seed_int(seed)
    n = theta.shape[0]
    if validation == AUTO:
        validation = min(max(1.0 / n_seeds, 0.1), 0.5) if n_seeds > 1 else 0.1
    rows = [None] * n_seeds
    if _is_share(validation):
        rows = fold_rows(n, validation, n_seeds, base)
        validation = None
    ck = None
    if checkpoint is not None:
        ck = Path(checkpoint)
        ck.mkdir(parents=True, exist_ok=True)
    tasks = [
        dict(
            theta=theta,
            cond=cond,
            prior_score=prior,
            seed=base + i,
            validation=validation,
            held_rows=rows[i],
            checkpoint=None if ck is None else ck / f"member_{i}.pt",
            **common,
        )
        for i in range(n_seeds)
    ]
    members = run_tasks(_train_member, [(t,) for t in tasks], executor=check_executor(executor))
    ensemble = ScoreEnsemble(members, seeds=[base + i for i in range(n_seeds)])
    if ck is not None:
        write_atomic(ck / "ensemble.json", json.dumps({"seeds": list(ensemble.seeds)}))
    return ensemble


def train_parameter_score(
    samples,
    *,
    conditions=None,
    objective: str = "ism",
    config: ScoreConfig = DEFAULT_CONFIG,
    seed=0,
    n_seeds: int | None = None,
    positive=None,
    exact_trace_max: int = 8,
    validation=AUTO,
    classifier_free: bool = False,
    checkpoint=None,
    executor=None,
    progress: bool = False,
):
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
        Network size and optimisation (see the module text for the fields used); default
        [`DEFAULT_CONFIG`][beamopt.metrics.score_matching.DEFAULT_CONFIG].
    seed : int or numpy.random.Generator
        An int (member `i` of an ensemble uses `seed + i`), or a Generator from which one
        int is drawn (pass an int to resume from a checkpoint).
    n_seeds : int, optional
        Train an ensemble of `n_seeds` independently initialised models and return a
        [`ScoreEnsemble`][beamopt.metrics.ensemble.ScoreEnsemble]: the metrics
        ([`score_fim`][beamopt.metrics.fim.score_fim], `bcrb`, `kl_divergence`,
        `mutual_information`) then report the between-seed spread beside the Monte Carlo
        error. Members hold out disjoint folds of the samples, so the metrics can
        cross-fit (evaluate every sample with a model that never trained on it).
    positive : sequence of int, optional
        Coordinates supported on $(0, \infty)$, learned in $\log\theta$ (ISM/SSM).
    exact_trace_max : int
    validation : "auto", float, array or tuple of arrays, or None
        Held-out samples. A share in [0, 1) of the rows drawn from `seed` ("auto": 0.1 for
        one model; for an ensemble $1/n_{\rm seeds}$, clipped to [0.1, 0.5], so the folds
        cover every row), 0 or None for none, or explicit held-out `samples`
        (`(samples, conditions)` for a conditional model). The held-out objective (the same
        loss with fixed noise; for ISM exactly $\tfrac12 E\|s_\phi - \nabla\log p\|^2$ minus
        a constant) is recorded every `config.eval_every` iterations, the best weights are
        returned and training stops after `config.patience` evaluations without improvement.
    classifier_free : bool
        With `conditions`: replace the condition by a NULL token with probability
        `config.p_uncond` during training, so one network gives the conditional score
        (`condition=c`) and the marginal one (`condition=None`), as classifier-free
        guidance does; used for the mutual information.
    checkpoint : path, optional
        Training checkpoint written atomically, resumed when it exists (as in
        [`train_score_model`][beamopt.score.training.train_score_model]); for an ensemble a
        directory holding one checkpoint per member.
    executor : concurrent.futures.Executor, optional
        Trains the ensemble members as tasks of `executor` (an object with
        `submit(fn, *args)`, e.g. a `ProcessPoolExecutor` or dask's `Client.get_executor()`);
        the members are the same as in the serial loop.
    progress : bool

    Returns
    -------
    ParameterScore or ScoreEnsemble
        With the training record in `history` (`histories` for an ensemble).
    """
    check_choice(objective, "objective", ("ism", "ssm", "dsm"))
    theta = as_samples(samples, "samples")
    cond = None
    if conditions is not None:
        cond = as_samples(conditions, "conditions", n=theta.shape[0])
    return _fit(
        theta,
        cond,
        None,
        n_seeds=n_seeds,
        seed=seed,
        validation=validation,
        checkpoint=checkpoint,
        executor=executor,
        objective=objective,
        config=config,
        positive=positive,
        exact_trace_max=exact_trace_max,
        progress=progress,
        names=("samples", "conditions", "prior_scores"),
        classifier_free=bool(classifier_free),
    )


def train_fisher_score(
    theta,
    observations,
    prior_scores,
    *,
    config: ScoreConfig = DEFAULT_CONFIG,
    seed=0,
    n_seeds: int | None = None,
    positive=None,
    exact_trace_max: int = 8,
    validation=AUTO,
    checkpoint=None,
    executor=None,
    progress: bool = False,
):
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
    config, seed, n_seeds, positive, exact_trace_max, checkpoint, executor, progress
        As in [`train_parameter_score`][beamopt.metrics.score_matching.train_parameter_score].
    validation : "auto", float, tuple of arrays or None
        A held-out share ("auto": 0.1, or $1/n_{\rm seeds}$ folds for an ensemble), 0 or
        None, or explicit held-out `(theta, observations, prior_scores)`.

    Returns
    -------
    ParameterScore or ScoreEnsemble
        Conditional on the observation; `score(theta, condition=y)` is the Fisher score.
    """
    theta = as_samples(theta, "theta")
    obs = as_samples(observations, "observations", n=theta.shape[0])
    prior = as_samples(prior_scores, "prior_scores", dim=theta.shape[1], n=theta.shape[0])
    return _fit(
        theta,
        obs,
        prior,
        n_seeds=n_seeds,
        seed=seed,
        validation=validation,
        checkpoint=checkpoint,
        executor=executor,
        objective="fsm",
        config=config,
        positive=positive,
        exact_trace_max=exact_trace_max,
        progress=progress,
        names=("theta", "observations", "prior_scores"),
    )
