"""The documentation renders and its examples run.

The site is built once per session (``mkdocs build --strict``, a few seconds) into a
temporary folder, so ``pytest`` alone checks what ``make test`` checks again at the end:
strict mode already fails on unresolved cross-references; these tests add what strict
mode lets through, Sphinx markup that mkdocstrings shows as plain text.
"""

from __future__ import annotations

import html
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

# what Sphinx/reST markup looks like once mkdocstrings has passed it through as text
RAW_MARKUP = (
    ":math:",
    ":func:",
    ":class:",
    ":meth:",
    ":mod:",
    ":attr:",
    ":data:",
    ".. math::",
    ".. code-block::",
    "``",
)


def visible_text(page: str) -> str:
    """Text a reader sees outside rendered maths, code and scripts."""
    page = re.sub(r"<script\b.*?</script>", " ", page, flags=re.S)
    page = re.sub(r'<(span|div) class="arithmatex">.*?</\1>', " ", page, flags=re.S)
    page = re.sub(r"<(pre|code)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def raw_markup(page: str) -> list[str]:
    """Sphinx markup and unrendered ``$`` maths left in the visible text of a page."""
    text = visible_text(page)
    found = [m for m in RAW_MARKUP if m in text]
    if "$" in text:  # arithmatex turns every $...$ / $$...$$ it recognises into a span/div
        found.append("$")
    return found


def test_raw_markup_detector_flags_sphinx_roles():
    # the check below must be able to fail: unrendered markup as mkdocstrings shows it
    assert raw_markup("<p>bound :math:<code>x</code>, see :func:<code>f</code></p>") == [
        ":math:",
        ":func:",
    ]
    assert raw_markup("<p>the gain $a^H W a$ toward the target</p>") == ["$"]
    assert raw_markup('<p>gain <span class="arithmatex">\\(a^H W a\\)</span></p>') == []


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def api_pages(site: Path) -> list[Path]:
    pages = sorted((site / "api").rglob("*.html"))
    assert pages, "no API pages were built"
    return pages


def test_api_pages_contain_no_raw_sphinx_markup(site):
    bad = {}
    for page in api_pages(site):
        found = raw_markup(page.read_text(encoding="utf-8"))
        if found:
            bad[str(page.relative_to(site))] = found
    assert not bad, f"raw markup in the built API pages: {bad}"


def test_api_pages_render_maths_and_cross_references(site):
    # guards the check above against passing on pages where nothing was rendered at all
    text = "".join(p.read_text(encoding="utf-8") for p in api_pages(site))
    assert text.count('class="arithmatex"') > 100
    assert text.count('class="autorefs autorefs-internal"') > 20


def test_every_page_contains_no_raw_markup(site):
    bad = {}
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":
            continue
        found = raw_markup(page.read_text(encoding="utf-8"))
        if found:
            bad[str(page.relative_to(site))] = found
    assert not bad, bad


# ------------------------------------------------------------------ offline reading
ASSET = re.compile(r"<(script|link|img|iframe)\b[^>]*?\b(src|href)=\"([^\"]*)\"", re.S)
LINK = re.compile(r"<a\b[^>]*?\bhref=\"([^\"#]*)(#[^\"]*)?\"", re.S)


def external_assets(page: str) -> list[str]:
    """Scripts, stylesheets, fonts and images a page loads from another host."""
    return [url for *_, url in ASSET.findall(page) if re.match(r"(?i)(https?:)?//", url)]


def test_external_asset_detector_can_fail():
    page = (
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>'
        '<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Roboto">'
        '<script src="../javascripts/mathjax/tex-svg-full.js"></script>'
        '<a href="https://example.org">a link is not a load</a>'
    )
    assert external_assets(page) == [
        "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js",
        "//fonts.googleapis.com/css?family=Roboto",
    ]


def test_built_pages_load_nothing_from_another_host(site):
    # offline, a CDN script is a page of raw TeX: MathJax must come from the site itself
    bad = {}
    for page in sorted(site.rglob("*.html")):
        found = external_assets(page.read_text(encoding="utf-8"))
        if found:
            bad[str(page.relative_to(site))] = found
    assert not bad, bad


def test_mathjax_is_served_from_the_site(site):
    mathjax = site / "javascripts" / "mathjax" / "tex-svg-full.js"
    assert mathjax.stat().st_size > 1_000_000  # the whole MathJax component, not a stub
    assert (site / "javascripts" / "mathjax" / "LICENSE").is_file()
    page = (site / "theory" / "bistatic-crb.html").read_text(encoding="utf-8")
    assert 'src="../javascripts/mathjax/tex-svg-full.js"' in page
    assert 'class="arithmatex"' in page


def test_pages_open_over_file_urls(site):
    # every internal link names a file that exists: no page/ folder links, which a browser
    # shows as a directory listing over file://
    broken = set()
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":  # served at any URL, so it links from the site root
            continue
        for href, _ in LINK.findall(page.read_text(encoding="utf-8")):
            if not href or re.match(r"(?i)[a-z][a-z0-9+.-]*:|//", href):
                continue
            target = (page.parent / html.unescape(href)).resolve()
            if not target.is_file():
                broken.add(f"{page.relative_to(site)} -> {href}")
    assert not broken, sorted(broken)[:20]


def test_api_headings_use_public_paths(site):
    import beamopt

    # names of the flat API (not its subpackages, e.g. beamopt.beampattern)
    # names of the flat API, not its subpackages (beamopt.beampattern is also a function name);
    # the lazy names are public without importing torch to look at them
    public = {n for n in dir(beamopt) if not n.startswith("_")}
    public = {n for n in public if n in beamopt._LAZY or not inspect.ismodule(getattr(beamopt, n))}
    internal = []
    for page in api_pages(site):
        for ident in re.findall(r'<h2 id="(beamopt\.[\w.]+)"', page.read_text(encoding="utf-8")):
            name = ident.rsplit(".", 1)[-1]
            if name in public and ident != f"beamopt.{name}":
                internal.append(ident)
    assert not internal, f"documented under an internal path: {internal}"


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_are_self_contained(path):
    # users of the package have neither ../shared nor the papers' file names
    text = path.read_text(encoding="utf-8")
    for needle in ("../shared", "shared/seeds", "shared/notes", "seed paper", "seed 00"):
        assert needle not in text, f"{path.name} mentions {needle!r}"
    assert not re.search(r"\bseed(?:'s)? (?:eq|Fig|Remark|Section|Prop)", text), path.name
    assert not re.search(r"the seed's|\(seed\b", text), path.name


# ----------------------------------------------------------------------------- snippets
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def snippets(path: Path) -> list[str]:
    return FENCE.findall(path.read_text(encoding="utf-8"))


PAGES_WITH_SNIPPETS = [p for p in DOC_FILES if snippets(p)]


def test_snippets_are_found():
    # the README and the getting-started page both show python; a broken regex must fail here
    names = {p.name for p in PAGES_WITH_SNIPPETS}
    assert {"README.md", "getting-started.md"} <= names


@pytest.mark.parametrize("path", PAGES_WITH_SNIPPETS, ids=lambda p: str(p.relative_to(ROOT)))
def test_snippets_run(path, tmp_path):
    """Every ```python block of a page runs, in order, as one script in an empty folder.

    A page is one script (later blocks may use names from earlier ones, as a reader would
    type them); blocks that are not meant to run are fenced as ```bash or ```text.
    """
    parts = []
    for k, code in enumerate(snippets(path), 1):
        parts.append(f"# --- {path.name}, python block {k}\n{code}")
    script = tmp_path / "snippets.py"
    script.write_text("\n".join(parts), encoding="utf-8")
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning:beamopt", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"{path.name}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
