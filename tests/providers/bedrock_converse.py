"""AWS Bedrock's Converse wire format: ``POST /model/{modelId}/converse`` answers JSON, ``/converse-stream`` answers
the binary AWS event stream (``application/vnd.amazon.eventstream``).

Like Anthropic, Converse reports ``inputTokens`` without the cached part: ``cacheReadInputTokens`` and
``cacheWriteInputTokens`` are the rest, and ``cacheDetails`` breaks the writes down by TTL. A stream carries the
usage in its last event, ``metadata``, after ``messageStop`` with the ``stopReason``."""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import unquote

from tests.providers.script import Step, step_for
from tests.providers.wire import WireReply, WireRequest

# A cross-region inference profile of Claude Sonnet 4.5, as most Bedrock users call it; genai-prices' "aws" provider
# prices it at the regional rates.
MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
EVENT_STREAM = "application/vnd.amazon.eventstream"


def event_frame(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """One message of the AWS event stream, as botocore/eventstream.py reads it: a prelude (total length, headers
    length, CRC32 of those eight bytes), string headers (type 7), the JSON payload, and a CRC32 of all before it."""
    headers = b"".join(
        struct.pack("!B", len(name)) + name + struct.pack("!BH", 7, len(value)) + value
        for name, value in (
            (b":event-type", event_type.encode()),
            (b":content-type", b"application/json"),
            (b":message-type", b"event"),
        )
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack("!II", total, len(headers))
    head = prelude + struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF) + headers + body
    return head + struct.pack("!I", binascii.crc32(head) & 0xFFFFFFFF)


def tool_results_in(body: Mapping[str, Any]) -> int:
    """``toolResult`` blocks in the request's user messages: one per tool call answered so far."""
    messages = cast("list[Mapping[str, Any]]", body.get("messages", []))
    blocks = [cast("Mapping[str, Any]", b) for m in messages if m.get("role") == "user" for b in m.get("content", [])]
    return sum(1 for block in blocks if "toolResult" in block)


class Converse:
    """Answers each request with the script's step, as JSON (``/converse``) or an event stream
    (``/converse-stream``); every reply carries the ``x-amzn-requestid`` header botocore passes on."""

    def __init__(self, steps: Sequence[Step], *, model: str = MODEL) -> None:
        self.steps = steps
        self.model = model
        self.streamed: list[bool] = []

    def __call__(self, request: WireRequest) -> WireReply:
        _, route, model_id, action = request.path.split("/")
        assert (route, unquote(model_id)) == ("model", self.model), request.path
        assert action in ("converse", "converse-stream"), request.path
        step = step_for(self.steps, tool_results_in(request.body or {}))
        document = self.document(step)
        streamed = action == "converse-stream"
        self.streamed.append(streamed)
        headers = {"x-amzn-requestid": self.request_id(step)}
        priced = {**document, "model": self.model}  # Converse names no model; genai-prices reads it from the body
        if not streamed:
            return WireReply(200, json.dumps(document).encode(), headers=headers, priced=priced)
        return WireReply(200, self.events(step), EVENT_STREAM, headers, priced=priced, chunk_delay_s=0.002)

    def request_id(self, step: Step) -> str:
        return f"loopback-request-{step.number}"

    def stop_reason(self, step: Step) -> str:
        return "tool_use" if step.calls_tools else "end_turn"

    def usage(self, step: Step) -> dict[str, Any]:
        u = step.usage
        usage: dict[str, Any] = {
            "inputTokens": u.uncached_input,
            "outputTokens": u.output_tokens,
            "totalTokens": u.input_tokens + u.output_tokens,
            "cacheReadInputTokens": u.cache_read,
            "cacheWriteInputTokens": u.cache_write,
        }
        details = [
            {"ttl": ttl, "inputTokens": n} for ttl, n in (("5m", u.cache_write_5m), ("1h", u.cache_write_1h)) if n
        ]
        if details:
            usage["cacheDetails"] = details
        return usage

    def content(self, step: Step) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if step.text is not None:
            blocks.append({"text": step.text})
        blocks.extend({"toolUse": {"toolUseId": c.id, "name": c.name, "input": dict(c.args)}} for c in step.tool_calls)
        return blocks

    def document(self, step: Step) -> dict[str, Any]:
        return {
            "output": {"message": {"role": "assistant", "content": self.content(step)}},
            "stopReason": self.stop_reason(step),
            "usage": self.usage(step),
            "metrics": {"latencyMs": 420},
        }

    def events(self, step: Step) -> list[bytes]:
        frames = [event_frame("messageStart", {"role": "assistant"})]
        for index, block in enumerate(self.content(step)):
            if "text" in block:
                text: str = block["text"]
                half = len(text) // 2
                deltas: list[dict[str, Any]] = [{"text": text[:half]}, {"text": text[half:]}]
            else:
                use = block["toolUse"]
                start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
                frames.append(event_frame("contentBlockStart", {"start": start, "contentBlockIndex": index}))
                arguments = json.dumps(use["input"])
                half = len(arguments) // 2
                deltas = [{"toolUse": {"input": part}} for part in (arguments[:half], arguments[half:])]
            frames.extend(
                event_frame("contentBlockDelta", {"delta": delta, "contentBlockIndex": index}) for delta in deltas
            )
            frames.append(event_frame("contentBlockStop", {"contentBlockIndex": index}))
        frames.append(event_frame("messageStop", {"stopReason": self.stop_reason(step)}))
        frames.append(event_frame("metadata", {"usage": self.usage(step), "metrics": {"latencyMs": 420}}))
        return frames


def error_body(status: int) -> Mapping[str, Any]:
    """Bedrock's error document for an HTTP error status; botocore takes the error code from ``__type``."""
    kind = {429: "ThrottlingException", 500: "InternalServerException", 503: "ServiceUnavailableException"}
    return {"__type": kind.get(status, "ValidationException"), "message": f"loopback HTTP {status}"}
