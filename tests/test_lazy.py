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


def _without(module: str, code: str) -> str:
    """Run `code` in a fresh interpreter where `module` cannot be imported; its stderr."""
    import subprocess
    import sys

    prelude = f"import sys; sys.modules[{module!r}] = None\n"  # import fails as if missing
    proc = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    return proc.stdout + proc.stderr


def test_missing_torch_names_the_extra_and_the_cpu_build():
    code = "import beamopt\ntry:\n    beamopt.ScoreConfig\nexcept ImportError as e:\n"
    out = _without("torch", code + "    print(type(e).__name__, e.extra, e)")
    assert out.startswith("ImportError torch beamopt.ScoreConfig needs PyTorch"), out
    assert "pip install 'beamopt[torch]'" in out
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in out


def test_missing_sionna_is_named_before_any_work():
    call = "beamopt.generate_channels(beamopt.ChannelConfig(), 2)"
    out = _without(
        "sionna", f"import beamopt\ntry:\n    {call}\nexcept ImportError as e:\n    print(e)"
    )
    assert "beamopt.generate_channels needs sionna (package sionna-no-rt" in out, out
    assert "pip install 'beamopt[sionna]'" in out


def test_other_import_errors_pass_through_unchanged():
    getattr_, _ = lazy_attributes("beamopt", {}, {"thing": "no_such_module"})
    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        getattr_("thing")
