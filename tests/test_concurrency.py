"""One handler, many concurrent runs: separate traces, correctly nested, no state left behind."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from langchain_turntrace import TurnTraceCallbackHandler
from tests.agents import THREE_TURN_TREE, three_turn_agent
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("hi")]}


def check_traces(spans: Spans, runs: int) -> None:
    roots = spans.roots()
    assert len(roots) == runs
    assert len({r.context.trace_id for r in roots if r.context}) == runs
    by_trace: dict[int, list[ReadableSpan]] = {}
    for span in spans.all():
        assert span.context is not None
        by_trace.setdefault(span.context.trace_id, []).append(span)
    sessions: set[str] = set()
    for root in roots:
        assert spans.tree(root, by_name=True) == THREE_TURN_TREE.format(name="agent")
        assert root.context is not None
        members = by_trace[root.context.trace_id]
        assert len(members) == 10
        session = {spans.attrs(s)["session.id"] for s in members}
        assert len(session) == 1  # no span of another session leaked into this trace
        sessions |= session
        attributes = spans.attrs(root)
        assert (attributes["turntrace.turn_count"], attributes["turntrace.tool_call_count"]) == (3, 3)
        assert attributes["turntrace.total_input_tokens"] == 450
    assert len(sessions) == runs


async def test_fifty_concurrent_ainvoke_runs(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    agent = three_turn_agent()
    await asyncio.gather(
        *(
            agent.ainvoke(INPUT, config={"callbacks": [handler], "metadata": {"session_id": f"s-{i}"}})
            for i in range(50)
        )
    )
    check_traces(spans, 50)
    assert handler.open_runs == 0


def test_threads_share_one_handler(provider: TracerProvider, spans: Spans) -> None:
    handler = TurnTraceCallbackHandler(tracer_provider=provider)
    agent = three_turn_agent()

    def run(i: int) -> None:
        agent.invoke(INPUT, config={"callbacks": [handler], "metadata": {"session_id": f"t-{i}"}})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(run, range(24)))
    check_traces(spans, 24)
    assert handler.open_runs == 0
