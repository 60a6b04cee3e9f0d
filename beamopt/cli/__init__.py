"""The `beamopt` command line: parses a TOML config and calls the public API."""

from __future__ import annotations

from .main import SUBCOMMANDS, main

__all__ = ["main", "SUBCOMMANDS"]
