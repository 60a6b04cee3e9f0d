r"""Diagnostics of trained score models on held-out data: does the model use its observations?

A conditional model learns $E[z \mid x, y]$ at every noise level; at the largest level
$\sigma_{\max}$ the noisy channel $x$ carries almost nothing, so the conditional Tweedie mean
is (nearly) the MMSE estimate $E[z \mid y]$ and its held-out error must be clearly below the
error of the NULL-token (unconditional) mean, which can only return the prior mean. The
sample-covariance LMMSE estimator fitted on the training pairs
([`fit_lmmse`][beamopt.posterior.fit_lmmse]) tells how much below: the MMSE is never above
the linear MMSE, so a conditional model that recovers less than half of the linear
estimator's gain over the prior mean has not learned to read its observations.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from .._repr import summary_repr
from .._validation import check_positive
from ..posterior.lmmse import fit_lmmse
from ..training import TrainingWarning
from ._torch import as_complex_data, randn_complex

__all__ = ["denoising_nmse", "ConditioningCheck", "check_conditioning"]

#: joint dimension (channel + observation entries) above which no LMMSE reference is fitted
LMMSE_MAX_DIM = 4096


@torch.no_grad()
def denoising_nmse(
    model, channels, observations=None, *, sigma: float, null: bool = False, seed: int = 0
) -> float:
    r"""Held-out NMSE of the Tweedie mean at one noise level.

    $$
    \mathrm{NMSE}(\sigma) = \frac{\sum_i \|\hat z(z_i + \sigma\epsilon_i, \sigma, y_i) - z_i\|^2}
        {\sum_i \|z_i\|^2}, \qquad z = h / \mathrm{scale}
    $$

    Parameters
    ----------
    model : ScoreModel
    channels : array_like, complex, shape (n, *channel_shape)
        Held-out channels in the user's units.
    observations : array_like, complex, shape (n, *obs_shape), optional
        Their observations (conditional models); ignored when `null` is True.
    sigma : float
        Noise level in normalised coordinates, > 0.
    null : bool
        Use the NULL token (the unconditional mean) instead of the observations.
    seed : int
        Seeds the noise $\epsilon_i$.

    Returns
    -------
    float
    """
    sigma = check_positive(sigma, "sigma")
    h = as_complex_data(channels, "channels", shape=model.channel_shape)
    y = None
    if observations is not None and not null:
        y = as_complex_data(observations, "observations", n=h.shape[0], shape=model.obs_shape)
    gen = torch.Generator().manual_seed(int(seed))
    dev = model.device
    num = den = 0.0
    for start in range(0, h.shape[0], 512):
        stop = min(start + 512, h.shape[0])
        z = torch.as_tensor(h[start:stop] / model.scale, dtype=torch.complex64, device=dev)
        eps = randn_complex(tuple(z.shape), gen, dev)
        x = z + sigma * eps
        yt = None if y is None else torch.as_tensor(y[start:stop], dtype=torch.complex64)
        z_hat = model.denoise(x, torch.full((z.shape[0],), sigma, device=dev), yt)
        num += float((z_hat - z).abs().square().sum())
        den += float(z.abs().square().sum())
    return num / den


@dataclass(frozen=True)
class ConditioningCheck:
    r"""Outcome of [`check_conditioning`][beamopt.check_conditioning].

    Attributes
    ----------
    sigma : float
        Noise level of the check (normalised; the model's `sigma_max` by default).
    conditional_nmse, null_nmse : float
        Held-out NMSE of the Tweedie mean with the observations and with the NULL token.
    lmmse_nmse : float
        Held-out NMSE of the sample-covariance LMMSE estimator fitted on the training pairs
        (NaN when no training pairs were given or the dimension is too large).
    ok : bool
        Whether the model uses its observations (see the module text).
    message : str
    """

    __repr__ = summary_repr

    sigma: float
    conditional_nmse: float
    null_nmse: float
    lmmse_nmse: float
    ok: bool
    message: str = field(repr=False)

    __repr__ = summary_repr


def check_conditioning(
    model, channels, observations, *, train=None, sigma=None, seed: int = 0, warn: bool = False
) -> ConditioningCheck:
    r"""Does a conditional model read its observations? (held-out, at the largest noise level)

    The check passes when the conditional error recovers at least half of the linear MMSE
    estimator's gain over the NULL-token error, $\mathrm{NMSE}_\varnothing -
    \mathrm{NMSE}_y \ge \tfrac12 (\mathrm{NMSE}_\varnothing - \mathrm{NMSE}_{LMMSE})$, or,
    without an LMMSE reference, when $\mathrm{NMSE}_y \le 0.9\, \mathrm{NMSE}_\varnothing$.
    Observations whose linear gain is below 0.05 pass (there is little to read).

    Parameters
    ----------
    model : ScoreModel
        A conditional model.
    channels, observations : array_like
        Held-out pairs (user's units).
    train : tuple of arrays, optional
        `(channels, observations)` the model was trained on, for the LMMSE reference.
    sigma : float, optional
        Normalised noise level (default: the model's `sigma_max`).
    seed : int
    warn : bool
        Issue a `TrainingWarning` (a `UserWarning`) with the numbers when the check fails.

    Returns
    -------
    ConditioningCheck
    """
    if model.obs_shape is None:
        raise ValueError("model must be conditional (trained with observations)")
    sigma = float(model.sigma_max if sigma is None else check_positive(sigma, "sigma"))
    cond = denoising_nmse(model, channels, observations, sigma=sigma, seed=seed)
    null = denoising_nmse(model, channels, None, sigma=sigma, null=True, seed=seed)
    lin = float("nan")
    if train is not None:
        h_tr, y_tr = train
        dim = int(np.prod(model.channel_shape)) + int(np.prod(model.obs_shape))
        if dim <= LMMSE_MAX_DIM and len(h_tr) > 2 * dim:
            est = fit_lmmse(h_tr, y_tr).estimate(np.asarray(observations))
            h = np.asarray(channels)
            lin = float(np.sum(np.abs(est - h) ** 2) / np.sum(np.abs(h) ** 2))
    gain_lin = null - lin
    if np.isfinite(lin):
        ok = bool(gain_lin < 0.05 or (null - cond) >= 0.5 * gain_lin)
    else:
        ok = bool(cond <= 0.9 * null)
    ref = f", sample-covariance LMMSE {lin:.3g}" if np.isfinite(lin) else ""
    message = (
        f"held-out denoising NMSE at sigma={sigma:.3g}: {cond:.3g} with the observations, "
        f"{null:.3g} with the NULL token{ref}"
    )
    if not ok:
        message = (
            "the conditional model barely uses its observations: " + message + ". Train "
            "longer (n_iterations), on more pairs, or with a larger network (width / "
            "d_model); check that observations and channels are paired row by row"
        )
        if warn:
            warnings.warn(message, TrainingWarning, stacklevel=3)
    return ConditioningCheck(
        sigma=sigma, conditional_nmse=cond, null_nmse=null, lmmse_nmse=lin, ok=ok,
        message=message,
    )  # fmt: skip
