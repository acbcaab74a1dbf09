"""OpenAI's Responses wire format (``POST /v1/responses``), as one ``response`` object or, when the request says
``"stream": true``, as the typed server-sent events the API streams (``response.created`` ... ``response.completed``).

A Responses reply has no finish reason: the response's ``status`` (``completed``) is the provider's own word, for
the turns that call functions as for the answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tests.providers.script import Step, ToolCall, step_for
from tests.providers.wire import WireReply, WireRequest, sse

MODEL = "gpt-4o-mini"
CREATED_AT = 1_765_000_000


class Responses:
    """Answers each request with the script's step, counting ``function_call_output`` input items to know which."""

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        model: str = MODEL,
        service_tier: str | None = None,
        chunk_delay_s: float = 0.0,
    ) -> None:
        self.steps = steps
        self.model = model
        self.service_tier = service_tier
        self.chunk_delay_s = chunk_delay_s

    def __call__(self, request: WireRequest) -> WireReply:
        body: Mapping[str, Any] = request.body or {}
        assert request.path == "/v1/responses", request.path
        items: list[Mapping[str, Any]] = body.get("input", [])
        tool_results = sum(1 for item in items if item.get("type") == "function_call_output")
        step = step_for(self.steps, tool_results)
        if not body.get("stream"):
            return WireReply.json(self.document(step))
        return WireReply(
            200,
            sse(self.events(step)),
            content_type="text/event-stream",
            priced=self.document(step),
            chunk_delay_s=self.chunk_delay_s,
        )

    def response_id(self, step: Step) -> str:
        return f"resp_loopback_{step.number}"

    def finish_reason(self, step: Step) -> str:
        return "completed"

    def usage(self, step: Step) -> dict[str, Any]:
        u = step.usage
        return {
            "input_tokens": u.input_tokens,
            "input_tokens_details": {"cached_tokens": u.cache_read, "cache_write_tokens": u.cache_write},
            "output_tokens": u.output_tokens,
            "output_tokens_details": {"reasoning_tokens": u.reasoning},
            "total_tokens": u.input_tokens + u.output_tokens,
        }

    def document(self, step: Step, *, status: str = "completed") -> dict[str, Any]:
        done = status == "completed"
        return {
            "id": self.response_id(step),
            "object": "response",
            "created_at": CREATED_AT,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "model": self.model,
            "output": self._output(step) if done else [],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "service_tier": self.service_tier or "default",
            "store": True,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": self.usage(step) if done else None,
            "user": None,
            "metadata": {},
        }

    def events(self, step: Step) -> list[tuple[str | None, dict[str, Any]]]:
        """The step as the API streams it: created, in progress, each function call's item with its arguments in
        two deltas (or the message's text in deltas), then ``response.completed`` with the whole response."""
        body: list[dict[str, Any]] = [
            {"type": "response.created", "response": self.document(step, status="in_progress")},
            {"type": "response.in_progress", "response": self.document(step, status="in_progress")},
        ]
        for index, item in enumerate(self._output(step)):
            if item["type"] == "function_call":
                body.extend(_function_call_events(index, item))
            else:
                body.extend(_message_events(index, item))
        body.append({"type": "response.completed", "response": self.document(step)})
        return [(event["type"], {**event, "sequence_number": n}) for n, event in enumerate(body)]

    def _output(self, step: Step) -> list[dict[str, Any]]:
        if step.tool_calls:
            return [_function_call(step, n, call) for n, call in enumerate(step.tool_calls)]
        text: dict[str, Any] = {"type": "output_text", "text": step.text or "", "annotations": [], "logprobs": []}
        return [
            {
                "type": "message",
                "id": f"msg_loopback_{step.number}",
                "status": "completed",
                "role": "assistant",
                "content": [text],
            }
        ]


def _function_call(step: Step, n: int, call: ToolCall) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_loopback_{step.number}_{n}",
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments_json,
        "status": "completed",
    }


def _function_call_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    arguments: str = item["arguments"]
    half = len(arguments) // 2
    where = {"item_id": item["id"], "output_index": index}
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "arguments": "", "status": "in_progress"},
        },
        *(
            {"type": "response.function_call_arguments.delta", **where, "delta": piece}
            for piece in (arguments[:half], arguments[half:])
        ),
        {"type": "response.function_call_arguments.done", **where, "arguments": arguments, "name": item["name"]},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _message_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    text: str = item["content"][0]["text"]
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    empty: dict[str, Any] = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    words = text.split(" ")
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **where, "part": empty},
        *(
            {"type": "response.output_text.delta", **where, "delta": w if i == 0 else f" {w}", "logprobs": []}
            for i, w in enumerate(words)
        ),
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": item["content"][0]},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]
