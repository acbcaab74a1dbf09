"""A span as a LangSmith run's inputs and outputs, never empty. With content capture off, only what is safe: the
tool's input hash and return-shape hash, the model call's message count and roles, stop reasons, counts. With it
on, the content the span carries, in the shapes LangChainTracer sends and LangSmith renders: chat messages as
serialized LangChain messages, a model's answer as an LLMResult, a tool's arguments and result. Plain data, no
I/O; the client then applies ``LANGSMITH_HIDE_INPUTS`` / ``_OUTPUTS`` and its anonymizer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from langchain_turntrace import attributes as attr
from langchain_turntrace.store import StoredSpan

# GenAI roles -> the LangChain message class LangChainTracer serializes, and its ``type``.
_MESSAGE_CLASSES: Final[Mapping[str, tuple[str, str]]] = {
    "user": ("HumanMessage", "human"),
    "assistant": ("AIMessage", "ai"),
    "system": ("SystemMessage", "system"),
    "tool": ("ToolMessage", "tool"),
}


def inputs_of(span: StoredSpan) -> dict[str, Any]:
    a = span.attributes
    if span.role == "chat":
        messages = _parsed(a.get(attr.GEN_AI_INPUT_MESSAGES))
        if isinstance(messages, list):
            return {"messages": [[_lc_message(m) for m in cast("list[object]", messages)]]}
        roles = a.get(attr.INPUT_ROLES)
        roles = [str(r) for r in cast("Sequence[object]", roles)] if isinstance(roles, (list, tuple)) else []
        return {"message_count": len(roles), "roles": roles}
    if span.role == "tool":
        arguments = a.get(attr.GEN_AI_TOOL_CALL_ARGUMENTS)
        if isinstance(arguments, str):
            parsed = _parsed(arguments)
            return cast("dict[str, Any]", parsed) if isinstance(parsed, dict) else {"input": arguments}
        return {"input_hash": a.get(attr.INPUT_HASH), "tool": a.get(attr.GEN_AI_TOOL_NAME)}
    if span.role == "turn":
        return {"turn": a.get(attr.TURN_INDEX)}
    if span.role == "agent":
        messages = _parsed(a.get(attr.GEN_AI_INPUT_MESSAGES))
        if isinstance(messages, list):  # LangChainTracer's shape for a graph's input
            return {"messages": [_lc_message(m) for m in cast("list[object]", messages)]}
        return {"agent": a.get(attr.GEN_AI_AGENT_NAME), "session_id": a.get(attr.SESSION_ID)}
    return {"span": span.name}


def outputs_of(span: StoredSpan, usage: Mapping[str, Any] | None) -> dict[str, Any]:
    a = span.attributes
    if span.role == "chat":
        out: dict[str, Any] = {}
        messages = _parsed(a.get(attr.GEN_AI_OUTPUT_MESSAGES))
        if isinstance(messages, list):
            out["generations"] = [[_generation(m) for m in cast("list[object]", messages)]]
            out["llm_output"] = None
            out["type"] = "LLMResult"
        else:
            finish = a.get(attr.GEN_AI_RESPONSE_FINISH_REASONS)
            out["finish_reasons"] = list(cast("Sequence[object]", finish)) if isinstance(finish, (list, tuple)) else []
        if usage is not None:  # also here: usage stays countable when LANGSMITH_HIDE_METADATA hides the metadata
            out["usage_metadata"] = dict(usage)
        return out
    if span.role == "tool":
        result = a.get(attr.GEN_AI_TOOL_CALL_RESULT)
        if isinstance(result, str):
            return {"output": _parsed(result) if result[:1] in ("[", "{") else result}
        return {"return_shape_hash": a.get(attr.RETURN_SHAPE_HASH), "error": a.get(attr.ERROR_TYPE)}
    if span.role == "turn":
        return {"stop_reason": a.get(attr.STOP_REASON), "model": a.get(attr.GEN_AI_REQUEST_MODEL)}
    if span.role == "agent":
        summary: dict[str, Any] = {
            "turns": a.get(attr.TURN_COUNT),
            "tool_calls": a.get(attr.TOOL_CALL_COUNT),
            "total_cost_usd": a.get(attr.TOTAL_COST_USD),
            "interrupted": a.get(attr.INTERRUPTED) is True,
        }
        answer = _parsed(a.get(attr.GEN_AI_OUTPUT_MESSAGES))
        if isinstance(answer, list):  # the agent's answer, for LangSmith's Threads view
            summary["messages"] = [_lc_message(m) for m in cast("list[object]", answer)]
        return summary
    return {"span": span.name}


def _parsed(value: object) -> object:
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _lc_message(message: object) -> dict[str, Any]:
    """One GenAI message (role + parts) as LangChain serializes a message (``dumpd``)."""
    fields = cast("dict[str, Any]", message) if isinstance(message, dict) else {}
    role = str(fields.get("role") or "user")
    class_name, kind = _MESSAGE_CLASSES.get(role, ("ChatMessage", "chat"))
    raw_parts = fields.get("parts")
    items = cast("list[object]", raw_parts) if isinstance(raw_parts, list) else []
    parts = [cast("dict[str, Any]", p) for p in items if isinstance(p, dict)]
    text = "".join(str(p.get("content") or "") for p in parts if p.get("type") == "text")
    kwargs: dict[str, Any] = {"content": text, "type": kind}
    calls = [p for p in parts if p.get("type") == "tool_call"]
    if calls:
        kwargs["tool_calls"] = [
            {"name": c.get("name"), "args": c.get("arguments") or {}, "id": c.get("id"), "type": "tool_call"}
            for c in calls
        ]
    for response in (p for p in parts if p.get("type") == "tool_call_response"):
        kwargs["content"] = str(response.get("response") or "")
        kwargs["tool_call_id"] = response.get("id")
    if class_name == "ChatMessage":
        kwargs["role"] = role
    return {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", class_name], "kwargs": kwargs}


def _generation(message: object) -> dict[str, Any]:
    serialized = _lc_message(message)
    return {"text": serialized["kwargs"]["content"], "type": "ChatGeneration", "message": serialized}
