"""Anthropic's Messages wire format (``POST /v1/messages``): a JSON message, or server-sent events when the request
asks for ``stream``.

Anthropic splits input three ways: ``input_tokens`` is the uncached part, ``cache_read_input_tokens`` and
``cache_creation_input_tokens`` the rest, the writes broken down by TTL under ``cache_creation``. A stream opens
with ``message_start`` (the input counts, one output token so far) and ends with ``message_delta``, whose usage is
cumulative: the input counts again and the final output count."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from tests.providers.script import Step, step_for
from tests.providers.wire import WireReply, WireRequest, sse

MODEL = "claude-sonnet-4-5"
RESPONSE_MODEL = "claude-sonnet-4-5-20250929"  # the API answers an alias with the snapshot it resolved to


def tool_results_in(body: Mapping[str, Any]) -> int:
    """``tool_result`` blocks in the request's user messages: one per tool call answered so far."""
    count = 0
    messages: list[Any] = body.get("messages", [])
    for message in messages:
        content: Any = message.get("content")  # a string, or a list of content blocks
        if message.get("role") == "user" and isinstance(content, list):
            blocks = cast("list[Mapping[str, Any]]", content)
            count += sum(1 for block in blocks if block.get("type") == "tool_result")
    return count


class Messages:
    """Answers each request with the script's step, as JSON or (``"stream": true``) as SSE events."""

    def __init__(self, steps: Sequence[Step], *, response_model: str = RESPONSE_MODEL) -> None:
        self.steps = steps
        self.response_model = response_model
        self.streamed: list[bool] = []

    def __call__(self, request: WireRequest) -> WireReply:
        assert request.path == "/v1/messages", request.path
        body: Mapping[str, Any] = request.body or {}
        step = step_for(self.steps, tool_results_in(body))
        document = self.document(step)
        streamed = bool(body.get("stream"))
        self.streamed.append(streamed)
        if not streamed:
            return WireReply(
                200, json.dumps(document).encode(), headers={"request-id": f"req_{step.number}"}, priced=document
            )
        return WireReply(200, self.events(step), content_type="text/event-stream", priced=document, chunk_delay_s=0.002)

    def response_id(self, step: Step) -> str:
        return f"msg_loopback_{step.number}"

    def stop_reason(self, step: Step) -> str:
        return "tool_use" if step.calls_tools else "end_turn"

    def usage(self, step: Step, *, output_tokens: int | None = None) -> dict[str, Any]:
        u = step.usage
        return {
            "input_tokens": u.uncached_input,
            "cache_creation_input_tokens": u.cache_write,
            "cache_read_input_tokens": u.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": u.cache_write_5m,
                "ephemeral_1h_input_tokens": u.cache_write_1h,
            },
            "output_tokens": u.output_tokens if output_tokens is None else output_tokens,
            "service_tier": "standard",
        }

    def content(self, step: Step) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if step.text is not None:
            blocks.append({"type": "text", "text": step.text})
        blocks.extend({"type": "tool_use", "id": c.id, "name": c.name, "input": dict(c.args)} for c in step.tool_calls)
        return blocks

    def document(self, step: Step) -> dict[str, Any]:
        return {
            "id": self.response_id(step),
            "type": "message",
            "role": "assistant",
            "model": self.response_model,
            "content": self.content(step),
            "stop_reason": self.stop_reason(step),
            "stop_sequence": None,
            "usage": self.usage(step),
        }

    def events(self, step: Step) -> list[bytes]:
        start: dict[str, Any] = {
            **self.document(step),
            "content": [],
            "stop_reason": None,
            "usage": self.usage(step, output_tokens=1),
        }
        events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
        events.append(("ping", {"type": "ping"}))
        for index, block in enumerate(self.content(step)):
            if block["type"] == "text":
                opened: dict[str, Any] = {"type": "text", "text": ""}
                text: str = block["text"]
                half = len(text) // 2
                deltas = [{"type": "text_delta", "text": part} for part in (text[:half], text[half:])]
            else:
                opened = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                arguments = json.dumps(block["input"])
                half = len(arguments) // 2
                deltas = [
                    {"type": "input_json_delta", "partial_json": part}
                    for part in ("", arguments[:half], arguments[half:])
                ]
            events.append(
                ("content_block_start", {"type": "content_block_start", "index": index, "content_block": opened})
            )
            events.extend(
                ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                for delta in deltas
            )
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        final = self.usage(step)
        del final["cache_creation"], final["service_tier"]  # MessageDeltaUsage: cumulative counts, no TTL breakdown
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self.stop_reason(step), "stop_sequence": None},
                    "usage": final,
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
        return sse(events)


def error_body(status: int) -> Mapping[str, Any]:
    """Anthropic's error document for an HTTP error status."""
    kind = {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}.get(status, "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": f"loopback HTTP {status}"}}
