r"""Posterior channel samplers: the pilot observation model, the sampler protocol, exact posteriors.

A sampler draws channels from $p(H \mid y)$ given pilot observations `y`; the
Bayesian precoders of `beamopt.precoding` consume its samples. The exact Gaussian and
Gaussian-mixture posteriors here are the references that learned samplers are judged by.
"""

from __future__ import annotations

from .calibration import CalibrationResult, posterior_calibration
from .gaussian import GaussianPosterior
from .lmmse import LinearMMSE, fit_lmmse
from .mixture import GaussianMixturePosterior
from .observation import LinearObservation, comb_mask, hopping_mask
from .sampler import PosteriorSampler, as_sampler

__all__ = [
    "LinearObservation",
    "comb_mask",
    "hopping_mask",
    "PosteriorSampler",
    "as_sampler",
    "GaussianPosterior",
    "GaussianMixturePosterior",
    "LinearMMSE",
    "fit_lmmse",
    "CalibrationResult",
    "posterior_calibration",
]
