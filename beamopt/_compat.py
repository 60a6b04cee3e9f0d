"""Deprecation shims: old calling conventions keep working for one release, with a warning."""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable

from ._repr import short_value

__all__ = ["positional_deprecated"]


def positional_deprecated(*names: str) -> Callable:
    """Accept `names`, now keyword-only, positionally (in this order) with a DeprecationWarning.

    For functions whose options became keyword-only: `f(scenario, "gaussian")` still runs
    as `f(scenario, signal="gaussian")` and says how to write it. Passing one both ways is
    the usual `TypeError`.
    """

    def decorate(fn: Callable) -> Callable:
        params = inspect.signature(fn).parameters.values()
        n_positional = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            extra = args[n_positional:]
            if extra:
                if len(extra) > len(names):
                    raise TypeError(
                        f"{fn.__name__}() takes {n_positional} positional argument(s) (then "
                        f"keyword-only options); got {len(args)}"
                    )
                moved = dict(zip(names, extra))
                twice = sorted(set(moved) & set(kwargs))
                if twice:
                    raise TypeError(f"{fn.__name__}() got multiple values for {twice[0]!r}")
                spelled = ", ".join(f"{k}={short_value(v)}" for k, v in moved.items())
                warnings.warn(
                    f"{fn.__name__}: passing {', '.join(moved)} positionally is deprecated and "
                    f"will be an error in the next release; write {spelled}",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs.update(moved)
                args = args[:n_positional]
            return fn(*args, **kwargs)

        return wrapper

    return decorate
