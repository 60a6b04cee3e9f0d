"""Fixtures of the score tests: exact priors with known posteriors (helpers in _exact.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def exact():
    """The helper module `_exact.py` (pytest's importlib mode has no package imports)."""
    spec = importlib.util.spec_from_file_location(
        "_score_exact", Path(__file__).with_name("_exact.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_torch_thread():
    """Run the test with one torch thread (restored after).

    The samplers' tensors are small (thousands of rows of a few entries); on two shared cores
    a second intra-op thread mostly waits for the first, which made these tests ~10x slower.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
