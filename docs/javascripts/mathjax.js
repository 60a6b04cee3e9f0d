// MathJax for pymdownx.arithmatex (generic mode). MathJax itself is served from this site
// (javascripts/mathjax/, copied from the django-static-mathjax package when the docs are
// built), so formulas render offline and over file://.
window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true },
  svg: { fontCache: "global" },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
};
