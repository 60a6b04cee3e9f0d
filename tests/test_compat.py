"""Deprecation shims (beamopt._compat)."""

from __future__ import annotations

import inspect
import warnings

import pytest

from beamopt._compat import positional_deprecated


@positional_deprecated("b", "c")
def f(a, *, b=1, c=2, d=3):
    """Doc."""
    return a, b, c, d


def test_keywords_pass_through_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(0, c=5) == (0, 1, 5, 3)


def test_old_positional_form_warns_and_maps_in_order():
    with pytest.warns(DeprecationWarning, match=r"f: passing b, c positionally .* write b=7, c=8"):
        assert f(0, 7, 8) == (0, 7, 8, 3)


def test_too_many_or_twice_is_a_type_error():
    with pytest.raises(TypeError, match="takes 1 positional"):
        f(0, 1, 2, 3)
    with pytest.raises(TypeError, match="multiple values for 'b'"):
        f(0, 1, b=2)


def test_signature_and_docs_are_the_function_s():
    assert list(inspect.signature(f).parameters) == ["a", "b", "c", "d"]
    assert f.__doc__ == "Doc."
