"""Runs the scripted demo agent through the local-store backend and reads its runs back."""

from __future__ import annotations

import uuid
from pathlib import Path

from langchain_core.messages import HumanMessage

from langchain_turntrace.backends import provider_for
from langchain_turntrace.demo import build_agent
from langchain_turntrace.handler import TurnTraceCallbackHandler
from langchain_turntrace.store import RunSummary, SpanStore


def run_scripted_session(path: Path, *, session_prefix: str, runs: int) -> list[RunSummary]:
    """``runs`` agent runs in one fresh session, flushed to the store and read back from it."""
    session_id = f"{session_prefix}-{uuid.uuid4().hex[:8]}"
    provider = provider_for("local", store_path=path)
    handler = TurnTraceCallbackHandler(
        tracer_provider=provider, session_id=session_id, user_id="demo-user", feature="travel", agent_version="demo-1"
    )
    for _ in range(runs):
        build_agent().invoke(  # pyright: ignore[reportUnknownMemberType]  # LangGraph's add_node generics
            {"messages": [HumanMessage("Book me the cheapest flight from Paris to Lisbon.")]},
            config={"callbacks": [handler]},
        )
    if not handler.flush(timeout_s=30):
        raise ValueError(f"could not write spans to {str(path)!r} within 30 s; is the disk full or the file locked?")
    with SpanStore.open(path, create=False) as store:
        found = store.runs(None, session_id, None, None, limit=runs)
    if len(found) != runs:
        raise ValueError(f"{runs} run(s) were traced but {len(found)} reached {str(path)!r}; see the log above")
    return found
