"""mkdocs hooks: serve MathJax from the built site, so the docs render formulas offline.

MathJax 3 comes from the `django-static-mathjax` package (the `docs` extra; it needs no
Django to be installed); its single-file `tex-svg-full.js` component (every TeX extension,
SVG output, so no font files) and its licence are copied into `site/javascripts/mathjax/`.
Nothing is fetched from a CDN.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

#: where the pages load MathJax from (mkdocs.yml `extra_javascript`)
TARGET = "javascripts/mathjax"
COMPONENT = "tex-svg-full.js"


def _mathjax_root() -> Path:
    spec = importlib.util.find_spec("mathjax")
    root = None if spec is None or spec.origin is None else Path(spec.origin).parent
    root = None if root is None else root / "static" / "mathjax"
    if root is None or not (root / "es5" / COMPONENT).is_file():
        raise PluginError(
            "the docs need MathJax from the 'django-static-mathjax' package: "
            "pip install -e '.[docs]' (make install does it)"
        )
    return root


def on_files(files, config):
    root = _mathjax_root()
    for src, name in ((root / "es5" / COMPONENT, COMPONENT), (root / "LICENSE", "LICENSE")):
        files.append(File.generated(config, f"{TARGET}/{name}", abs_src_path=str(src)))
    return files
