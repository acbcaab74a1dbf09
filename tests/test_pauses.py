"""Every way a LangGraph run pauses marks the paused run ``turntrace.interrupted=true`` (not an error), and the run
that resumes the thread links to it (DESIGN.md §2): ``interrupt()`` in a graph node, in middleware (langchain's
HumanInTheLoopMiddleware), and static breakpoints before or after a node. (In a tool: tests/test_failures.py.)"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, interrupt
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import StatusCode

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace import attributes as attr
from langchain_turntrace.cli import main
from langchain_turntrace.store import SpanStore
from langchain_turntrace.testing import ScriptedChatModel, answer_message, tool_calls_message
from langchain_turntrace.verify import check_run
from tests.agents import create_agent, get_weather, graph_builder
from tests.langgraph_server import LANGGRAPH_CLI, langgraph_dev, needs_langgraph_dev, write_project
from tests.spans import Spans

INPUT = {"messages": [HumanMessage("go")]}

# Before LangGraph 1.2 a static breakpoint tells a callback handler nothing (the graph just stops), nor does any
# pause or resume say at which checkpoint.
HAS_LIFECYCLE_EVENTS = importlib.util.find_spec("langgraph.callbacks") is not None
needs_lifecycle_events = pytest.mark.skipif(not HAS_LIFECYCLE_EVENTS, reason="LangGraph < 1.2 has no on_interrupt")


def approval_graph(checkpointer: Any = None, **compile_args: Any) -> Any:
    """draft -> review -> send: ``review`` asks a human with interrupt() unless a breakpoint pauses first."""

    def draft(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("draft")]}

    def review(state: MessagesState) -> dict[str, Any]:
        verdict = interrupt("approve?") if not compile_args else "approved"
        return {"messages": [AIMessage(f"review: {verdict}")]}

    def send(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("sent")]}

    graph = graph_builder()
    graph.add_node("draft", draft)
    graph.add_node("review", review)
    graph.add_node("send", send)
    graph.add_edge(START, "draft")
    graph.add_edge("draft", "review")
    graph.add_edge("review", "send")
    graph.add_edge("send", END)
    graph.name = "approvals"
    return graph.compile(checkpointer=InMemorySaver() if checkpointer is None else checkpointer, **compile_args)


def roots(spans: Spans) -> list[ReadableSpan]:
    return [s for s in spans.roots() if s.name.startswith("invoke_agent")]


def check_paused_then_resumed(spans: Spans) -> None:
    paused, resumed = roots(spans)
    assert spans.attrs(paused).get(attr.INTERRUPTED) is True, spans.attrs(paused)
    assert all(s.status.status_code is not StatusCode.ERROR for s in spans.all())
    assert attr.INTERRUPTED not in spans.attrs(resumed)
    assert (attr.RESUMED not in spans.attrs(paused), spans.attrs(resumed).get(attr.RESUMED)) == (True, True)
    assert [(link.context, dict(link.attributes or {})) for link in resumed.links] == [
        (paused.context, {attr.LINK_KIND: attr.RESUMES})
    ]
    if HAS_LIFECYCLE_EVENTS:  # the checkpoint the run paused at is the one the resume continued from
        paused_at = spans.attrs(paused)[attr.PAUSE_CHECKPOINT_ID]
        assert spans.attrs(resumed)[attr.RESUME_CHECKPOINT_ID] == paused_at
        assert attr.PAUSE_CHECKPOINT_ID not in spans.attrs(resumed)


@pytest.mark.parametrize(
    ("compile_args", "resume"),
    [
        ({}, Command(resume="yes")),  # interrupt() in the node
        pytest.param({"interrupt_before": ["review"]}, None, marks=needs_lifecycle_events),  # a static breakpoint
        pytest.param({"interrupt_after": ["review"]}, None, marks=needs_lifecycle_events),  # after the node
    ],
    ids=["interrupt-in-node", "interrupt_before", "interrupt_after"],
)
def test_a_graph_paused_in_or_around_a_node_is_marked_and_resumed(
    provider: TracerProvider, spans: Spans, compile_args: dict[str, Any], resume: Any
) -> None:
    graph = approval_graph(**compile_args)
    config: Any = {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]}
    config["configurable"] = {"thread_id": "approval-1"}
    graph.invoke(INPUT, config=config)
    final = graph.invoke(resume, config=config)
    assert final["messages"][-1].content == "sent"
    check_paused_then_resumed(spans)


def test_human_in_the_loop_middleware_pauses_and_resumes(provider: TracerProvider, spans: Spans) -> None:
    model = ScriptedChatModel(
        script=[tool_calls_message(("get_weather", {"city": "Oslo"}, "call_oslo")), answer_message("Cold in Oslo.")]
    )
    middleware = HumanInTheLoopMiddleware(interrupt_on={"get_weather": True})
    agent = create_agent(model, [get_weather], middleware=[middleware], checkpointer=InMemorySaver(), name="hitl")
    config: Any = {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]}
    config["configurable"] = {"thread_id": "hitl-1"}
    first = agent.invoke(INPUT, config=config)
    assert "__interrupt__" in first
    final = agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config=config)
    assert final["messages"][-1].content == "Cold in Oslo."
    check_paused_then_resumed(spans)
    # The approved call was requested in the paused run: it runs under a turn of the resumed run, marked so.
    resumed = roots(spans)[1]
    assert spans.tree(resumed) == "\n".join(
        ["invoke_agent hitl", "  turn 1", "    execute_tool get_weather", "  turn 2", "    chat gpt-4o-mini"]
    )
    assert spans.attrs(spans.named("turn 1")[-1])[attr.RESUMED] is True
    assert [c.name for c in check_run(spans.all(), retention_days=None, required_tags=()) if not c.passed] == []


def test_new_input_on_a_paused_thread_starts_a_run_that_resumes_nothing(provider: TracerProvider, spans: Spans) -> None:
    """Sending a new message instead of an answer abandons the pause: the new run is neither marked resumed nor
    linked, and a later resume of the thread's new pause links to the run that paused last."""
    graph = approval_graph()
    config: Any = {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]}
    config["configurable"] = {"thread_id": "approval-2"}
    graph.invoke(INPUT, config=config)
    graph.invoke({"messages": [HumanMessage("start over")]}, config=config)  # pauses at review again
    graph.invoke(Command(resume="yes"), config=config)
    first, second, third = roots(spans)
    assert [spans.attrs(r).get(attr.INTERRUPTED) for r in (first, second, third)] == [True, True, None]
    assert (attr.RESUMED in spans.attrs(second), second.links) == (False, ())
    assert [link.context for link in third.links] == [second.context]


def test_resumed_tool_calls_run_one_after_another_share_the_resumed_turn(
    provider: TracerProvider, spans: Spans
) -> None:
    """Two approved calls, carried out one after the other (max_concurrency=1), both sit under the one resumed
    turn; the model step after them is turn 2."""
    model = ScriptedChatModel(
        script=[
            tool_calls_message(
                ("get_weather", {"city": "Oslo"}, "call_oslo"), ("get_weather", {"city": "Rome"}, "call_rome")
            ),
            answer_message("Cold in Oslo, warm in Rome."),
        ]
    )
    middleware = HumanInTheLoopMiddleware(interrupt_on={"get_weather": True})
    agent = create_agent(model, [get_weather], middleware=[middleware], checkpointer=InMemorySaver(), name="hitl")
    config: Any = {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)], "max_concurrency": 1}
    config["configurable"] = {"thread_id": "hitl-2"}
    agent.invoke(INPUT, config=config)
    approve = {"decisions": [{"type": "approve"}, {"type": "approve"}]}
    assert agent.invoke(Command(resume=approve), config=config)["messages"][-1].content.startswith("Cold")
    resumed = roots(spans)[1]
    assert spans.tree(resumed) == "\n".join(
        [
            "invoke_agent hitl",
            "  turn 1",
            "    execute_tool get_weather",
            "    execute_tool get_weather",
            "  turn 2",
            "    chat gpt-4o-mini",
        ]
    )
    assert spans.attrs(resumed)[attr.TURN_COUNT] == 2


def test_a_run_that_resumes_nothing_gets_no_resumed_turn(provider: TracerProvider, spans: Spans) -> None:
    """A tool call with an id before any model call, in a run that resumes nothing (no thread, or a Command that
    only updates state), is mis-wired: it stays under the run, where verify finds it; the run is not marked
    resumed and carries no resume checkpoint."""

    def plan(state: MessagesState) -> dict[str, Any]:
        return {"messages": [tool_calls_message(("get_weather", {"city": "Oslo"}, "call_planned"))]}

    graph = graph_builder()
    graph.add_node("plan", plan)
    graph.add_node("tools", ToolNode([get_weather]))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "tools")
    graph.add_edge("tools", END)
    compiled = graph.compile(checkpointer=InMemorySaver())
    config: Any = {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]}
    config["configurable"] = {"thread_id": "no-pause"}
    compiled.invoke(INPUT, config=config)
    compiled.invoke(Command(update={"messages": [HumanMessage("again")]}, goto="plan"), config=config)
    for run in roots(spans):
        assert spans.tree(run) == "invoke_agent agent\n  execute_tool get_weather"
        assert not {attr.RESUMED, attr.RESUME_CHECKPOINT_ID} & set(spans.attrs(run))
    failed = [c.name for c in check_run(spans.all(), retention_days=None, required_tags=()) if not c.passed]
    assert failed, "verify must catch tool calls outside any turn"


def test_a_handler_made_per_request_still_links_the_resume(provider: TracerProvider, spans: Spans) -> None:
    """A server that builds a handler per request: the pause and its resume are seen by two handlers."""
    graph = approval_graph()
    for run_input in (INPUT, Command(resume="yes")):
        config: Any = {"callbacks": [TurnTraceCallbackHandler(tracer_provider=provider)]}
        config["configurable"] = {"thread_id": "approval-3"}
        graph.invoke(run_input, config=config)
    check_paused_then_resumed(spans)


SERVER_INPUT = {"messages": [{"role": "human", "content": "go"}]}
APPROVALS_GRAPH = """
from tests.test_pauses import approval_graph

graph = approval_graph(checkpointer=False)  # the server brings its own (saved at shutdown, loaded at start)
"""


@needs_langgraph_dev
def test_a_run_resumed_by_another_server_process_is_linked_in_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real ``langgraph dev`` with zero-code tracing pauses a thread and is stopped; a second server process,
    with the same checkpoints, resumes it. The paused span's context never reached the second process, so the
    local store links the two runs: ``turntrace show`` names the run each resumes or was resumed by, and
    ``turntrace runs --session`` lists the conversation in order."""
    pytest.importorskip("langgraph_sdk", reason=LANGGRAPH_CLI)
    write_project(tmp_path, {"approvals": APPROVALS_GRAPH})
    store = tmp_path / "traces.db"
    with langgraph_dev(tmp_path, store) as server:
        thread_id = server.client.threads.create()["thread_id"]
        first = server.client.runs.wait(thread_id, "approvals", input=SERVER_INPUT)
        assert [i["value"] for i in first["__interrupt__"]] == ["approve?"]
        server.sigterm()
    with langgraph_dev(tmp_path, store) as server:
        final = server.client.runs.wait(thread_id, "approvals", command={"resume": "yes"})
        assert [m["content"] for m in final["messages"]] == ["go", "draft", "review: yes", "sent"]
        server.sigterm()
    with SpanStore.open(store) as opened:
        runs = opened.runs(session=thread_id)
        assert [(r.status, r.resumed) for r in runs] == [("ok", True), ("interrupted", False)]  # newest first
        resumed, paused = runs
        assert opened.linked_from(paused.run_id)[0][0] == resumed.run_id
    shown = cli(capsys, monkeypatch, store, "show", resumed.run_id[:8])
    assert f"resumes run {paused.run_id[:8]}" in shown, shown
    assert f"resumed by run {resumed.run_id[:8]}" in cli(capsys, monkeypatch, store, "show", paused.run_id[:8])
    listed = [line.split() for line in cli(capsys, monkeypatch, store, "runs", "--session", thread_id).splitlines()]
    statuses = [row[-1] for row in listed if row and row[-1] in {"interrupted", "resumed"}]
    assert statuses == ["interrupted", "resumed"], listed  # the conversation in order


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path, *args: str) -> str:
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["--store", str(store), *args]) == 0
    return capsys.readouterr().out
