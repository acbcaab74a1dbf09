"""What an import left in a store, counted the same way for every transcript format's tests."""

from __future__ import annotations

from pathlib import Path

from langchain_turntrace.store import SpanStore


def stored_counts(store: Path) -> dict[str, int]:
    with SpanStore.open(store, create=False) as opened:
        runs = opened.runs(None, limit=10_000)
        spans = [s for r in runs for s in opened.run_spans(r.run_id)]
    return {
        "runs": len(runs),
        "spans": len({s.span_id for s in spans}),
        "chat": sum(1 for s in spans if s.role == "chat"),
        "tool": sum(1 for s in spans if s.role == "tool"),
    }
