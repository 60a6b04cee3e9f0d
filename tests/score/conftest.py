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
