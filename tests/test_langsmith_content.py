"""What a LangSmith user reads in a run: inputs and outputs never empty. With content capture off, only what is safe
(no prompt, argument or result leaves the process); with it on, the content in the shapes LangChainTracer sends,
compared with what LangChainTracer sends for the same invoke. LANGSMITH_HIDE_* are honoured by the client, and a
model call's usage stays countable when the metadata is hidden."""

from __future__ import annotations

import json
import re
from typing import Any
from uuid import UUID

import pytest
from langsmith.anonymizer import StringNodeRule, create_anonymizer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace import TurnTraceCallbackHandler
from langchain_turntrace.langsmith_backend import LangSmithSpanProcessor
from langchain_turntrace.langsmith_backend._runs import RUN_TYPES, metadata
from langchain_turntrace.store import StoredSpan
from tests.agents import three_turn_agent
from tests.langsmith_server import FakeLangSmith
from tests.test_langsmith import INPUT, connect
from tests.test_langsmith_identity import both

PROMPT = "Weather in Paris and Rome?"  # tests/test_langsmith.INPUT
ANSWER = "Sunny in Paris and Rome."  # the agent's last answer (tests/agents.py): only ever an output
TOOL_ARGUMENTS = {"call_1": {"city": "Paris"}, "call_2": {"city": "Paris"}, "call_3": {"city": "Rome"}}  # its script
SAFE_INPUT_KEYS = {
    "chain": {"agent", "session_id", "turn"},
    "llm": {"message_count", "roles"},
    "tool": {"input_hash", "tool"},
}


def payloads(server: FakeLangSmith) -> str:
    return "\n".join(request.body.decode(errors="replace") for request in server.requests)


def message_view(message: dict[str, Any]) -> tuple[Any, ...]:
    """What a serialized LangChain message shows in LangSmith: its class, text, tool calls, the call it answers."""
    kwargs = message["kwargs"]
    tool_calls: list[dict[str, Any]] = kwargs.get("tool_calls") or []
    calls = [(c["name"], c["args"], c["id"]) for c in tool_calls]
    return message["id"][-1], kwargs["content"], calls, kwargs.get("tool_call_id")


def test_with_capture_off_every_run_has_safe_inputs_and_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeLangSmith() as ours, FakeLangSmith() as reference:
        both(monkeypatch, ours, reference)
        our_runs, reference_runs = ours.runs(), reference.runs()
    assert ours.problems == []
    assert PROMPT not in payloads(ours)  # no content left the process
    assert PROMPT in payloads(reference)  # (the check can fail)
    assert "Paris" not in payloads(ours)
    for run in our_runs.values():
        assert run["inputs"], run["name"]
        assert run["outputs"], run["name"]
        assert set(run["inputs"]) <= SAFE_INPUT_KEYS[run["run_type"]], run["inputs"]
        if run["run_type"] == "llm":
            sent = reference_runs[UUID(run["id"])]["inputs"]["messages"][0]
            roles = {"HumanMessage": "user", "AIMessage": "assistant", "ToolMessage": "tool"}
            assert run["inputs"]["roles"] == [roles[m["id"][-1]] for m in sent]
            assert run["inputs"]["message_count"] == len(sent)
            assert run["outputs"]["finish_reasons"] in (["tool_calls"], ["stop"])
            assert run["outputs"]["usage_metadata"]["total_tokens"] > 0
        if run["run_type"] == "tool":
            meta = run["extra"]["metadata"]
            assert run["inputs"]["input_hash"] == meta["turntrace.input_hash"]
            assert run["outputs"]["return_shape_hash"] == meta["turntrace.return_shape_hash"]
    assert {run["run_type"] for run in our_runs.values()} == set(RUN_TYPES.values()) - {"other"}


def test_with_capture_on_content_goes_in_langchain_tracers_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    with FakeLangSmith() as ours, FakeLangSmith() as reference:
        both(monkeypatch, ours, reference)
        our_runs, reference_runs = ours.runs(), reference.runs()
    assert ours.problems == []
    compared = 0
    for run in our_runs.values():
        if run["run_type"] not in ("llm", "tool"):
            continue
        sent = reference_runs[UUID(run["id"])]
        if run["run_type"] == "llm":
            assert [message_view(m) for m in run["inputs"]["messages"][0]] == [
                message_view(m) for m in sent["inputs"]["messages"][0]
            ]
            ours_answer = run["outputs"]["generations"][0][0]
            assert message_view(ours_answer["message"]) == message_view(sent["outputs"]["generations"][0][0]["message"])
            assert ours_answer["text"] == sent["outputs"]["generations"][0][0]["text"]
        else:
            # The tool's arguments, as the model asked for them (LangChainTracer's shape for them changed across
            # langchain-core versions: a dict here, {"input": "<repr>"} at our floor).
            assert run["inputs"] == TOOL_ARGUMENTS[run["extra"]["metadata"]["gen_ai.tool.call.id"]]
            answer = sent["outputs"]["output"]
            assert run["outputs"]["output"] == (
                json.loads(answer["content"]) if answer["content"][:1] == "{" else answer["content"]
            )
        compared += 1
    assert compared == 6  # three model calls, three tool calls
    # The agent run: what it was asked and its answer, for LangSmith's Threads view (the reference sends the whole
    # message list as the output; ours, the answer).
    root = next(run for run in our_runs.values() if run.get("parent_run_id") is None)
    reference_root = reference_runs[UUID(root["id"])]
    assert [m["kwargs"]["content"] for m in root["inputs"]["messages"]] == [
        m["content"] for m in reference_root["inputs"]["messages"]
    ]
    assert [message_view(m) for m in root["outputs"]["messages"]] == [("AIMessage", ANSWER, [], None)]
    assert reference_root["outputs"]["messages"][-1]["content"] == ANSWER


@pytest.mark.parametrize("hidden", ["INPUTS", "OUTPUTS", "METADATA"])
def test_hidden_fields_stay_hidden_and_usage_stays_countable(monkeypatch: pytest.MonkeyPatch, hidden: str) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    monkeypatch.setenv(f"LANGSMITH_HIDE_{hidden}", "true")
    with FakeLangSmith() as server:
        handler = connect(monkeypatch, server.url)
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
        assert handler.flush(timeout_s=10)
        runs = server.runs()
    assert server.problems == []
    field = {"INPUTS": "inputs", "OUTPUTS": "outputs"}.get(hidden)
    if field is not None:
        assert all(not run.get(field) for run in runs.values()), field
    else:
        # None of ours: older clients add their own environment keys back after hiding the rest.
        ours = {"session_id", "otel_span_id", "usage_metadata", "gen_ai.operation.name"}
        assert all(not ours & set(run["extra"].get("metadata") or {}) for run in runs.values())
    # Content never hides in the metadata: a hidden field's content is nowhere in what was sent.
    secret_of = {"INPUTS": PROMPT, "OUTPUTS": ANSWER}
    if hidden in secret_of:
        assert secret_of[hidden] not in payloads(server)
    else:
        assert PROMPT in payloads(server)  # the inputs still go
    llm = [run for run in runs.values() if run["run_type"] == "llm"]
    usage = [
        run["extra"].get("metadata", {}).get("usage_metadata") or run["outputs"].get("usage_metadata") for run in llm
    ]
    assert all(u and u["total_tokens"] > 0 for u in usage), usage


def test_the_clients_anonymizer_applies_to_what_we_send(monkeypatch: pytest.MonkeyPatch) -> None:
    """An app's anonymizer (langsmith's own create_anonymizer) masks the content before it leaves."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    anonymizer = create_anonymizer([StringNodeRule(pattern=re.compile(r"Paris|Rome"), replace="<city>")])
    with FakeLangSmith() as server:
        processor = LangSmithSpanProcessor(api_url=server.url, api_key="lsv2_fake", anonymizer=anonymizer)
        provider = TracerProvider()
        provider.add_span_processor(processor)
        provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        handler = TurnTraceCallbackHandler(tracer_provider=provider)
        three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
        assert processor.force_flush(10_000)
        runs = server.runs()
        provider.shutdown()
    assert server.problems == []
    llm = [run for run in runs.values() if run["run_type"] == "llm"]
    assert llm[0]["inputs"]["messages"][0][0]["kwargs"]["content"] == "Weather in <city> and <city>?"
    assert "Paris" not in payloads(server)
    assert "Rome" not in payloads(server)


def test_content_other_instrumentations_record_never_goes_in_the_metadata() -> None:
    """Prompts a provider SDK, OpenInference or OpenLLMetry put on their spans would bypass LANGSMITH_HIDE_INPUTS
    in the metadata: only the inputs and outputs carry content."""
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system_instructions": PROMPT,
        "gen_ai.tool.definitions": PROMPT,
        "input.value": PROMPT,
        "output.value": ANSWER,
        "gen_ai.prompt.0.content": PROMPT,
        "gen_ai.completion.0.content": ANSWER,
        "llm.input_messages.0.message.content": PROMPT,
        "gen_ai.request.model": "gpt-4o-mini",
    }
    span = StoredSpan("a" * 32, "b" * 16, None, "chat", "CLIENT", 0, 1, "UNSET", attributes, foreign=True)
    meta = metadata(span)
    assert PROMPT not in json.dumps(meta)
    assert ANSWER not in json.dumps(meta)
    assert meta["gen_ai.request.model"] == "gpt-4o-mini"  # the rest is kept
