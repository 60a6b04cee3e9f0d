"""The package's floors: which subpackage may import which (docs/architecture.md).

Every ``import`` statement in ``beamopt/`` (also the lazy ones inside functions) is
resolved to an absolute module name and checked against the allowed flows: families
do not import each other except where data flows downward (samplers feed precoders,
score models implement posterior samplers), the foundation imports no family, and
nothing but ``__main__`` imports the command line. ``beamopt`` itself and
``beamopt.plots`` gather the public names of every family.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "beamopt"

#: family -> families it may import (besides the foundation modules at the top).
ALLOWED = {
    "bistatic": set(),
    "posterior": set(),
    "precoding": set(),
    "score": {"posterior"},
    "beampattern": set(),
    "metrics": {"score", "posterior"},
    "channels": {"posterior"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            yield stem
            yield from (f"{stem}.{alias.name}" for alias in node.names)


def _family(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "beamopt" or len(parts) < 2:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() else None


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_floors(path):
    name = _module_name(path)
    own = _family(name)
    if name in ("beamopt", "beamopt.__main__", "beamopt.plots") or own == "cli":
        return  # the flat API, the figure namespace and the command line gather every family
    for target in _imports(path):
        other = _family(target)
        assert other != "cli", f"{name} imports the command line ({target})"
        if other is None or other == own:
            continue
        if own is None:
            raise AssertionError(f"foundation module {name} imports the {other} family ({target})")
        assert other in ALLOWED[own], f"{name} ({own}) must not import {target} ({other})"


def test_every_family_is_known():
    families = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert families - {"cli"} <= set(ALLOWED)
