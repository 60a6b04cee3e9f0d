r"""Diffusion samplers that turn a denoiser into a [`beamopt.PosteriorSampler`][].

Every sampler runs the reverse process of the cosine DDPM schedule
([`beamopt.score.schedule.ddpm_abar`][], 1000 training steps, evaluated on an evenly spaced
subsequence of `n_steps` of them) on a noise prediction $\hat\epsilon(x, \sigma)$ of the
variance-exploding state $x = z + \sigma\epsilon$; the DDPM state is
$x_t = \sqrt{\bar\alpha_t}\, x$ with $\sigma_t^2 = (1 - \bar\alpha_t)/\bar\alpha_t$. One step from
$\bar\alpha_t$ to $\bar\alpha_s > \bar\alpha_t$ is

$$
\hat z = \frac{x_t - \sqrt{1 - \bar\alpha_t}\,\hat\epsilon}{\sqrt{\bar\alpha_t}}, \qquad
x_s = \sqrt{\bar\alpha_s}\, \hat z + \sqrt{1 - \bar\alpha_s - c^2}\, \hat\epsilon + c\, \xi,
\qquad
c = \eta \sqrt{\frac{1 - \bar\alpha_s}{1 - \bar\alpha_t}
    \left(1 - \frac{\bar\alpha_t}{\bar\alpha_s}\right)},
$$

with $\xi \sim \mathcal{CN}(0, I)$: $\eta = 1$ is DDPM ancestral sampling (the exact Gaussian
reverse kernel $q(x_s \mid x_t, \hat z)$), $\eta = 0$ is DDIM (a deterministic map from the
initial noise). The *deterministic* variant (the noise-suppressed sampler of "A Perception vs.
Distortion Perspective on Score-Based Generative Channel Estimation", Section VII-A, that
propagates only the mean $\mu_\theta(x_t, t)$) takes the DDPM step without $c\,\xi$. The last
step goes to $\bar\alpha = 1$, where $x_s = \hat z$, the Tweedie estimate.

Which sampler is exact when (with the exact score, e.g.
[`GaussianDenoiser`][beamopt.score.denoiser.GaussianDenoiser]):

* [`DiffusionPrior`][beamopt.score.samplers.DiffusionPrior] and
  [`ConditionalSampler`][beamopt.score.samplers.ConditionalSampler] (guidance 0 or 1): the
  discretisation of the reverse SDE (DDPM) or probability-flow ODE (DDIM) of the exact prior /
  posterior; exact as `n_steps` $\to \infty$.
* [`DiffusionPosterior`][beamopt.score.samplers.DiffusionPosterior], `method="tmpd"` (Tweedie moment
  projection): the noisy likelihood $p(y \mid x)$ uses the exact first two moments of
  $p(z \mid x)$ (Tweedie: mean $x - \sigma\hat\epsilon$, covariance $\sigma^2 \partial
  \mathbb{E}[z \mid x] / \partial x^T$). For a Gaussian prior $p(z \mid x)$ *is* Gaussian, so the
  posterior score is exact at every noise level and the sampler is exact as
  `n_steps` $\to\infty$ (with the defaults `sigma_jacobian = sigma_guidance = inf`; for
  learned models a finite `sigma_guidance` avoids amplified guidance errors at large $\sigma$);
  for other priors it is an approximation (exact as $\sigma \to 0$). It costs one forward
  and $2 n_{obs} + 1$ backward passes per step.
* `method="pigdm"`: the same likelihood with the isotropic covariance
  $\sigma^2/(1+\sigma^2)\, I$ of a white unit-variance prior instead of the Jacobian (one
  backward pass per step). Exact only for a white prior $\mathcal{CN}(0, \mathrm{scale}^2 I)$;
  otherwise an approximation, like DPS, that is not exact in any step limit.
* Neither DPS (a point-mass $p(z \mid x)$ with a tuned step) nor annealed Langevin is
  offered: DPS is biased even for Gaussian priors, and annealed Langevin needs many steps per
  noise level to be accurate (its exactness holds only as $\sigma_{\min}$ and the step size go
  to 0 with the number of steps going to infinity).
* Classifier-free guidance with a scale other than 0 or 1 samples no posterior: it sharpens
  ($w > 1$) or flattens ($0 < w < 1$) the conditioning.

References
----------
Ho, Jain and Abbeel, "Denoising diffusion probabilistic models", 2020; Song, Meng and Ermon,
"Denoising diffusion implicit models", 2021; Ho and Salimans, "Classifier-free diffusion
guidance", 2022; Boys et al., "Tweedie moment projected diffusions for inverse problems", 2023;
Song and Ermon, "Generative modeling by estimating gradients of the data distribution", 2019;
Jalal et al., "Robust compressed sensing MRI with deep generative priors", 2021.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._repr import summary_repr
from .._validation import as_array, check_choice, check_int, check_nonnegative
from ..posterior import LinearObservation
from .denoiser import check_denoiser
from .schedule import ddpm_abar

__all__ = [
    "DiffusionPrior",
    "DiffusionPosterior",
    "ConditionalSampler",
    "abar_grid",
    "reverse_diffusion",
]

#: Length of the training schedule whose subsequences the samplers visit.
N_TRAIN_STEPS = 1000
_METHODS = ("ddpm", "ddim")
_GUIDANCE = ("tmpd", "pigdm")
_VARIANCES = ("auto", "analytic", "ddpm")

NoiseFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def abar_grid(n_steps: int) -> np.ndarray:
    r"""The $\bar\alpha$ values a sampler with `n_steps` steps visits, then 1.

    An evenly spaced subsequence (largest noise first) of the 1000-step cosine schedule
    ([`ddpm_abar`][beamopt.score.schedule.ddpm_abar]); more steps than that use the
    `n_steps`-step schedule itself.

    Returns
    -------
    ndarray, shape (n_steps + 1,)
        Increasing, ending with 1.0 (the clean end).
    """
    n_steps = check_int(n_steps, "n_steps")
    T = max(n_steps, N_TRAIN_STEPS)
    full = ddpm_abar(T)
    idx = np.round(np.linspace(T - 1, 0, n_steps)).astype(int)
    return np.append(full[idx], 1.0)


def torch_generator(seed) -> torch.Generator:
    """A CPU `torch.Generator` from None, an int, a numpy Generator or a torch Generator."""
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63 - 1))
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(check_int(seed, "seed", minimum=0))
    return gen


def _cn(shape, gen: torch.Generator, device) -> torch.Tensor:
    z = torch.randn((*shape, 2), generator=gen, dtype=torch.float64) / math.sqrt(2.0)
    return torch.view_as_complex(z).to(device)


def _device(model, device) -> torch.device:
    if device is None:
        device = getattr(model, "device", "cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        msg = f"device must be None, 'auto', 'cpu' or 'cuda[:N]'; got {device!r}"
        raise ValueError(msg) from exc


def _noise(model, x, sigma, y) -> torch.Tensor:
    eps = model.predict_noise(x, sigma, y)
    return eps.to(dtype=torch.complex128, device=x.device)


def reverse_diffusion(
    noise_fn: NoiseFn,
    shape: tuple[int, ...],
    n_samples: int,
    n_steps: int,
    *,
    method: str = "ddpm",
    deterministic: bool = False,
    generator: torch.Generator,
    device="cpu",
    callback: Callable[[int, float, torch.Tensor, torch.Tensor], None] | None = None,
    variance: Callable[[float], float] | None = None,
) -> torch.Tensor:
    r"""Run the reverse process of the module docstring on `noise_fn(x, sigma)`.

    Parameters
    ----------
    noise_fn : callable
        $(x, \sigma) \mapsto \hat\epsilon$ with `x` complex128 `(n_samples, *shape)` in
        variance-exploding coordinates and `sigma` float64 `(n_samples,)`.
    shape : tuple of int
        Shape of one state.
    n_samples, n_steps : int
    method : {"ddpm", "ddim"}
    deterministic : bool
        DDPM without the injected noise (mean propagation).
    generator : torch.Generator
    device : torch device
    callback : callable, optional
        Called once per step, before the update, as `callback(step, sigma, x_t, z_hat)`:
        the step index (0 = largest noise), the noise level $\sigma_t$ of the state, the DDPM
        state $x_t$ and its jump-to-clean (Tweedie) estimate
        $\hat z = (x_t - \sqrt{1 - \bar\alpha_t}\,\hat\epsilon)/\sqrt{\bar\alpha_t}$, both
        `(n_samples, *shape)` in normalised coordinates (do not modify them). The last
        step's `z_hat` is the returned sample. For watching the trajectory (NMSE of the
        state and of the estimate along the reverse process); it does not change the draws.
    variance : callable, optional
        $\sigma \mapsto V(\sigma)$, the per-entry posterior variance of $z$ at noise level
        $\sigma$ (normalised coordinates; see [`beamopt.score.variance`][]). DDPM steps then
        inject $\sqrt{c^2 + k^2 V}\,\xi$ instead of $c\,\xi$ (the analytic step, which keeps
        few-step draws as wide as the posterior); ignored by DDIM and `deterministic`.

    Returns
    -------
    torch.Tensor, shape (n_samples, *shape), complex128
        The clean states $z$ (normalised coordinates).
    """
    eta = 1.0 if method == "ddpm" else 0.0
    abars = abar_grid(n_steps)
    x = _cn((n_samples, *shape), generator, device)
    ones = torch.ones(n_samples, dtype=torch.float64, device=device)
    for step, (a_t, a_s) in enumerate(itertools.pairwise(abars)):
        sigma = math.sqrt((1.0 - a_t) / a_t)
        with torch.no_grad():
            eps = noise_fn(x / math.sqrt(a_t), sigma * ones)
        z_hat = (x - math.sqrt(1.0 - a_t) * eps) / math.sqrt(a_t)
        if callback is not None:
            callback(step, sigma, x, z_hat)
        c = eta * math.sqrt(max((1.0 - a_s) / (1.0 - a_t) * (1.0 - a_t / a_s), 0.0))
        b = math.sqrt(max(1.0 - a_s - c * c, 0.0))
        x = math.sqrt(a_s) * z_hat + b * eps
        if eta > 0.0 and variance is not None:
            k = math.sqrt(a_s) - b * math.sqrt(a_t / (1.0 - a_t))
            c = math.sqrt(c * c + k * k * max(float(variance(sigma)), 0.0))
        if c > 0.0 and not deterministic:
            x = x + c * _cn(x.shape, generator, device)
    return x


@dataclass(frozen=True, eq=False)
class _Sampler:
    """Shared plumbing: batching, seeding, conversion to raw units and numpy."""

    def _draw(self, noise_fn_for_batch, n_samples, seed, callback=None) -> np.ndarray:
        n_samples = check_int(n_samples, "n_samples")
        if callback is not None and not callable(callback):
            raise ValueError(f"callback must be None or callable; got {callback!r}")
        gen = torch_generator(seed)
        dev = _device(self.model, self.device)
        scale = float(self.model.scale)
        raw = None
        if callback is not None:

            def raw(step, sigma, x, z_hat):
                callback(
                    step,
                    sigma,
                    scale * x.detach().cpu().numpy().astype(np.complex128),
                    scale * z_hat.detach().cpu().numpy().astype(np.complex128),
                )

        out = []
        for start in range(0, n_samples, self.batch_size):
            b = min(self.batch_size, n_samples - start)
            z = self._run(noise_fn_for_batch(b, dev), b, gen, dev, raw)
            out.append(z.detach().cpu().numpy())
        return (scale * np.concatenate(out)).astype(np.complex128)

    def _run(self, noise_fn, b, gen, dev, callback=None) -> torch.Tensor:
        return reverse_diffusion(
            noise_fn,
            tuple(self.model.channel_shape),
            b,
            self.n_steps,
            method=self.method,
            deterministic=getattr(self, "deterministic", False),
            generator=gen,
            device=dev,
            callback=callback,
            variance=self._variance_fn(),
        )

    def _variance_fn(self):
        r"""$V(\sigma)$ for analytic steps, or None (the plain DDPM step)."""
        return None

    def _validate_common(self) -> None:
        object.__setattr__(self, "n_steps", check_int(self.n_steps, "n_steps"))
        object.__setattr__(self, "batch_size", check_int(self.batch_size, "batch_size"))
        check_choice(self.method, "method", _METHODS)
        _device(self.model, self.device)

    @property
    def channel_shape(self) -> tuple[int, ...]:
        """Shape of one channel draw."""
        return tuple(self.model.channel_shape)


@dataclass(frozen=True, eq=False)
class DiffusionPrior(_Sampler):
    r"""Unconditional channel sampler: DDPM ancestral or DDIM on the prior's noise prediction.

    Implements [`beamopt.PosteriorSampler`][] (the observation is ignored: the prior is the
    posterior without pilots).

    Parameters
    ----------
    model : Denoiser
        Any [`Denoiser`][beamopt.score.denoiser.Denoiser] (a trained
        [`ScoreModel`][beamopt.score.model.ScoreModel] or an exact denoiser); its unconditional
        prediction (`y=None`) is used.
    n_steps : int
        Reverse steps = network evaluations per sample, >= 1.
    method : {"ddpm", "ddim"}
        Ancestral sampling ($\eta = 1$) or DDIM ($\eta = 0$).
    batch_size : int
        Samples per reverse pass (memory bound), >= 1.
    device : None, "auto" or torch device
        Default: the model's `device` attribute, else CPU.
    """

    model: Any
    n_steps: int = 100
    method: str = "ddpm"
    batch_size: int = 4096
    device: Any = None

    __repr__ = summary_repr

    def __post_init__(self) -> None:
        check_denoiser(self.model)
        self._validate_common()

    @property
    def n_evaluations(self) -> int:
        """Network evaluations (forward passes) per sample."""
        return self.n_steps

    def noise_fn(self, observation=None) -> NoiseFn:
        """The noise prediction the reverse process runs on (the prior's)."""
        return lambda x, sigma: _noise(self.model, x, sigma, None)

    def sample(self, observation, n_samples: int, *, seed=None, callback=None) -> np.ndarray:
        """Draw channels from the learned prior.

        Parameters
        ----------
        observation : any
            Ignored (pass None).
        n_samples : int
            Number of i.i.d. draws, >= 1.
        seed : None, int, numpy.random.Generator or torch.Generator
        callback : callable, optional
            `callback(step, sigma, x_t, h_hat)` once per reverse step and batch, with the DDPM
            state and its jump-to-clean (Tweedie) estimate in the channel's units, arrays
            `(batch, *channel_shape)`; see
            [`reverse_diffusion`][beamopt.score.samplers.reverse_diffusion]. The draws do not
            depend on it.

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape), complex128
        """
        return self._draw(lambda b, dev: self.noise_fn(), n_samples, seed, callback)


@dataclass(frozen=True, eq=False)
class ConditionalSampler(_Sampler):
    r"""Posterior sampler from an observation-conditioned model with classifier-free guidance.

    Implements [`beamopt.PosteriorSampler`][]. The guided noise prediction is

    $$
    \hat\epsilon_w(x, \sigma, y) = \hat\epsilon(x, \sigma, \varnothing)
        + w \left(\hat\epsilon(x, \sigma, y) - \hat\epsilon(x, \sigma, \varnothing)\right),
    $$

    so $w = 0$ samples the prior, $w = 1$ the posterior $p(h \mid y)$ and $w > 1$ a sharpened
    posterior $\propto p(h)\, p(y \mid h)^w$ (exactly so for the exact scores).

    Parameters
    ----------
    model : Denoiser
        Conditional [`Denoiser`][beamopt.score.denoiser.Denoiser] (`obs_shape` not None) whose
        `y=None` prediction is the unconditional one.
    guidance : float
        CFG scale $w \ge 0$ (0: prior only, 1: plain conditional sampling).
    n_steps : int
        Reverse steps, >= 1.
    deterministic : bool
        The noise-suppressed variant: DDPM steps that propagate only the reverse-kernel mean
        (no injected noise), which collapses the draws towards the conditional mean.
    method : {"ddpm", "ddim"}
    batch_size : int
    device : None, "auto" or torch device
    variance : {"auto", "analytic", "ddpm"}
        Noise of the DDPM steps: `"analytic"` adds the model's held-out posterior variance
        (`model.posterior_variance`, measured by `train_score_model`; see
        [`beamopt.score.variance`][]) so that few-step draws are as wide as the posterior;
        `"ddpm"` is the plain step $c\,\xi$, narrower than the posterior at few steps.
        `"auto"` (default) is `"analytic"` where the model has the curve and the guidance is
        0 or 1, else `"ddpm"`.
    """

    model: Any
    guidance: float = 1.0
    n_steps: int = 100
    deterministic: bool = False
    method: str = "ddpm"
    batch_size: int = 4096
    device: Any = None
    variance: str = "auto"

    __repr__ = summary_repr

    def __post_init__(self) -> None:
        check_denoiser(self.model, conditional=True)
        object.__setattr__(self, "guidance", check_nonnegative(self.guidance, "guidance"))
        if not isinstance(self.deterministic, bool):
            raise ValueError(f"deterministic must be a bool; got {self.deterministic!r}")
        self._validate_common()
        check_choice(self.variance, "variance", _VARIANCES)
        curve = getattr(self.model, "posterior_variance", None)
        if self.variance == "analytic":
            if curve is None:
                raise ValueError(
                    "variance='analytic' needs model.posterior_variance (train_score_model "
                    "measures it when it holds data out: validation > 0); use variance='ddpm'"
                )
            if self.guidance not in (0.0, 1.0):
                raise ValueError(
                    f"variance='analytic' needs guidance 0 or 1 (a posterior or the prior); "
                    f"got guidance={self.guidance}"
                )

    def _variance_fn(self):
        curve = getattr(self.model, "posterior_variance", None)
        if self.variance == "ddpm" or curve is None or self.guidance not in (0.0, 1.0):
            return None
        conditional = self.guidance == 1.0
        return lambda sigma: curve(sigma, conditional=conditional)

    @property
    def n_evaluations(self) -> int:
        """Network evaluations per sample (two per step unless the guidance is 0 or 1)."""
        return self.n_steps * (1 if self.guidance in (0.0, 1.0) else 2)

    def _observation(self, observation) -> np.ndarray:
        obs_shape = tuple(self.model.obs_shape)
        y = as_array(observation, "observation", dtype=complex)
        if y.shape != obs_shape:
            raise ValueError(f"observation must have shape {obs_shape}; got {y.shape}")
        return y

    def noise_fn(self, observation, n_batch: int = 1, device="cpu") -> NoiseFn:
        """The guided noise prediction for one observation, batched over `n_batch` states."""
        y = self._observation(observation)
        y_t = torch.as_tensor(y, dtype=torch.complex128, device=device)
        y_t = y_t.expand(n_batch, *y.shape)
        w, model = self.guidance, self.model

        def fn(x, sigma):
            if w == 0.0:
                return _noise(model, x, sigma, None)
            cond = _noise(model, x, sigma, y_t[: x.shape[0]])
            if w == 1.0:
                return cond
            uncond = _noise(model, x, sigma, None)
            return uncond + w * (cond - uncond)

        return fn

    def sample(self, observation, n_samples: int, *, seed=None, callback=None) -> np.ndarray:
        """Draw from the guided posterior given pilots `observation` (shape `obs_shape`).

        Parameters
        ----------
        observation : array_like, shape obs_shape
        n_samples : int
        seed : None, int, numpy.random.Generator or torch.Generator
        callback : callable, optional
            `callback(step, sigma, x_t, h_hat)` once per reverse step and batch, with the DDPM
            state and its jump-to-clean (Tweedie) estimate in the channel's units, arrays
            `(batch, *channel_shape)`; see
            [`reverse_diffusion`][beamopt.score.samplers.reverse_diffusion]. The draws do not
            depend on it.

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape), complex128
        """
        self._observation(observation)
        return self._draw(
            lambda b, dev: self.noise_fn(observation, b, dev), n_samples, seed, callback
        )


@dataclass(frozen=True, eq=False)
class DiffusionPosterior(_Sampler):
    r"""Posterior sampler for the linear pilot model from an *unconditional* prior model.

    Implements [`beamopt.PosteriorSampler`][]. The posterior score is the prior score plus
    the score of the noisy likelihood,
    $\nabla_{\bar x} \log p_\sigma(x \mid y) = -\hat\epsilon(x,\sigma)/\sigma
    + \nabla_{\bar x} \log p(y \mid x)$, with $y = A\,\mathrm{vec}(h) + n$,
    $n \sim \mathcal{CN}(0, \sigma_n^2 I)$.

    * `method="tmpd"`: $p(y \mid x) \approx \mathcal{CN}(y;\ A \hat h(x),\ A \Sigma(x) A^H +
      \sigma_n^2 I)$ with the Tweedie mean $\hat h = \mathrm{scale}(x - \sigma\hat\epsilon)$ and
      covariance $\Sigma = \mathrm{scale}^2\sigma^2\, \partial(x - \sigma\hat\epsilon)/\partial
      x^T$ (autograd), then DDPM/DDIM on the guided noise
      $\hat\epsilon - \sigma \nabla_{\bar x} \log p(y \mid x)$. Exact for Gaussian priors as
      `n_steps` grows.
    * `method="pigdm"`: the covariance replaced by $\mathrm{scale}^2\sigma^2/(1+\sigma^2)\,I$
      (the pseudo-inverse-guided choice; exact for a white unit-variance prior, one backward
      pass per step instead of $2 n_{obs} + 1$).

    Parameters
    ----------
    model : Denoiser
        Its unconditional prediction is used.
    observation : LinearObservation
        The pilot model; its `channel_shape` must equal the model's.
    n_steps : int
        Reverse steps, >= 1.
    method : {"tmpd", "pigdm"}
    sampler : {"ddpm", "ddim"}
        Reverse step.
    sigma_jacobian : float
        tmpd uses the Jacobian covariance only at noise levels $\sigma \le$ `sigma_jacobian`
        (normalised coordinates) and the isotropic one above; `math.inf` (default) keeps tmpd
        exact for Gaussian priors.
    sigma_guidance : float
        No likelihood guidance above this noise level (normalised coordinates). For an exact
        score the guidance there is $O(1/\sigma)$ and skipping it changes little; a network's
        guidance at large $\sigma$ is $O(1)$ wrong (its Tweedie mean does not flatten as
        $1/\sigma$ outside the training range) and the DDIM/DDPM step amplifies the error by
        up to $\sigma_t / \sigma_s$, so learned models need a finite value (about 10; see the
        score-models theory page). Default `math.inf`.
    batch_size : int
    device : None, "auto" or torch device
    """

    model: Any
    observation: LinearObservation
    n_steps: int = 100
    method: str = "tmpd"
    sampler: str = "ddpm"
    sigma_jacobian: float = math.inf
    sigma_guidance: float = math.inf
    batch_size: int = 4096
    device: Any = None

    __repr__ = summary_repr

    def __post_init__(self) -> None:
        check_denoiser(self.model)
        obs = self.observation
        if not isinstance(obs, LinearObservation):
            raise ValueError(f"observation must be a LinearObservation; got {type(obs).__name__}")
        if tuple(obs.channel_shape) != tuple(self.model.channel_shape):
            raise ValueError(
                f"observation.channel_shape {obs.channel_shape} must equal the model's "
                f"channel_shape {tuple(self.model.channel_shape)}"
            )
        check_choice(self.method, "method", _GUIDANCE)
        for name in ("sigma_jacobian", "sigma_guidance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"{name} must be > 0 (or math.inf); got {value!r}")
        check_choice(self.sampler, "sampler", _METHODS)
        set_ = object.__setattr__
        set_(self, "n_steps", check_int(self.n_steps, "n_steps"))
        set_(self, "batch_size", check_int(self.batch_size, "batch_size"))
        _device(self.model, self.device)

    @property
    def n_evaluations(self) -> int:
        """Network forward passes per sample (tmpd adds 2 n_obs + 1 backward passes per step)."""
        return self.n_steps

    def _tensors(self, observation, device):
        y = self.observation.check_observation(observation, single=True)
        A = torch.as_tensor(np.array(self.observation.A), dtype=torch.complex128, device=device)
        return torch.as_tensor(y, dtype=torch.complex128, device=device), A

    def noise_fn(self, observation, device="cpu") -> NoiseFn:
        r"""The posterior noise prediction $\hat\epsilon - \sigma\nabla_{\bar x}\log p(y\mid x)$."""
        y, A = self._tensors(observation, device)
        model, scale, nv = self.model, float(self.model.scale), self.observation.noise_var
        m = A.shape[0]

        def fn(x, sigma):
            B = x.shape[0]
            s = sigma.reshape(-1, *[1] * (x.ndim - 1))
            if float(sigma.min()) > self.sigma_guidance:
                return _noise(model, x, sigma, None)
            with torch.enable_grad():
                xg = x.detach().requires_grad_(True)
                eps = _noise(model, xg, sigma, None)
                Am = scale * ((xg - s * eps).reshape(B, -1) @ A.T)  # raw-unit A E[h | x]
                rows = []
                # The Jacobian of a network is unreliable at large sigma (it is trained on
                # finite noise levels, and sigma^2 J amplifies its errors), so above
                # sigma_jacobian the isotropic covariance takes over.
                use_jac = self.method == "tmpd" and float(sigma.max()) <= self.sigma_jacobian
                for k in range(m if use_jac else 0):
                    v = torch.zeros(B, m, dtype=torch.complex128, device=x.device)
                    v[:, k] = 1.0
                    (g1,) = torch.autograd.grad(Am, xg, v, retain_graph=True)
                    (g2,) = torch.autograd.grad(Am, xg, 1j * v, retain_graph=True)
                    # torch's VJP is J^H v + P^T conj(v); two real/imaginary probes isolate J.
                    rows.append(((g1 - 1j * g2) / 2).conj().reshape(B, -1))
                if rows:
                    JA = torch.stack(rows, dim=1)  # (B, m, n) = d(A E[h|x]) / dx^T
                    data = (scale * sigma**2)[:, None, None] * (JA @ A.mH)
                else:
                    # Cov[z | x] ~ sigma^2 / (1 + sigma^2) I: exact for a white CN(0, I) prior.
                    r2 = (sigma**2 / (1.0 + sigma**2)).to(torch.complex128)[:, None, None]
                    data = (scale**2 * r2) * (A @ A.mH)
                data = 0.5 * (data + data.mH)
                lam, U = torch.linalg.eigh(data)
                S = (U * (lam.clamp_min(0.0) + nv)[:, None, :].to(U.dtype)) @ U.mH
                r = y - Am
                w = torch.linalg.solve(S.detach(), r[..., None])[..., 0]
                log_lik = -(r.conj() * w).real.sum()
                (g,) = torch.autograd.grad(log_lik, xg)
            # torch returns 2 d/d(conj x) of a real function.
            return (eps - s * (g / 2)).detach()

        return fn

    def sample(self, observation, n_samples: int, *, seed=None, callback=None) -> np.ndarray:
        """Draw from the posterior given pilots `observation`, shape `(n_obs,)`.

        Parameters
        ----------
        observation : array_like, shape (n_obs,)
        n_samples : int
        seed : None, int, numpy.random.Generator or torch.Generator
        callback : callable, optional
            `callback(step, sigma, x_t, h_hat)` once per reverse step and batch, with the DDPM
            state and its jump-to-clean (Tweedie) estimate in the channel's units, arrays
            `(batch, *channel_shape)`; see
            [`reverse_diffusion`][beamopt.score.samplers.reverse_diffusion]. The draws do not
            depend on it.

        Returns
        -------
        ndarray, shape (n_samples, *channel_shape), complex128
        """
        self.observation.check_observation(observation, single=True)
        return self._draw(lambda b, dev: self.noise_fn(observation, dev), n_samples, seed, callback)

    def _run(self, noise_fn, b, gen, dev, callback=None) -> torch.Tensor:
        return reverse_diffusion(
            noise_fn,
            self.channel_shape,
            b,
            self.n_steps,
            method=self.sampler,
            generator=gen,
            device=dev,
            callback=callback,
        )
