"""Names a package resolves on first access, so that `import beamopt` never loads torch.

The flat API and the families that learn or sample (`score`, `channels`, `metrics`, the
learning modules of `beampattern`) map each public name to the submodule that defines it;
the submodule (and torch with it) is imported when the name is first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, namespace: dict, table: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level `__getattr__` and `__dir__` for `package`.

    Parameters
    ----------
    package : str
        The package's `__name__`.
    namespace : dict
        The package's `globals()`; a resolved name is cached there, so `__getattr__` runs
        once per name.
    table : Mapping[str, str]
        Public name -> submodule of `package` that defines it (relative, without the dot).
    """

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
