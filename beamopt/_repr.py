"""Short reprs for result objects: headline numbers and shapes, never whole arrays.

A result can hold a boundary's 100 covariance factors or a scenario's channel; its repr
names what it is in a line (about 300 characters at most), like `DoaMseResult`, while the
arrays stay attributes. A class opts in with `__repr__ = summary_repr` (every dataclass
field, summarised) or writes its headline through [`short_repr`][beamopt._repr.short_repr].
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping

import numpy as np

__all__ = ["short_value", "short_repr", "summary_repr", "span"]

_MAX_TEXT = 40


def short_value(value) -> str:
    """One value in a few characters: numbers to 4 significant digits, arrays by shape."""
    if value is None or isinstance(value, bool | np.bool_):
        return repr(value if value is None else bool(value))
    if isinstance(value, str):
        return repr(value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 3] + "...")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}"
    if isinstance(value, numbers.Complex):
        return f"{complex(value):.4g}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # numpy arrays, torch tensors
        if value.ndim == 0 or (value.ndim == 1 and value.shape[0] == 1):
            return short_value(value.reshape(-1)[0].item())
        if value.ndim == 1 and value.shape[0] <= 4:
            return "[" + ", ".join(short_value(v.item()) for v in value) + "]"
        kind = " complex" if "complex" in str(value.dtype) else ""
        return f"<{'x'.join(str(n) for n in value.shape)}{kind} array>"
    if isinstance(value, Mapping):
        return f"{{{len(value)} keys}}"
    if isinstance(value, tuple | list) and len(value) <= 4:
        inner = ", ".join(short_value(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, tuple | list):
        return f"<{len(value)} items>"
    return f"<{type(value).__name__}>"


def span(values):
    """`(min, max)` of the finite entries of `values` (one number when they agree, None when
    there are none), for a repr's `crb_range=` and the like."""
    arr = np.asarray(values, dtype=float).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    lo, hi = float(arr.min()), float(arr.max())
    return lo if lo == hi else (lo, hi)


def short_repr(obj, fields: Mapping[str, object]) -> str:
    """`ClassName(name=value, ...)` with every value through
    [`short_value`][beamopt._repr.short_value]; a None value is left out."""
    body = ", ".join(f"{k}={short_value(v)}" for k, v in fields.items() if v is not None)
    return f"{type(obj).__name__}({body})"


def summary_repr(self) -> str:
    """A dataclass's repr with every `repr=True` field summarised (use as `__repr__`).

    Empty arrays and empty mappings are left out, like None, as nothing to show.
    """
    fields = {}
    for f in dataclasses.fields(self):
        if not f.repr:
            continue
        value = getattr(self, f.name)
        if (hasattr(value, "shape") and getattr(value, "size", 1) == 0) or (
            isinstance(value, Mapping) and not value
        ):
            continue
        if isinstance(value, str) and not value:
            continue
        fields[f.name] = value
    return short_repr(self, fields)
