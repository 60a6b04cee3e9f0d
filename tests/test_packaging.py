"""Packaging: licence, citation, changelog, one version, typed marker and a complete sdist.

`make package-check` (run by CI) also builds the wheel, installs it into a fresh venv with
the core dependencies only and runs `beamopt boundary` there (tools/check_install.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import beamopt

ROOT = Path(__file__).resolve().parents[1]

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: the four papers the library implements, as the README cites them
PAPERS = (
    "CRB-Rate Tradeoff for Bistatic ISAC with Gaussian Information and Deterministic Sensing "
    "Signals",
    "Model-Driven End-to-End Learning for Integrated Sensing and Communication",
    "A Perception vs. Distortion Perspective on Score-Based Generative Channel Estimation",
    "Scoring ISAC: Benchmarking Integrated Sensing and Communications via Score-Based "
    "Generative Modeling",
)


def test_license_is_bsd_3_clause_as_an_spdx_string():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License")
    assert "Neither the name of the copyright holder" in text  # the third clause
    project = PYPROJECT["project"]
    assert project["license"] == "BSD-3-Clause"  # PEP 639, not the deprecated table
    assert project["license-files"] == ["LICENSE"]
    setuptools = PYPROJECT["build-system"]["requires"][0]
    assert re.fullmatch(r"setuptools>=(\d+)", setuptools) and int(setuptools[12:]) >= 77


def test_version_is_written_once():
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "beamopt._version.__version__"
    defined = [p.relative_to(ROOT).as_posix() for p in (ROOT / "beamopt").rglob("*.py")
               if re.search(r"^__version__\s*=", p.read_text(encoding="utf-8"), re.M)]  # fmt: skip
    assert defined == ["beamopt/_version.py"]
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", beamopt.__version__)


def test_citation_and_changelog_follow_the_version_and_cite_the_papers():
    cff = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^cff-version: 1\.2\.0$", cff, re.M)
    assert re.search(rf'^version: "{re.escape(beamopt.__version__)}"$', cff, re.M)
    assert re.search(r"^license: BSD-3-Clause$", cff, re.M)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for title in PAPERS:
        assert f'title: "{title}"' in cff, title
        assert " ".join(title.split()) in " ".join(readme.split()), title
    yaml = pytest.importorskip("yaml")  # ships with the docs tools
    data = yaml.safe_load(cff)
    assert data["type"] == "software" and len(data["references"]) == 4
    assert all(ref["authors"] for ref in data["references"])
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(beamopt.__version__)}\b", changelog, re.M)


def test_package_is_marked_typed():
    assert (ROOT / "beamopt" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["beamopt"]


@pytest.mark.slow  # CI's `make package-check` runs the same check on the sdist it builds
def test_sdist_carries_every_tracked_file():
    # the tests read the docs, examples, benchmarks and README: an sdist without them fails
    pytest.importorskip("build")
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.split()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    out = ROOT / ".venv" / "test-sdist" if (ROOT / ".venv").is_dir() else None
    if out is None:
        pytest.skip("no .venv to build into")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    sdist = out / f"beamopt-{beamopt.__version__}.tar.gz"
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = sorted(f for f in tracked if not f.startswith(".") and f not in names)
    assert not missing, missing[:10]
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
