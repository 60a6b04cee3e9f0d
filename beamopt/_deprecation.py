"""Renamed keywords and attributes that keep working, with a `DeprecationWarning`, for a release.

The posterior-sampler vocabulary names the pilot model (a [`beamopt.LinearObservation`][])
`pilot_model` and the received pilots `y`; the earlier name `observation` meant both. The
helpers here let code written against the old names run unchanged while it warns.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["renamed_keyword", "deprecated_alias", "warn_renamed"]

#: The release after which the old names go.
REMOVED_IN = "0.3"


def warn_renamed(old: str, new: str, where: str, *, stacklevel: int = 3) -> None:
    """Warn that `old` is now `new` in `where` (a `DeprecationWarning`)."""
    warnings.warn(
        f"{where}: '{old}' is deprecated and will be removed in beamopt {REMOVED_IN}; use '{new}'",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_keyword(old: str, new: str) -> Callable[[Callable], Callable]:
    """Decorator: accept the keyword `old` as `new`, with a `DeprecationWarning`.

    Passing both raises `ValueError` naming the two.
    """

    def decorate(function: Callable) -> Callable:
        where = function.__qualname__.replace(".__init__", "")
        names = list(inspect.signature(function).parameters)
        position = names.index(new) if new in names else None

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if old in kwargs:
                given = new in kwargs or (position is not None and len(args) > position)
                if given:
                    raise ValueError(f"{where}: pass '{new}' only ('{old}' is its old name)")
                warn_renamed(old, new, where)
                kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper

    return decorate


def deprecated_alias(new: str, old: str) -> property:
    """A read-only attribute `old` that warns and returns `self.<new>`."""

    def getter(self) -> Any:
        warn_renamed(old, new, type(self).__name__)
        return getattr(self, new)

    getter.__doc__ = f"Deprecated alias of `{new}` (removed in beamopt {REMOVED_IN})."
    return property(getter)
