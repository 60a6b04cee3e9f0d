"""Shared fixtures and hypothesis settings."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Deterministic property tests: CI must not fail on a new random example.
settings.register_profile(
    "beamopt",
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "beamopt"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
