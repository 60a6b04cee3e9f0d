"""Bayesian precoding from posterior channel samples, and its spectral efficiency.

Precoders take channel samples (from any [`beamopt.PosteriorSampler`][]) and return a
[`beamopt.PrecoderResult`][]: the expected-Gramian precoder, its plug-in (CME) and
exact-Gramian counterparts, and expected-spectral-efficiency maximisation on the manifold.
"""

from __future__ import annotations

from .gramian import cme_precoder, expected_gramian, expected_gramian_precoder, gramian_precoder
from .manifold import manifold_precoder, manifold_problem
from .spectral_efficiency import spectral_efficiency

__all__ = [
    "expected_gramian",
    "gramian_precoder",
    "expected_gramian_precoder",
    "cme_precoder",
    "manifold_precoder",
    "manifold_problem",
    "spectral_efficiency",
]
