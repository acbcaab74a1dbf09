"""The cost report: the store's figures (``SpanStore.report``) as one self-contained HTML page for a team lead."""

from langchain_turntrace.report._page import linked_runs, render_report

__all__ = ["linked_runs", "render_report"]
