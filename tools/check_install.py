"""Check what a user of the wheel gets (run by `make package-check` with the python of a
fresh venv that has the wheel and its core dependencies only).

Checks: the installed package (not the source tree) is imported, its metadata (version,
SPDX licence, LICENSE file, py.typed), the ImportError of a name that needs the missing
torch extra, `beamopt boundary` end to end, and that the sdist carries every tracked file its
tests need. Standard library only; exits non-zero with a message on the first failure.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import importlib.util
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def check(ok: bool, what: str) -> None:
    if not ok:
        sys.exit(f"package check failed: {what}")
    print(f"ok: {what}")


def installed_package() -> None:
    import beamopt

    where = Path(beamopt.__file__).resolve()
    check(
        Path(sys.prefix).resolve() in where.parents, f"beamopt is imported from the venv ({where})"
    )
    check(beamopt.__version__ == md.version("beamopt"), f"version {beamopt.__version__}")
    meta = md.metadata("beamopt")
    check(meta.get("License-Expression") == "BSD-3-Clause", "SPDX License-Expression")
    files = [str(f) for f in md.files("beamopt") or []]
    check(any(f.endswith("licenses/LICENSE") for f in files), "LICENSE in the wheel")
    check((where.parent / "py.typed").is_file(), "py.typed is installed")


def missing_extra_message() -> None:
    check(importlib.util.find_spec("torch") is None, "torch is not installed (core only)")
    import beamopt

    try:
        beamopt.ScoreConfig  # noqa: B018
    except ImportError as exc:
        text = str(exc)
        check("beamopt[torch]" in text and "whl/cpu" in text, "ImportError names the extra")
    else:
        check(False, "beamopt.ScoreConfig raises ImportError without torch")


def boundary_command(out: Path) -> None:
    exe = Path(sys.executable).with_name("beamopt")
    proc = subprocess.run([str(exe), "boundary", "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    check(proc.returncode == 0, f"beamopt boundary exits 0 ({proc.stderr.strip()[-500:]})")
    names = sorted(p.name for p in out.iterdir())
    want = ["boundary.png"] + [f"boundary_{s}.csv" for s in ("gaussian", "known", "superposition")]
    check(names == sorted(want), f"beamopt boundary wrote {', '.join(names)}")


def sdist_contents(dist: Path) -> None:
    (sdist,) = dist.glob("beamopt-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True,
                                 text=True, check=True).stdout.split()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: skip the comparison
        tracked = []
    needed = [f for f in tracked if not f.startswith(".")]
    missing = sorted(set(needed) - names)
    check(not missing, f"the sdist has every tracked file ({len(needed)}); missing {missing[:5]}")
    check("beamopt/py.typed" in names and "LICENSE" in names, "sdist has py.typed and LICENSE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, required=True, help="folder with wheel and sdist")
    parser.add_argument("--out", type=Path, required=True, help="output folder for the CLI")
    args = parser.parse_args()
    installed_package()
    missing_extra_message()
    boundary_command(args.out)
    sdist_contents(args.dist)


if __name__ == "__main__":
    main()
