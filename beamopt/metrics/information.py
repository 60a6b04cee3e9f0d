r"""KL divergence and mutual information from (smoothed) scores, eq. (94)-(98) of "Scoring ISAC".

The score-based log-density formula (eq. (94)) writes
$-\log p(x) = \int_0^\infty \sigma^{-1}\,\mathbb E_n\|n + \sigma\nabla\log p_\sigma(x + \sigma
n)\|^2
\,d\sigma + C_G$ with a constant $C_G$ that depends only on the dimension, so for two
densities on the same space

$$
D_{\rm KL}(p\,\|\,q) = \mathbb E_{x\sim p}\int_0^\infty \frac{1}{\sigma}\,
\mathbb E_n\Big[\|n + \sigma s_q(x_\sigma, \sigma)\|^2 - \|n + \sigma s_p(x_\sigma, \sigma)\|^2\Big]
d\sigma, \qquad x_\sigma = x + \sigma n,
$$

and $I(x; y)$ is its average with $s_p = \nabla\log p_\sigma(x_\sigma\mid y)$,
$s_q = \nabla\log p_\sigma(x_\sigma)$ over $p(x, y)$ (eq. (96)-(97)). The integral is
estimated by importance sampling: one $(x, n, \sigma)$ per draw with $\log\sigma$ uniform on
$[\log\sigma_{\min}, \log\sigma_{\max}]$, so each draw contributes
$\log(\sigma_{\max}/\sigma_{\min})$ times the bracket; the standard error is that of the mean.
The truncation to $[\sigma_{\min}, \sigma_{\max}]$ misses $O(\sigma_{\min}^2)$ and
$O(\sigma_{\max}^{-2})$ (relative to the data scale), which the defaults make negligible.

With exact smoothed scores the estimator is unbiased up to the truncation; with learned ones
the error is that of the scores, integrated over $\sigma$.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._repr import summary_repr
from .._validation import as_generator, check_int, check_positive
from ._checks import as_samples, as_score_output

__all__ = ["InformationEstimate", "kl_divergence", "mutual_information"]


@dataclass(frozen=True)
class InformationEstimate:
    r"""A Monte Carlo KLD or MI estimate (nats).

    Attributes
    ----------
    value : float
    stderr : float
        Standard error of `value` (Monte Carlo over data, noise and noise level).
    n_samples : int
        Data draws.
    n_levels : int
        Noise draws per data draw (each at its own importance-sampled level).
    sigma_min, sigma_max : float
        Integration range.
    """

    value: float
    stderr: float
    n_samples: int
    n_levels: int
    sigma_min: float
    sigma_max: float

    __repr__ = summary_repr


def _call(score, x, sigma, cond, name):
    out = score(x, sigma) if cond is None else score(x, sigma, cond)
    return as_score_output(out, name, x.shape)


def kl_divergence(
    samples,
    score_p,
    score_q,
    *,
    conditions=None,
    sigma_min: float | None = None,
    sigma_max: float | None = None,
    n_levels: int = 8,
    seed=None,
) -> InformationEstimate:
    r"""$D_{\rm KL}(p\,\|\,q)$ from samples of $p$ and the smoothed scores of $p$ and $q$ (eq.
    (98)).

    Parameters
    ----------
    samples : array_like, shape (n, d)
        Draws from $p$.
    score_p, score_q : callable
        `score(x, sigma)` (or `score(x, sigma, conditions)` when `conditions` is given) ->
        $\nabla_x\log p_\sigma(x)$, arrays of shape (B, d), `sigma` of shape (B,): e.g. a DSM
        model's [`smoothed_score`][beamopt.metrics.score_matching.ParameterScore.smoothed_score]
        or an exact Gaussian score.
    conditions : array_like, shape (n, c), optional
        Passed to both scores row by row (repeated for each noise draw).
    sigma_min, sigma_max : float, optional
        Integration range (default $10^{-3}$ and $10^{3}$ times the sample RMS spread).
    n_levels : int
        Noise draws per sample.
    seed : None, int or numpy.random.Generator
    """
    x = as_samples(samples, "samples")
    if not callable(score_p) or not callable(score_q):
        raise ValueError("score_p and score_q must be callables score(x, sigma[, conditions])")
    n = x.shape[0]
    cond = None if conditions is None else as_samples(conditions, "conditions", n=n)
    n_levels = check_int(n_levels, "n_levels")
    spread = float(np.sqrt(np.mean(x.var(axis=0)))) if n > 1 else 1.0
    spread = spread if spread > 0 else 1.0
    lo = check_positive(1e-3 * spread if sigma_min is None else sigma_min, "sigma_min")
    hi = check_positive(1e3 * spread if sigma_max is None else sigma_max, "sigma_max")
    if lo >= hi:
        raise ValueError(f"sigma_min must be < sigma_max; got {lo} >= {hi}")
    rng = as_generator(seed)
    xr = np.repeat(x, n_levels, axis=0)
    cr = None if cond is None else np.repeat(cond, n_levels, axis=0)
    width = np.log(hi / lo)
    sigma = np.exp(np.log(lo) + width * rng.random(xr.shape[0]))
    noise = rng.standard_normal(xr.shape)
    xt = xr + sigma[:, None] * noise
    sp = _call(score_p, xt, sigma, cr, "score_p")
    sq = _call(score_q, xt, sigma, cr, "score_q")
    term = width * (
        np.sum((noise + sigma[:, None] * sq) ** 2, axis=1)
        - np.sum((noise + sigma[:, None] * sp) ** 2, axis=1)
    )
    per_sample = term.reshape(n, n_levels).mean(axis=1)
    se = float(per_sample.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    return InformationEstimate(float(per_sample.mean()), se, n, n_levels, lo, hi)


def mutual_information(x, y, marginal_score, conditional_score, **kwargs) -> InformationEstimate:
    r"""$I(x; y)$ from joint draws and the smoothed marginal and conditional scores (eq. (97)).

    Parameters
    ----------
    x : array_like, shape (n, d)
    y : array_like, shape (n, c)
        Paired draws $(x_i, y_i) \sim p(x, y)$.
    marginal_score : callable
        `marginal_score(x, sigma)` -> $\nabla\log p_\sigma(x)$.
    conditional_score : callable
        `conditional_score(x, sigma, y)` -> $\nabla\log p_\sigma(x \mid y)$.
    **kwargs
        `sigma_min`, `sigma_max`, `n_levels`, `seed` as in
        [`kl_divergence`][beamopt.metrics.information.kl_divergence].
    """
    if not callable(marginal_score):
        raise ValueError("marginal_score must be a callable score(x, sigma)")
    return kl_divergence(
        x,
        conditional_score,
        lambda xt, s, c: marginal_score(xt, s),
        conditions=y,
        **kwargs,
    )
