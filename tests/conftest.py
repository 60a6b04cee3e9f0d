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


@pytest.fixture(scope="session")
def dask_executor():
    """`client.get_executor()` of a dask.distributed LocalCluster on this machine: workers are
    threads of this process talking over dask's in-process transport (no sockets; starts in
    well under a second). Skipped where distributed is not installed or the cluster cannot
    start."""
    distributed = pytest.importorskip("distributed")
    try:
        cluster = distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            dashboard_address=None,
        )
        client = distributed.Client(cluster)
    except Exception as exc:  # no free port, a sandbox without sockets, ...
        pytest.skip(f"dask.distributed LocalCluster did not start: {exc}")
    try:
        yield client.get_executor()
    finally:
        client.close()
        cluster.close()
