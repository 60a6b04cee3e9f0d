"""``import beamopt`` must stay light: heavy back-ends load on first use only."""

import subprocess
import sys

HEAVY = ("cvxpy", "torch", "pymanopt", "matplotlib")


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {m for m in HEAVY if m in out}


def test_import_loads_no_heavy_dependency():
    assert _loaded_after("import beamopt") == set()


def test_closed_form_design_stays_light():
    code = "import beamopt\nbeamopt.minimize_crb(beamopt.BistaticScenario.default(), 10.0)"
    assert _loaded_after(code) == set()


def test_sdp_loads_cvxpy_on_first_use():
    code = (
        "import beamopt\n"
        "beamopt.minimize_crb(beamopt.BistaticScenario.default(n_tx=4, n_rx=4), 1.0, method='sdp')"
    )
    assert "cvxpy" in _loaded_after(code)


def test_torch_names_load_on_first_access_and_match_their_families():
    code = (
        "import beamopt, beamopt.score, beamopt.beampattern, beamopt.channels, beamopt.metrics\n"
        "for name, family in beamopt._LAZY.items():\n"
        "    sub = getattr(beamopt, family)\n"
        "    assert getattr(beamopt, name) is getattr(sub, name), name\n"
        "    assert name in dir(beamopt), name"
    )
    assert "torch" in _loaded_after(code)


def test_unknown_name_is_an_attribute_error():
    code = (
        "import beamopt\n"
        "try:\n"
        "    beamopt.no_such_name\n"
        "except AttributeError as exc:\n"
        "    assert 'no_such_name' in str(exc)\n"
        "else:\n"
        "    raise SystemExit(1)"
    )
    assert _loaded_after(code) == set()
