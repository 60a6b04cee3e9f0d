"""Lazily resolved package attributes (beamopt._lazy)."""

from __future__ import annotations

import pytest

from beamopt._lazy import lazy_attributes
from beamopt.bistatic import crb


def test_names_resolve_from_their_submodule_once_and_are_cached():
    namespace: dict = {}
    getattr_, dir_ = lazy_attributes("beamopt.bistatic", namespace, {"crb_doa": "crb"})
    assert "crb_doa" in dir_() and "crb_doa" not in namespace
    assert getattr_("crb_doa") is crb.crb_doa
    assert namespace["crb_doa"] is crb.crb_doa


def test_unknown_names_raise_attribute_error_naming_the_package():
    getattr_, _ = lazy_attributes("beamopt.bistatic", {}, {"crb_doa": "crb"})
    with pytest.raises(AttributeError, match=r"beamopt\.bistatic.*no_such"):
        getattr_("no_such")
