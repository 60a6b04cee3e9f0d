"""Names a package resolves on first access, so that `import beamopt` never loads torch.

The flat API and the families that learn or sample (`score`, `channels`, `metrics`, the
learning modules of `beampattern`) map each public name to the submodule that defines it;
the submodule (and torch with it) is imported when the name is first used.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes", "EXTRAS", "missing_dependency", "require"]

#: optional top-level module -> the pyproject extra that installs it
EXTRAS = {"torch": "torch", "sionna": "sionna"}
#: the CPU build of torch; a plain `pip install torch` pulls gigabytes of CUDA wheels
CPU_TORCH = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


def missing_dependency(what: str, exc: ModuleNotFoundError) -> ImportError:
    """The ImportError for `what` (e.g. `"beamopt.ScoreConfig"`) when an optional
    dependency is missing: names the extra and the CPU-build install line."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRAS[module]
    package = "sionna (package sionna-no-rt, the 3GPP channel generator)"
    error = ImportError(
        f"{what} needs {'PyTorch' if module == 'torch' else package}, which is not installed. "
        "Install the CPU build "
        f"of torch first, then the {extra!r} extra:\n"
        f"    {CPU_TORCH}\n"
        f"    pip install 'beamopt[{extra}]'\n"
        "(a plain `pip install torch` pulls the CUDA build, gigabytes of wheels)",
        name=exc.name,
    )
    error.extra = extra
    return error


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
        try:
            value = getattr(importlib.import_module(f".{module}", package), name)
        except ImportError as exc:
            # a nested lazy package already explained it: name the path the user wrote
            cause = exc.__cause__ if hasattr(exc, "extra") else exc
            if not isinstance(cause, ModuleNotFoundError) or cause.name is None:
                raise
            if cause.name.split(".")[0] not in EXTRAS:
                raise
            raise missing_dependency(f"{package}.{name}", cause) from cause
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__


def require(*modules: str, what: str) -> None:
    """Raise [`missing_dependency`][beamopt._lazy.missing_dependency]'s ImportError if an
    optional module is not installed (`importlib.util.find_spec`: nothing is imported)."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise missing_dependency(what, ModuleNotFoundError(name=module))
