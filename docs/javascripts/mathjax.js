// MathJax for pymdownx.arithmatex (generic mode). Served locally only if the
// site is viewed online; the docs build itself needs no network.
window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
};
