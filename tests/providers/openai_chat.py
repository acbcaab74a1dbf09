"""OpenAI's Chat Completions wire format (``POST /v1/chat/completions``), as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.providers.script import Step, step_for
from tests.providers.wire import WireReply, WireRequest

MODEL = "gpt-4o-mini"


class ChatCompletions:
    """Answers each request with the script's step, counting ``role: tool`` messages to know which."""

    def __init__(self, steps: Sequence[Step], *, model: str = MODEL, service_tier: str | None = None) -> None:
        self.steps = steps
        self.model = model
        self.service_tier = service_tier

    def __call__(self, request: WireRequest) -> WireReply:
        body = request.body or {}
        tool_results = sum(1 for m in body.get("messages", []) if m.get("role") == "tool")
        step = step_for(self.steps, tool_results)
        return WireReply.json(self.document(step))

    def response_id(self, step: Step) -> str:
        return f"chatcmpl-loopback-{step.number}"

    def finish_reason(self, step: Step) -> str:
        return "tool_calls" if step.calls_tools else "stop"

    def document(self, step: Step) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": step.text}
        if step.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
                for c in step.tool_calls
            ]
        u = step.usage
        usage: dict[str, Any] = {
            "prompt_tokens": u.input_tokens,
            "completion_tokens": u.output_tokens,
            "total_tokens": u.input_tokens + u.output_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": u.reasoning, "audio_tokens": 0},
        }
        document: dict[str, Any] = {
            "id": self.response_id(step),
            "object": "chat.completion",
            "created": 1_765_000_000,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason(step), "logprobs": None}],
            "usage": usage,
        }
        if self.service_tier is not None:
            document["service_tier"] = self.service_tier
        return document
