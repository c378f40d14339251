"""Reports: figures (matplotlib, drawn as SVG for the web pages and later the PDF reports)."""
