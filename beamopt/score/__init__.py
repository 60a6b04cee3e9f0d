r"""Learned score models (torch): networks, training, and diffusion samplers for channel arrays.

A score model learns the noise-prediction $\hat\epsilon(x, \sigma, y)$ of a noisy channel
$x = z + \sigma \epsilon$ in normalised coordinates $z = h / \mathrm{scale}$; Tweedie's formula
turns it into the posterior mean $E[z \mid x] = x - \sigma \hat\epsilon$ and the score
$\nabla_x \log p_\sigma(x) = -\hat\epsilon / \sigma$. The samplers here turn such a model
(or an exact denoiser) into a [`beamopt.PosteriorSampler`][] that feeds the Bayesian precoders.

torch is imported lazily: `import beamopt.score` is cheap, and the first access to a name
that needs torch imports it.
"""

from __future__ import annotations

from .._lazy import lazy_attributes as _lazy_attributes

# public name -> submodule that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # --- score-models: networks, schedules, models, training, estimator
    "MLPDenoiserNet": "networks",
    "TransformerDenoiserNet": "networks",
    "build_network": "networks",
    "cosine_abar": "schedule",
    "sigma_from_abar": "schedule",
    "abar_from_sigma": "schedule",
    "cosine_sigma": "schedule",
    "cosine_time": "schedule",
    "ddpm_abar": "schedule",
    "ve_sigmas": "schedule",
    "ScoreModel": "model",
    "ScoreConfig": "training",
    "train_score_model": "training",
    "ChannelEstimator": "estimator",
    "train_estimator": "estimator",
    "check_conditioning": "diagnostics",
    "ConditioningCheck": "diagnostics",
    "denoising_nmse": "diagnostics",
    "PosteriorVariance": "variance",
    "measure_posterior_variance": "variance",
    "append_noise_level": "noise_level",
    # --- score-samplers: denoiser protocol, exact denoisers, samplers, Tweedie
    # (S2 adds its names below this line)
    "Denoiser": "denoiser",
    "GaussianDenoiser": "denoiser",
    "GaussianMixtureDenoiser": "denoiser",
    "DiffusionPrior": "samplers",
    "DiffusionPosterior": "samplers",
    "ConditionalSampler": "samplers",
    "tweedie_denoise": "tweedie",
    "posterior_mean": "tweedie",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = _lazy_attributes(__name__, globals(), _LAZY)
