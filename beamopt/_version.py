"""The package version, defined here only (pyproject.toml reads it; CITATION.cff and
CHANGELOG.md are checked against it by tests/test_packaging.py)."""

__version__ = "0.2.0"
