"""configure("otlp") against a real OTLP backend: an agent run sent to Arize Phoenix over OTLP/HTTP reads back
through Phoenix's REST API with the same tree, the same attributes (values and types), tokens and cost intact.

Phoenix comes from tests/phoenix.py (skipped unless TURNTRACE_TEST_PHOENIX names it; .ci/run installs it).
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest
from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from langchain_turntrace import configure
from langchain_turntrace.backends import provider_for
from tests.agents import THREE_TURN_TREE, three_turn_agent
from tests.contract import check_contract
from tests.phoenix import request_json
from tests.spans import Spans

PROJECT = "turntrace-otlp"
SERVICE = "turntrace-phoenix-test"
INPUT = {"messages": [HumanMessage("Weather in Paris and Rome?")]}
ARRIVAL_TIMEOUT_S = 30.0  # Phoenix acknowledges OTLP at once and writes spans to its database in batches
# Phoenix adds OpenInference attributes it derives from gen_ai.* (llm.token_count.*, llm.model_name, tool.name,
# output.value, ...); every other key it returns must be one we sent.
PHOENIX_DERIVED = ("llm.", "tool.", "input.", "output.", "openinference.")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
CUMULATIVE_TOKENS = """
query ($id: ID!) {
  node(id: $id) { ... on Span { cumulativeTokenCountPrompt cumulativeTokenCountCompletion } }
}
"""


def test_agent_run_reads_back_from_phoenix(phoenix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{phoenix}/v1/traces")
    monkeypatch.setenv("OTEL_SERVICE_NAME", SERVICE)
    # Phoenix files spans under the project their resource names (else "default").
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"openinference.project.name={PROJECT},deployment.environment=ci")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the exporter goes straight to the local Phoenix
    handler = configure("otlp", session_id="sess-phx", user_id="user-phx", feature="weather", agent_version="v7")

    # A copy of exactly what the OTLP pipeline sends: configure() built one provider for this endpoint.
    provider = provider_for("otlp")
    assert isinstance(provider, TracerProvider)
    sent = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(sent))

    result = three_turn_agent().invoke(INPUT, config={"callbacks": [handler]})
    assert result["messages"][-1].content == "Sunny in Paris and Rome."
    assert handler.flush(timeout_s=10)
    assert handler.open_runs == 0

    spans = Spans(sent)
    tree = THREE_TURN_TREE.format(name="agent")
    assert spans.tree(by_name=True) == tree
    check_contract(spans.all())
    for span in spans.all():  # the standard OTEL_* variables named the resource
        assert span.resource.attributes["service.name"] == SERVICE
        assert span.resource.attributes["deployment.environment"] == "ci"

    ours = {_hex_span_id(span): span for span in spans.all()}
    root = spans.roots()[0]
    assert root.context is not None
    stored = _wait_for_spans(phoenix, format(root.context.trace_id, "032x"), len(ours))

    # The same tree: shape first, then every parent link by span id.
    assert _tree(stored) == tree
    assert set(stored) == set(ours)
    assert {i: stored[i]["parent_id"] for i in ours} == {i: _hex_parent_id(s) for i, s in ours.items()}

    for span_id, span in ours.items():
        record = stored[span_id]
        attributes = dict(span.attributes or {})
        theirs: dict[str, Any] = record["attributes"]
        where = span.name
        # Every attribute we emitted, with its value and its type (ints stay ints, floats floats, str lists).
        assert {k: _typed(theirs.get(k)) for k in attributes} == {k: _typed(v) for k, v in attributes.items()}, where
        added = {k for k in set(theirs) - set(attributes) if not k.startswith(PHOENIX_DERIVED)}
        assert not added, (where, sorted(added))
        assert record["name"] == span.name
        assert record["status_code"] == span.status.status_code.name
        # Phoenix keeps microseconds (and converts through a float): the waterfall's timing survives to ~1 us.
        assert abs(_unix_ns(record["start_time"]) - (span.start_time or 0)) <= 2_000, where
        assert abs(_unix_ns(record["end_time"]) - (span.end_time or 0)) <= 2_000, where
        # Not compared: Phoenix keeps no OTel SpanKind; it classifies spans by OpenInference kind instead.

    agent = stored[_hex_span_id(root)]["attributes"]
    assert (agent["turntrace.total_input_tokens"], agent["turntrace.total_output_tokens"]) == (450, 90)
    chats = [stored[_hex_span_id(s)]["attributes"] for s in spans.named("chat")]
    assert [(c["gen_ai.usage.input_tokens"], c["gen_ai.usage.output_tokens"]) for c in chats] == [
        (100, 20),
        (150, 30),
        (200, 40),
    ]
    assert sum(c["turntrace.cost_usd"] for c in chats) == pytest.approx(agent["turntrace.total_cost_usd"], rel=1e-12)

    # Phoenix's own roll-up sums model-call tokens over the tree: usage sits on chat spans only, so the agent's
    # total is each call counted once.
    answer = request_json(
        f"{phoenix}/graphql",
        {"query": CUMULATIVE_TOKENS, "variables": {"id": stored[_hex_span_id(root)]["id"]}},
    )
    node = answer["data"]["node"]
    assert (node["cumulativeTokenCountPrompt"], node["cumulativeTokenCountCompletion"]) == (450, 90)


def _wait_for_spans(phoenix: str, trace_id: str, count: int) -> dict[str, dict[str, Any]]:
    """Phoenix's records of the trace's spans by span id, once all ``count`` have been written (bounded wait)."""
    url = f"{phoenix}/v1/projects/{PROJECT}/spans?trace_id={trace_id}&limit=1000"
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    found: dict[str, dict[str, Any]] = {}
    while True:
        try:
            found = {record["context"]["span_id"]: record for record in request_json(url)["data"]}
        except urllib.error.HTTPError as error:
            error.close()
            if error.code != 404:  # 404: the project appears with its first span
                raise
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            projects = [p["name"] for p in request_json(f"{phoenix}/v1/projects")["data"]]
            pytest.fail(f"Phoenix holds {len(found)} of {count} spans after {ARRIVAL_TIMEOUT_S:.0f} s; {projects=}")
        time.sleep(0.25)


def _tree(records: dict[str, dict[str, Any]]) -> str:
    """Phoenix's records as tests/spans.py renders spans: one line per span, children by name."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    for record in records.values():
        parent = record["parent_id"] if record["parent_id"] in records else None
        children.setdefault(parent, []).append(record)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for record in sorted(children.get(parent, []), key=lambda r: r["name"]):
            lines.append("  " * depth + record["name"])
            walk(record["context"]["span_id"], depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def _typed(value: object) -> object:
    """A value with its type, list elements included, so 1 != 1.0 and a tuple compares with JSON's list."""
    if isinstance(value, (tuple, list)):
        items = cast("Sequence[object]", value)  # narrowing leaves the element type unknown
        return ("list", tuple(_typed(item) for item in items))
    return (type(value).__name__, value)


def _hex_span_id(span: ReadableSpan) -> str:
    return format(span.context.span_id if span.context else 0, "016x")


def _hex_parent_id(span: ReadableSpan) -> str | None:
    return None if span.parent is None else format(span.parent.span_id, "016x")


def _unix_ns(iso: str) -> int:
    return (datetime.fromisoformat(iso) - EPOCH) // timedelta(microseconds=1) * 1_000  # integer maths: no float
