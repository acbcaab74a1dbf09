"""A run's spans as a waterfall: tree-ordered rows (shared with other renderers) and a self-contained HTML page."""

from langchain_turntrace.waterfall._html import render_html
from langchain_turntrace.waterfall._rows import WaterfallRow, build_rows

__all__ = ["WaterfallRow", "build_rows", "render_html"]
