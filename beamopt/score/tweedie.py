r"""Tweedie posterior-mean estimates from any denoiser or diffusion sampler.

Tweedie's formula gives the MMSE denoiser from the noise prediction. In the user's units, a
noisy channel $x = h + s\,\epsilon$ (noise std $s$ per complex entry, $\epsilon \sim
\mathcal{CN}(0, I)$) has

$$
\mathbb{E}[h \mid x] = x - s\, \hat\epsilon\!\left(\frac{x}{\mathrm{scale}},
    \frac{s}{\mathrm{scale}}\right),
$$

and with pilots $y$ the conditional prediction gives $\mathbb{E}[h \mid x, y]$. At a noise level
where $x$ carries no information about $h$, the same formula is the posterior mean
$\mathbb{E}[h \mid y]$ itself: the "jump to clean" estimate of a diffusion sampler's first step,
one network evaluation instead of a sample average.

References
----------
B. Efron, "Tweedie's formula and selection bias", JASA, 2011.
"""

from __future__ import annotations

import numpy as np
import torch

from .._deprecation import renamed_keyword
from .._validation import as_array, check_int, check_positive
from ._sampling import abar_grid, complex_normal, predict_noise, resolve_device, torch_generator
from .denoiser import check_denoiser
from .samplers import ConditionalSampler, DiffusionPosterior, _Sampler

__all__ = ["tweedie_denoise", "posterior_mean"]


def tweedie_denoise(model, x, noise_std, y=None) -> np.ndarray:
    r"""MMSE estimate $\mathbb{E}[h \mid x]$ (or $\mathbb{E}[h \mid x, y]$) of a noisy channel.

    Parameters
    ----------
    model : Denoiser
        A [`Denoiser`][beamopt.score.denoiser.Denoiser] (learned or exact).
    x : array_like, shape (B, *channel_shape), complex
        Noisy channels $x = h + s\epsilon$ in the user's units.
    noise_std : float or array_like, shape (B,)
        Noise std $s > 0$ per complex entry (user's units).
    y : array_like, shape (B, *obs_shape), complex, optional
        Pilot observations for a conditional model.

    Returns
    -------
    ndarray, shape (B, *channel_shape), complex128
    """
    check_denoiser(model)
    shape = tuple(model.channel_shape)
    x = as_array(x, "x", dtype=complex)
    if x.ndim != len(shape) + 1 or x.shape[1:] != shape:
        raise ValueError(f"x must have shape (B, {', '.join(map(str, shape))}); got {x.shape}")
    s = as_array(noise_std, "noise_std", dtype=float)
    s = np.broadcast_to(s, (x.shape[0],)) if s.ndim == 0 else s
    if s.shape != (x.shape[0],) or np.any(s <= 0):
        raise ValueError(f"noise_std must be > 0, a scalar or shape ({x.shape[0]},); got {s}")
    scale = float(model.scale)
    dev = resolve_device(model, None)
    xt = torch.as_tensor(x / scale, dtype=torch.complex128, device=dev)
    st = torch.as_tensor(s / scale, dtype=torch.float64, device=dev)
    yt = None if y is None else torch.as_tensor(as_array(y, "y", dtype=complex), device=dev)
    with torch.no_grad():
        eps = predict_noise(model, xt, st, yt).cpu().numpy()
    return x - s.reshape(-1, *[1] * len(shape)) * eps


@renamed_keyword("observation", "y")
def posterior_mean(sampler, y, *, n_samples: int = 1, seed=None) -> np.ndarray:
    r"""Tweedie estimate of $\mathbb{E}[h \mid y]$ from a diffusion sampler's noise prediction.

    Evaluates the sampler's (guided) noise prediction once at its largest noise level
    $\sigma_T$ on states $x \sim \mathcal{CN}(0, \sigma_T^2 I)$ that carry no information about
    $h$ and returns the average of $\mathrm{scale}\,(x - \sigma_T \hat\epsilon)$ over
    `n_samples` such states. With the exact posterior score (an exact conditional denoiser,
    or [`DiffusionPosterior`][beamopt.score.samplers.DiffusionPosterior] with `method="tmpd"` on a
    Gaussian prior) this is the exact posterior mean up to $O(1/\sigma_T)$; with a learned
    model it is the network's MMSE estimate (the observation of "A Perception vs.
    Distortion Perspective on Score-Based Generative Channel Estimation" that the first
    reverse step acts as a conditional-mean estimator).

    Parameters
    ----------
    sampler : DiffusionPrior, DiffusionPosterior (method "tmpd" or "pigdm") or ConditionalSampler
    y : array_like
        One received pilot vector, as for `sampler.sample` (ignored by a prior sampler).
    n_samples : int
        States averaged over, >= 1 (1 suffices for exact scores).
    seed : None, int, numpy.random.Generator or torch.Generator

    Returns
    -------
    ndarray, shape channel_shape, complex128
    """
    if not isinstance(sampler, _Sampler):
        raise ValueError(
            "sampler must be a DiffusionPrior, DiffusionPosterior or ConditionalSampler; "
            f"got {type(sampler).__name__}"
        )
    n_samples = check_int(n_samples, "n_samples")
    dev = resolve_device(sampler.model, sampler.device)
    if isinstance(sampler, DiffusionPosterior):
        if sampler.method not in ("tmpd", "pigdm"):
            raise ValueError(
                "posterior_mean needs a guided noise prediction: a DiffusionPosterior with "
                f"method 'tmpd' or 'pigdm', not {sampler.method!r} (average "
                "sampler.sample(y, n) draws instead)"
            )
        fn = sampler.noise_fn(y, dev)
    elif isinstance(sampler, ConditionalSampler):
        fn = sampler.noise_fn(y, n_samples, dev)
    else:
        fn = sampler.noise_fn()
    a_T = float(abar_grid(1)[0])
    sigma = check_positive(np.sqrt((1.0 - a_T) / a_T), "sigma_T")
    x = sigma * complex_normal((n_samples, *sampler.channel_shape), torch_generator(seed), dev)
    sig = torch.full((n_samples,), sigma, dtype=torch.float64, device=dev)
    with torch.no_grad():
        eps = fn(x, sig)
    z = (x - sigma * eps).mean(0)
    return float(sampler.model.scale) * z.detach().cpu().numpy().astype(np.complex128)
