"""DESIGN.md's attribute contract as a check over any set of finished spans; conftest runs it after every test."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

TAGS = {
    "session.id": str,
    "gen_ai.conversation.id": str,
    "user.id": str,
    "turntrace.feature": str,
    "turntrace.agent_version": str,
}
TOTALS = {"turntrace.total_input_tokens": int, "turntrace.total_output_tokens": int, "turntrace.total_cost_usd": float}
MARKERS = {"error.type": str, "turntrace.interrupted": bool, "turntrace.incomplete": bool}
# The LangChain run an agent, chat or tool span traces: its id, its tags, and its metadata under
# langsmith.metadata.<key> (any key the app set; a scalar, a list of strings, or JSON text named in
# turntrace.metadata_json_keys).
IDENTITY = {"turntrace.langchain_run_id": str, "langsmith.span.tags": tuple, "turntrace.metadata_json_keys": tuple}
METADATA_PREFIX = "langsmith.metadata."

# kind -> (span kind, required keys, optional keys)
CONTRACT: dict[str, tuple[SpanKind, dict[str, type], dict[str, type]]] = {
    "invoke_agent": (
        SpanKind.INTERNAL,
        {
            "gen_ai.operation.name": str,
            "gen_ai.agent.name": str,
            "turntrace.turn_count": int,
            "turntrace.tool_call_count": int,
            **TOTALS,
        },
        {
            **IDENTITY,
            "gen_ai.input.messages": str,
            "gen_ai.output.messages": str,
            "turntrace.resumed": bool,
            "turntrace.thread_id": str,
            "turntrace.pause.checkpoint_id": str,
            "turntrace.resume.checkpoint_id": str,
        },
    ),
    "turn": (
        SpanKind.INTERNAL,
        {"turntrace.turn_index": int, "turntrace.latency_ms": float, **TOTALS},
        {"gen_ai.request.model": str, "turntrace.stop_reason": str, "turntrace.resumed": bool},
    ),
    "chat": (
        SpanKind.CLIENT,
        {"gen_ai.operation.name": str, "turntrace.latency_ms": float},
        {
            **IDENTITY,
            "gen_ai.provider.name": str,
            "gen_ai.request.model": str,
            "gen_ai.response.model": str,
            "gen_ai.response.id": str,
            "gen_ai.response.finish_reasons": tuple,
            "gen_ai.response.time_to_first_chunk": float,
            "gen_ai.usage.input_tokens": int,
            "gen_ai.usage.output_tokens": int,
            "gen_ai.usage.cache_read.input_tokens": int,
            "gen_ai.usage.cache_write.input_tokens": int,
            "gen_ai.usage.reasoning.output_tokens": int,
            "turntrace.usage.cache_write_1h.input_tokens": int,
            "turntrace.service_tier": str,
            "gen_ai.input.messages": str,
            "turntrace.input_roles": tuple,
            "gen_ai.output.messages": str,
            "turntrace.cost_usd": float,
            "turntrace.cost_source": str,
        },
    ),
    "execute_tool": (
        SpanKind.INTERNAL,
        {
            "gen_ai.operation.name": str,
            "gen_ai.tool.name": str,
            "gen_ai.tool.type": str,
            "turntrace.input_hash": str,
            "turntrace.latency_ms": float,
            **TOTALS,
        },
        {
            **IDENTITY,
            "gen_ai.tool.call.id": str,
            "turntrace.return_shape_hash": str,
            "gen_ai.tool.call.arguments": str,
            "gen_ai.tool.call.result": str,
            "turntrace.tool.kind": str,  # imported sessions: human_wait
        },
    ),
}
PARENTS = {
    "invoke_agent": {None, "turn", "execute_tool", "invoke_agent"},
    "turn": {"invoke_agent"},
    "chat": {None, "turn", "execute_tool"},
    "execute_tool": {None, "turn", "invoke_agent", "execute_tool"},
}


def kind_of(span: ReadableSpan) -> str:
    first = span.name.split(" ")[0]
    return "chat" if first == "text_completion" else first


def check_contract(spans: Sequence[ReadableSpan]) -> None:
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    for span in spans:
        kind = kind_of(span)
        assert kind in CONTRACT, f"unexpected span {span.name!r}"
        span_kind, required, optional = CONTRACT[kind]
        attributes: dict[str, Any] = dict(span.attributes or {})
        where = f"{span.name}: "
        assert span.kind is span_kind, where + f"kind {span.kind}"
        missing = set(required) - set(attributes)
        assert not missing, where + f"missing {sorted(missing)}"
        allowed = {**required, **optional, **TAGS, **MARKERS}
        metadata = {k: v for k, v in attributes.items() if k.startswith(METADATA_PREFIX)}
        assert not metadata or "turntrace.langchain_run_id" in attributes, where + "metadata of no LangChain run"
        assert all(type(v) in (str, int, float, bool, tuple) for v in metadata.values()), where + f"metadata {metadata}"
        assert all(type(v) is not tuple or all(type(x) is str for x in v) for v in metadata.values()), where
        for key in attributes.get("turntrace.metadata_json_keys", ()):
            assert type(attributes[METADATA_PREFIX + key]) is str, where + f"{key} is named JSON but is no text"
        unknown = set(attributes) - set(allowed) - set(metadata)
        assert not unknown, where + f"unexpected attributes {sorted(unknown)}"
        for key, value in attributes.items():
            if key not in metadata:
                assert type(value) is allowed[key], where + f"{key}={value!r} is {type(value).__name__}"
        if kind != "chat":  # usage and cost are leaf facts: never counted twice
            assert not any(k.startswith("gen_ai.usage.") or k == "turntrace.cost_usd" for k in attributes), where
        if kind == "chat" and "turntrace.cost_source" in attributes:
            priced = attributes["turntrace.cost_source"] not in ("unpriced", "no_usage")
            assert priced == ("turntrace.cost_usd" in attributes), where + "cost_usd iff priced"
        parent = by_id.get(span.parent.span_id) if span.parent is not None else None
        parent_kind = kind_of(parent) if parent is not None else None
        assert parent_kind in PARENTS[kind], where + f"parent {parent.name if parent else None!r}"
        if "session.id" in attributes:
            assert attributes["gen_ai.conversation.id"] == attributes["session.id"], where
